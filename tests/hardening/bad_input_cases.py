"""The bad-input walk's cases, how they are sent, and how an answer is judged.

A case is one spoiled request. Body cases spoil the whole body (malformed, not an object, too
deep, too large, not UTF-8, a content type nobody takes); field cases spoil one field of a good
body (a NUL, too long, the wrong type, a value out of range); query cases spoil a GET's query
string; kwarg cases put an integer too large for any column into the URL.

A case that ``refuse``s must get a 4xx that says what is wrong and write nothing; every other
case (values some endpoints may take, e.g. a long text where the field has no limit) must only
never get a 5xx.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from disclosure.models import AuditEvent
from tests.access_matrix.probe import READ_ACTIONS
from tests.factories.attachments import PDF

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
HUGE = 10**30
LONG = 100_000  # a string longer than any field's limit (where a field has none, only no 5xx)
NUL = "a\x00b"
# Audit entries a refused request may leave: reads, and the refusals themselves.
REFUSAL_ACTIONS = (*READ_ACTIONS, "mfa.failed", "auth.login_failed", "api_token.refused")
SNAPSHOT_APPS = ("accounts", "disclosure", "otp_totp", "otp_static", "django_otp_webauthn")


class Counter:
    cases = 0


@dataclass(frozen=True)
class Case:
    label: str
    body: bytes = b""
    content_type: str = JSON
    query: str = ""  # appended to the path, with its "?"
    refuse: bool = True


# --- Encoding bodies.


def encode(data: dict[str, Any], *, multipart: bool) -> tuple[bytes, str]:
    """A form body: urlencoded, or multipart with ``file`` fields as a small PDF."""
    if multipart:
        parts: dict[str, Any] = {}
        for key, value in data.items():
            if key == "file":  # a name, or (name, content)
                name, content = (value, PDF) if isinstance(value, str) else value
                value = SimpleUploadedFile(name, content, content_type="application/pdf")
            parts[key] = value
        return encode_multipart(BOUNDARY, parts), MULTIPART_CONTENT
    return urlencode(data, doseq=True).encode(), FORM


def json_case(label: str, data: Any, *, refuse: bool = True) -> Case:
    return Case(label, json.dumps(data).encode(), JSON, refuse=refuse)


# --- Body cases: the same for every write endpoint.


def body_cases(*, api: bool, multipart: bool) -> Iterator[Case]:
    limit = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    yield Case("malformed JSON", b'{"title": "unterminated')
    for label, text in (
        ("a JSON list", "[1, 2]"),
        ("a JSON string", '"text"'),
        ("a JSON number", "12"),
        ("JSON null", "null"),
        ("JSON true", "true"),
    ):
        yield Case(label, text.encode())
    yield Case("JSON arrays nested 10,000 deep", b"[" * 10_000 + b"]" * 10_000)
    yield Case("JSON objects nested 10,000 deep", b'{"a":' * 10_000 + b"1" + b"}" * 10_000)
    yield Case("JSON objects nested 40 deep", b'{"a":' * 40 + b"1" + b"}" * 40)
    yield Case("JSON that is not UTF-8", b'{"title": "\xff\xfe"}')
    yield Case("JSON NaN", b'{"title": NaN}')
    yield json_case("a NUL in a JSON field name", {"a\x00": 1})
    yield json_case("a NUL in a JSON value", {"zz": NUL})
    yield Case("JSON over the size limit", b'{"a": "' + b"x" * limit + b'"}')
    yield Case("a form over the size limit", b"a=" + b"x" * limit, FORM)
    yield Case("a form with a NUL", b"zz=a%00b", FORM)
    yield Case("a form field name with a NUL", b"a%00b=1", FORM)
    yield Case("a form that is not UTF-8", b"zz=%FF%FE", FORM)
    fields = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    yield Case("too many form fields", fields.encode(), FORM)
    yield Case("text/plain", b"hello", "text/plain")
    yield Case("application/xml", b"<a>1</a>", "application/xml")
    yield Case("an unknown content type", b"\x00\x01", "application/x-unknown")
    over = int(settings.ATTACHMENT_MAX_BYTES) + limit + 1
    yield Case("multipart over the size limit", b"x" * over, f"{MULTIPART_CONTENT}")
    if not api:
        yield json_case("JSON to a page", {"a": 1})


# --- Field cases: one field of a good body spoiled.


@dataclass
class FieldInfo:
    """What the walk knows of a field: its JSON type, limit, choices, format."""

    name: str
    kind: str  # string, integer, number, boolean, array, object
    max_length: int | None = None
    choice: bool = False
    when: bool = False  # a date or time
    zone: bool = False  # a time zone name
    item_kind: str = ""  # an array's items
    management: bool = False  # a Django formset's management field (TOTAL_FORMS ...)
    navigation: bool = False  # read only to send the user back (next=...)


def _looks_like_time(name: str, value: Any) -> bool:
    return name.endswith(("_at", "_on")) or (
        isinstance(value, str) and bool(re.fullmatch(r"\d{4}-\d\d-\d\d([T ].*)?", value))
    )


def value_cases(info: FieldInfo, *, api: bool) -> Iterator[tuple[str, Any, bool]]:
    """(label, value, must refuse) for one field."""
    kind = info.kind
    if info.navigation:
        yield "a NUL", NUL, True
        # Where to go next: never followed off the site, never a 500.
        for label, value in (
            ("a name, not a path", "home-page"),
            ("another site", "//evil.example/x"),
            ("a script URL", "javascript:alert(1)"),
        ):
            yield label, value, False
        return
    if info.management:
        # Django reads TOTAL_FORMS and INITIAL_FORMS (capped at the formset's absolute_max),
        # and ignores the others; a negative count is no forms.
        counted = info.name.endswith(("-TOTAL_FORMS", "-INITIAL_FORMS"))
        yield "a NUL", NUL, True
        yield "a word", "abc", counted
        yield "a huge number", str(HUGE), info.name.endswith("-TOTAL_FORMS")
        yield "minus a huge number", str(-HUGE), False
        return
    if kind == "string":
        yield "a NUL", NUL, True
        if info.max_length:
            yield f"{info.max_length + 1} characters", "x" * (info.max_length + 1), True
        if api:  # a page's fields get a long text all at once (field_cases)
            yield f"{LONG:,} characters", "x" * LONG, info.max_length is not None
        if info.choice:
            yield "an unknown choice", "no-such-choice", True
        if info.when:
            yield "February 30th", "2026-02-30T25:61", True
            yield "year 99999", "99999-01-01T00:00", True
            if api:
                yield "not a date", "next tuesday", True
        if info.zone:
            yield "an unknown time zone", "Mars/Olympus_Mons", True
            if api:
                yield "a path as a time zone", "../../../etc/passwd", True
        if api:
            yield "an object", {"a": 1}, True
            yield "a list", ["x"], True
            yield "a number", 12345, False
            yield "a huge number", HUGE, info.when or info.choice or info.zone
    elif kind in ("integer", "number"):
        yield "a word", "abc", True
        yield "a huge number", HUGE if api else str(HUGE), True
        yield "a NUL", NUL, True
        if api:
            yield "minus a huge number", -HUGE, True
        if api:
            yield "a fraction", 1.5, kind == "integer"
            yield "an object", {"a": 1}, True
    elif kind == "boolean":
        yield "a word", "maybe", True
        yield "an object", {"a": 1}, True
        yield "a NUL", NUL, True
    elif kind == "array":
        yield "an object", {"a": 1}, True
        yield "a NUL in an item", [NUL], True
        yield "a huge number in an item", [HUGE], info.item_kind == "string"
        yield "a nested list", [["x"]], info.item_kind == "string"
        yield "a list of 10,000 items", ["x"] * 10_000, False
    elif kind == "object":
        yield "a list", [1], True
        yield "a string", "text", True
        yield "a NUL inside", {"a": NUL}, True
    if api:
        yield "null", None, False


def field_cases(
    base: dict[str, Any], fields: list[FieldInfo], *, api: bool, multipart: bool
) -> Iterator[Case]:
    """Each field spoiled in turn; a page's NUL also as multipart, which config.bad_input
    leaves to the views. A page's renders are slow, so the long texts go to all its fields
    without a limit at once (any of them may be taken)."""
    for info in fields:
        for label, value, refuse in value_cases(info, api=api):
            data = {**base, info.name: value}
            name = f"{info.name}: {label}"
            if api and not multipart:
                yield json_case(name, data, refuse=refuse)
                continue
            if not isinstance(value, str | list):
                continue
            body, content_type = encode(data, multipart=multipart)
            yield Case(name, body, content_type, refuse=refuse)
            if not multipart and "\x00" in json.dumps(value, ensure_ascii=False):
                body, content_type = encode(data, multipart=True)
                # A field read only to send the user back may go unread by the action.
                yield Case(f"{name} (multipart)", body, content_type, refuse=not info.navigation)
    free = [f.name for f in fields if f.kind == "string" and not f.max_length and not f.choice]
    if api or not free:
        return
    room = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) // (len(free) + 1) - 1_000
    long = {**base, **dict.fromkeys(free, "x" * min(LONG, room))}
    body, content_type = encode(long, multipart=multipart)
    yield Case("a long text in every field without a limit", body, content_type, refuse=False)


def file_cases(base: dict[str, Any]) -> Iterator[Case]:
    """An upload's ``file`` spoiled: too large, empty, a name no file system has."""
    big = PDF + b" " * int(settings.ATTACHMENT_MAX_BYTES)
    for label, value, refuse in (
        ("a file over the limit", ("big.pdf", big), True),
        ("an empty file", ("empty.pdf", b""), True),
        ("a file name with a NUL", (NUL + ".pdf", PDF), False),
        ("a file name 10,000 long", ("x" * 10_000 + ".pdf", PDF), False),
        ("a file name that is a path", ("../../etc/passwd", PDF), False),
    ):
        body, content_type = encode({**base, "file": value}, multipart=True)
        yield Case(label, body, content_type, refuse=refuse)


