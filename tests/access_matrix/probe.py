"""Sending the matrix's requests and reading their answers: a client per role, the text of a
response (HTML, JSON, Atom, CSV, iCalendar, file downloads, headers), the comparison with the
answer for an object that does not exist, and the state of the database before and after a
refused write.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.db import connection, transaction
from django.db.models import Count, Max, Model
from django.http import HttpResponse
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, Invitation, Membership, OpenPGPKey, Organization, User
from disclosure import models as d
from tests.mfa import login_not_audited, session_mfa_verified

from .world import World

# Reads are audited too; a refused request may leave one (the refusal shows the finding page).
READ_ACTIONS = ("finding.read", "finding.seen", "attachment.downloaded")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# Answers that refuse a write: a redirect (to log in, or back with a message), 401, 403, 404
# (the object's part is not the role's to see), 405, 409 (not in this state). Never a 400: a
# refusal comes before the input is read.
REFUSALS = frozenset({302, 401, 403, 404, 405, 409})


class Counter:
    """How many (pattern, role, state, method) cases ran, for the terminal summary."""

    cases = 0


def clients_for(world: World) -> dict[str, tuple[Client, Client]]:
    """(page client, API client) per role: a session that passed MFA, and the role's API
    token. The anonymous role has neither."""
    clients = {"anonymous": (Client(), Client())}
    for role, user in world.users.items():
        page = Client()
        with login_not_audited():
            page.force_login(user)
        session_mfa_verified(page)
        clients[role] = (page, Client(HTTP_AUTHORIZATION=f"Bearer {world.tokens[role]}"))
    return clients


@dataclass
class Answer:
    status: int
    text: str  # the body, decoded, iCalendar lines unfolded, JSON's \u-escapes too
    headers: str
    location: str
    body: str  # the body as sent


def answer_of(response: HttpResponse) -> Answer:
    if getattr(response, "streaming", False):
        # Read to the end: the test client closes the response then (closing it again here
        # would send request_finished, which closes the database connection mid-transaction).
        raw = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    else:
        raw = response.content
    text = body = raw.decode("utf-8", errors="replace")
    if "calendar" in response.get("Content-Type", ""):
        text = text.replace("\r\n ", "").replace("\r\n\t", "")
    if "json" in response.get("Content-Type", "") and text:
        with contextlib.suppress(ValueError):  # \u-escapes decoded
            text += "\n" + json.dumps(json.loads(text), ensure_ascii=False)
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    return Answer(response.status_code, text, headers, response.get("Location", ""), body)


def send(client: Client, method: str, path: str, *, api: bool, body: Any = None) -> Answer:
    if method in ("GET", "HEAD"):
        return answer_of(client.generic(method, path))
    if api:
        data = json.dumps(body if body is not None else {})
        return answer_of(client.generic(method, path, data, content_type="application/json"))
    return answer_of(client.post(path, body or {}))


def read(client: Client, path: str, *, api: bool, method: str = "GET") -> Answer:
    """A GET (or HEAD) whose side effects (reads audited, items marked read) are rolled back,
    so that every case meets the same world and the answers for nonexistent objects can be
    reused."""
    with transaction.atomic():
        answer = send(client, method, path, api=api)
        transaction.set_rollback(True)
    return answer


# --- The same answer as for nothing at all.

_VOLATILE = [
    (re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"'), 'name="csrfmiddlewaretoken"'),
    (re.compile(r'nonce="[^"]*"'), 'nonce=""'),
    (re.compile(r'content="[A-Za-z0-9]{64}"'), 'content=""'),  # the CSRF token's meta tag
    # Times of now (the read just audited, on the lab's audit trail).
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z| UTC)?"), "{TIME}"),
]


def normalized(answer: Answer, path: str) -> tuple[int, str, str]:
    """The answer with the request's own path and per-request tokens taken out."""
    text, location = answer.text, answer.location
    for form in (quote(path, safe=""), quote(path), path):
        text, location = text.replace(form, "{PATH}"), location.replace(form, "{PATH}")
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return answer.status, text, location