# --- Query cases: GETs with spoiled parameters.


def get_case(label: str, *, query: str, refuse: bool = True) -> Case:
    return Case(label, b"", "", query, refuse)


# Parameters some page or list reads; a page gets them all spoiled at once (one render).
COMMON_PARAMS = ("page", "q", "state", "status", "assigned", "unread", "kind", "ordering", "next")


def query_cases(declared: dict[str, FieldInfo], *, api: bool) -> Iterator[Case]:
    yield get_case("a NUL in a parameter", query="?q=a%00b")
    yield get_case("a NUL in a parameter name", query="?a%00b=1")
    yield get_case("a raw NUL", query="?q=a\x00b")
    yield get_case("a parameter that is not UTF-8", query="?q=%FF%FE", refuse=False)
    junk = "&".join(f"{name}=no-such-{name}" for name in COMMON_PARAMS if name != "q")
    yield get_case("junk in every parameter", query=f"?{junk}&q={'x' * 10_000}", refuse=False)
    too_many = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    yield get_case("too many parameters", query=f"?{too_many}", refuse=False)
    if not api:
        return
    for value in ("abc", "-1", "0", str(HUGE), "1.5"):
        yield get_case(f"page={value}", query=f"?page={value}", refuse=False)
    for name, info in sorted(declared.items()):
        yield get_case(f"{name} 10,000 long", query=f"?{name}={'x' * 10_000}", refuse=False)
        wrong = info.choice or info.when or info.kind != "string"
        yield get_case(f"{name}=no-such-value", query=f"?{name}=no-such-value", refuse=wrong)
        yield get_case(f"{name} a huge number", query=f"?{name}={HUGE}", refuse=False)
        if info.when:
            yield get_case(f"{name} February 30th", query=f"?{name}=2026-02-30", refuse=True)