# --- The database, before and after a write that must be refused.

_MUTABLE: list[tuple[type[Model], tuple[str, ...]]] = [
    (d.Finding, ("state", "updated_at", "assignee_id", "embargo_ends_at", "duplicate_of_id")),
    (d.FindingRecipient, ("readiness", "readiness_statement", "acknowledged_at")),
    (d.Embargo, ("state", "ends_at", "updated_at")),
    (d.ExtensionRequest, ("state", "decided_at")),
    (d.ReleaseStage, ("updated_at", "fired_at")),
    (d.Credit, ("status",)),
    (d.Attachment, ("name",)),
    (d.Thread, ("subject",)),
    (d.WebhookEndpoint, ("secret", "disabled_at", "url", "description")),
    (d.CalendarFeed, ("revoked_at",)),
    (d.Subscription, ("min_risk_level",)),
    (d.Taxonomy, ("slug",)),
    (d.CapabilityCategory, ("code",)),
    (Invitation, ("revoked_at", "accepted_at", "expires_at")),
    (Membership, ("role", "contact_role")),
    (Organization, ("status", "name")),
    (ApiToken, ("revoked_at",)),
    (User, ("is_active", "full_name", "email")),
    (TOTPDevice, ("confirmed",)),
    (OpenPGPKey, ("fingerprint",)),
]


def _fingerprint_queries() -> list[tuple[str, Any]]:
    """The fingerprint's queries as SQL, compiled once (the ORM's compiling costs more than
    running them)."""
    querysets = [
        model.objects.order_by("pk").values_list("pk", *fields)  # type: ignore[attr-defined]
        for model, fields in _MUTABLE
    ]
    querysets += [
        d.AuditEvent.objects.exclude(action__in=READ_ACTIONS).values_list(Count("pk")),
        d.Comment.objects.values_list(Count("pk")),
        d.EmbargoEvent.objects.values_list(Count("pk")),
        d.FindingRevision.objects.values_list(Count("pk")),
        d.Delivery.objects.values_list(Count("pk"), Max("pk"), Count("read_at")),
    ]
    return [qs.query.sql_with_params() for qs in querysets]


_QUERIES: list[tuple[str, Any]] = []


def fingerprint() -> tuple[Any, ...]:
    """What a write would change: the mutable columns of every row that a view may write, and
    the number of audit events that are not reads (every change records one)."""
    if not _QUERIES:
        _QUERIES.extend(_fingerprint_queries())
    with connection.cursor() as cursor:
        rows = []
        for sql, params in _QUERIES:
            cursor.execute(sql, params)
            rows.append(tuple(cursor.fetchall()))
    return tuple(rows)


def write_refused(
    client: Client, method: str, path: str, *, api: bool, body: Any
) -> tuple[Answer, str]:
    """Send a write that must be refused; the answer, and what it changed ("": nothing). It
    is rolled back whatever happens, so a wrongly accepted write cannot spoil the cases after
    it."""
    if not _BASELINE:  # the world is the same before every case (each is rolled back)
        _BASELINE.append(fingerprint())
    before = _BASELINE[0]
    cookies = client.cookies
    client.cookies = cookies.__class__(cookies)  # a refused logout must not log the role out
    try:
        with transaction.atomic():
            answer = send(client, method, path, api=api, body=body)
            after = fingerprint()
            transaction.set_rollback(True)
    finally:
        client.cookies = cookies
    if before == after:
        return answer, ""
    pairs = zip(_MUTABLE, before[: len(_MUTABLE)], after[: len(_MUTABLE)], strict=True)
    names = [model.__name__ for (model, _), b, a in pairs if b != a]
    return answer, ", ".join(names) or "audit events, comments, embargo events or deliveries"


_BASELINE: list[tuple[Any, ...]] = []


def baseline_forget() -> None:
    """A new world (the module's fixture) needs a new baseline."""
    _BASELINE.clear()