# --- Sending, and what a request wrote.


def _tables() -> list[tuple[str, str]]:
    models = [
        m
        for label in SNAPSHOT_APPS
        for m in apps.get_app_config(label).get_models()
        if m is not AuditEvent and not m._meta.proxy
    ]
    return [(m._meta.db_table, m._meta.pk.column) for m in models]


def snapshot() -> tuple[Any, ...]:
    """Each table's row count and highest id, in one query, and the last audit entry's id.

    Table and column names come from the models, quoted; nothing from outside is in the SQL.
    """
    q = connection.ops.quote_name
    parts = [
        f"(SELECT COUNT(*) FROM {q(t)}), (SELECT MAX({q(pk)}) FROM {q(t)})"  # noqa: S608
        for t, pk in _tables()
    ]
    audit = AuditEvent._meta
    parts.append(f"(SELECT MAX({q(audit.pk.column)}) FROM {q(audit.db_table)})")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        return tuple(cursor.fetchone())


def wrote(before: tuple[Any, ...], after: tuple[Any, ...]) -> list[str]:
    tables = _tables()
    changed = [tables[i // 2][0] for i in range(len(tables) * 2) if before[i] != after[i]]
    last = before[-1] or 0
    actions = AuditEvent.objects.filter(pk__gt=last).exclude(action__in=REFUSAL_ACTIONS)
    return sorted(set(changed)) + [f"audit {a}" for a in actions.values_list("action", flat=True)]


class _Undo(Exception):
    pass


@dataclass
class Answer:
    status: int = 0
    text: str = ""
    json: Any = None
    error: str = ""
    wrote: list[str] = field(default_factory=list)


def send(client: Client, method: str, path: str, case: Case) -> Answer:
    """Send the case, note what it wrote, and undo it all (the client's cookies included)."""
    Counter.cases += 1
    answer = Answer()
    cookies = client.cookies
    client.cookies = cookies.__class__(cookies)
    try:
        with transaction.atomic():
            before = snapshot()
            response = client.generic(
                method, path + case.query, case.body, content_type=case.content_type
            )
            answer.status = response.status_code
            answer.text = response.content.decode("utf-8", "replace")
            if "json" in response.get("Content-Type", ""):
                try:
                    answer.json = json.loads(answer.text)
                except ValueError:
                    answer.json = None
            answer.wrote = wrote(before, snapshot())
            raise _Undo
    except _Undo:
        pass
    except Exception as exc:  # the test client raises what the server answered with a 500
        answer.status, answer.error = 500, f"{type(exc).__name__}: {exc}"[:300]
    finally:
        client.cookies = cookies
    return answer


PAGE_EXPLAINS = re.compile(
    r'class="(errorlist|form-errors|message message--error)|<h1>(Bad request|Request too large|'
    r"Unsupported content type|Not found|Not allowed)"
)


def errors_in(html: str) -> list[str]:
    """The error messages a page shows (form errors, error messages, the error page's)."""
    found = re.findall(
        r'class="(?:errorlist[^"]*|form-errors|message message--error)"[^>]*>(.*?)</(?:ul|div|p)>'
        r"|<h1>(.*?)</h1>\s*<p>(.*?)</p>",
        html,
        flags=re.S,
    )
    return [re.sub(r"<[^>]+>|\s+", " ", " ".join(parts)).strip() for parts in found]


def judge(case: Case, answer: Answer, *, api: bool) -> str | None:
    """What is wrong with the answer to ``case``, or None."""
    if answer.error or answer.status >= 500:
        return f"{case.label}: {answer.status} {answer.error or answer.text[:200]}"
    if not case.refuse:
        return None
    if not 400 <= answer.status < 500:
        return f"{case.label}: {answer.status}, not refused" + (
            f" (wrote {answer.wrote})" if answer.wrote else ""
        )
    if answer.wrote:
        return f"{case.label}: refused with {answer.status} but wrote {answer.wrote}"
    if api:
        detail = answer.json.get("detail") if isinstance(answer.json, dict) else None
        if not detail and not (isinstance(answer.json, dict) and answer.json):
            return f"{case.label}: {answer.status} without a detail: {answer.text[:200]}"
    elif not PAGE_EXPLAINS.search(answer.text):
        return f"{case.label}: {answer.status} page that does not say what is wrong"
    return None
