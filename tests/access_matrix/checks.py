"""One case of the matrix: a request to a URL (pattern, variant) as a role, with one method, and
what its answer must be (expected outcome from policy.py, never from the code under test):

- who may not reach the object gets a 404 (the anonymous may be sent to log in), the very same
  answer as for an object that does not exist;
- who may reach it but may not do this gets a 403 (a refused write: see probe.REFUSALS), and a
  refused write changes nothing;
- no answer holds a marker or a finding reference its reader may not see, in its body or its
  headers, and every 200 holding embargoed content says ``Cache-Control: no-store``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from django.urls import URLResolver, get_resolver

from . import policy
from .probe import REFUSALS, Answer, Counter, normalized, read, write_refused
from .routes import Route
from .urlworld import path_of
from .variants import Variant, container_reached, reaches, variants, viewer
from .world import World

MARKER = re.compile(r"LEAK[A-Z]{2}[a-z]+|LEAK[A-Z]{6,}|leakdoneinvitee")
assert all(
    MARKER.fullmatch(m)
    for m in [policy.marker("embargoed", "details"), policy.PEER_ORG, policy.D1_INVITEE]
)
# Markers that are public: the released finding's advisory content.
PUBLIC = frozenset(policy.marker("released", k) for k in policy.SEE_FINDING_KINDS)
GLOBAL_TARGETS = frozenset({"none", "search", "taxonomy", "digest"})


@dataclass
class Matrix:
    world: World
    clients: dict[str, tuple[Client, Client]]
    references: dict[str, str] = field(default_factory=dict)  # state -> reference
    twins: dict[tuple[str, str, str], tuple[int, str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.references = {s: f.reference for s, f in self.world.findings.items()}
        self._forbidden: dict[tuple[str, bool], dict[str, str]] = {}

    def forbidden(self, role: str, *, finding_scoped: bool) -> dict[str, str]:
        """The markers and references ``role`` may not read. Organization names are public
        (the registry lists verified organizations); on a finding's pages, which of them are in
        its audience or release plan is need-to-know."""
        key = (role, finding_scoped)
        if key not in self._forbidden:
            out = policy.forbidden_markers(role)
            if not finding_scoped:
                out.pop(policy.PEER_ORG, None)
                out.pop(policy.STAGE_ORG, None)
            for state, reference in self.references.items():
                if not policy.sees_finding(role, state):
                    out[reference] = f"{state} reference"
            self._forbidden[key] = out
        return self._forbidden[key]


REFERENCE = re.compile(r"FW-\d{4}-\d{4,}")


def leaks(
    matrix: Matrix, answer: Answer, reader: str, *, echo: frozenset[str], finding_scoped: bool
) -> list[str]:
    """What of the answer ``reader`` may not read; ``echo``: what the URL itself holds."""
    text = f"{answer.text}\n{answer.headers}"
    markers = set(MARKER.findall(text))
    found_here = (markers | set(REFERENCE.findall(text))) - echo
    forbidden = matrix.forbidden(reader, finding_scoped=finding_scoped)
    found = sorted(forbidden[needle] for needle in found_here if needle in forbidden)
    embargoed = markers - PUBLIC
    if answer.status == 200 and embargoed and "no-store" not in answer.headers.lower():
        found.append(f"no Cache-Control: no-store with {sorted(embargoed)[:3]}")
    return found


def _send(matrix: Matrix, role: str, method: str, path: str, api: bool, body: Any) -> Any:
    client = matrix.clients[role][api]
    if method == "GET":
        return read(client, path, api=api), ""
    return write_refused(client, method, path, api=api, body=body)


# A write to these acts on the finding itself; reading them shows a part of it that only some
# of those who see the finding may read.
WRITE_OBJECT = {"plan": "finding", "recipients": "finding", "attachments": "finding"}
FINDING_TARGETS = frozenset(
    {"finding", "plan", "recipients", "attachments", "attachment", "revision", "thread"}
    | {"credit", "extension", "delivery", "inbox", "advisory", "csaf"}
)


def expected(
    target: str, route: Route, v: Variant, role: str, method: str, reach: bool, permitted: bool
) -> set[int] | None:
    """The answers the policy allows for this case (None: any answer below 500)."""
    anonymous = role == "anonymous"
    if not reach:
        if not container_reached(target, role, v):
            # Nothing of it is the role's to see: a 404 (the anonymous may be sent to log in;
            # the comparison with a nonexistent object is what matters for them).
            return None if anonymous or target in GLOBAL_TARGETS else {404}
        # Inside a finding or organization the role sees, a refusal may come before the object
        # is looked up; an object of another organization is not there (400: its form first).
        statuses = {403, 404} | ({302, 401} if anonymous else set())
        return statuses | ({400} if permitted and v.elsewhere else set())
    if not permitted:
        statuses = set(REFUSALS) if method != "GET" or anonymous else {403, 404}
        if target in GLOBAL_TARGETS and method == "GET":
            statuses |= {302, 401, 404}  # a page of its own for someone else (e.g. coordinators)
        return statuses
    statuses = {200, 302} | set(route.ok) | ({401, 403} if anonymous else set())
    if target in GLOBAL_TARGETS:
        statuses.add(404)  # nothing to show (no OpenPGP key, no set-up in progress)
    return statuses


def _like_nothing(
    matrix: Matrix, name: str, kwargs: list[str], route: Route, v: Variant, role: str, method: str
) -> tuple[str, tuple[int, str, str]] | None:
    """(path, answer) of the nonexistent twin this case's answer must equal, if any: in the
    same finding or organization if the role sees that, else anywhere. A part of a finding the
    role sees (its plan, its recipients) has no twin, and hides nothing the finding shows."""
    target = route.target if method == "GET" else WRITE_OBJECT.get(route.target, route.target)
    inside = container_reached(target, role, v)
    if v.fake or (inside and v.twin is None):
        return None
    twin = v.twin if inside else next(x for x in variants(route.target, matrix.world) if x.fake)
    values = twin.values if isinstance(twin, Variant) else twin
    path = path_of(name, kwargs, values or {}, v.query)
    key = (path, role, method)
    if key not in matrix.twins:  # the world never changes (every case is rolled back)
        answer, _ = _send(matrix, role, method, path, name.startswith("api:"), route.body)
        matrix.twins[key] = normalized(answer, path)
    return path, matrix.twins[key]


def _head(matrix: Matrix, name: str, path: str, role: str, got: Answer) -> list[str]:
    """HEAD answers as GET does, with no body, or is refused (405) for every object alike
    (views that ``require_GET``); its headers hold nothing either."""
    Counter.cases += 1
    api = name.startswith("api:")
    head = read(matrix.clients[role][api], path, api=api, method="HEAD")
    where = f"HEAD {path} as {role}: {head.status}"
    problems = [] if head.status in (got.status, 405) else [f"{where}, GET {got.status}"]
    if head.text:
        problems.append(f"{where}: a body")
    forbidden = matrix.forbidden(role, finding_scoped=True)
    problems += [
        f"{where}: leaks {what}"
        for needle, what in forbidden.items()
        if needle in head.headers and needle not in path
    ]
    return problems


def case(
    matrix: Matrix, name: str, kwargs: list[str], route: Route, v: Variant, role: str, method: str
) -> list[str]:
    """Run one case; the problems it shows (empty: as the policy says)."""
    target = route.target if method == "GET" else WRITE_OBJECT.get(route.target, route.target)
    reach = reaches(target, role, v)
    rule = route.get if method == "GET" else route.writes[method]
    assert rule is not None
    permitted = rule == "reach" or policy.allowed(rule, role, v.state, v.detail)
    if method != "GET" and reach and permitted:
        return []  # a permitted write is for the functional tests; the matrix checks refusals
    Counter.cases += 1
    path = path_of(name, kwargs, v.values, v.query)
    answer, changed = _send(matrix, role, method, path, name.startswith("api:"), route.body)
    where = f"{method} {path} as {role} ({v.label}): {answer.status}"
    if answer.status >= 500:
        return [f"{where}, a server error"]
    problems = [f"{where}: the refused write changed {changed}"] if changed else []
    statuses = expected(target, route, v, role, method, reach, permitted)
    if statuses is not None and answer.status not in statuses:
        problems.append(f"{where}, expected one of {sorted(statuses)}")
    twin = None if reach else _like_nothing(matrix, name, kwargs, route, v, role, method)
    if twin is not None and normalized(answer, path) != twin[1]:
        problems.append(f"{where}: not the answer for nothing there ({twin[0]})")
    if method == "GET" and not reach:
        problems += _head(matrix, name, path, role, answer)
    if v.detail == "search" and answer.status == 200:
        found = matrix.references[v.state] in answer.text
        if found != policy.sees_finding(role, v.state):
            problems.append(f"{where}: the search {'found' if found else 'missed'} it")
    echo = frozenset({v.values.get("reference", ""), *v.query.values()})
    if route.target == "invitation_token":
        echo |= {policy.D1_INVITEE}  # the link's holder is the one invited
    reader = viewer(route.target, role, v)
    scoped = route.target in FINDING_TARGETS
    found = leaks(matrix, answer, reader, echo=echo, finding_scoped=scoped)
    return problems + [f"{where}: leaks {what}" for what in found]


def route_cases(matrix: Matrix, name: str, kwargs: list[str], route: Route) -> list[str]:
    problems: list[str] = []
    methods = (["GET"] if route.get else []) + list(route.writes)
    for v in variants(route.target, matrix.world):
        for role in policy.ROLES:
            for method in methods:
                problems += case(matrix, name, kwargs, route, v, role, method)
    return problems


# --- The admin site: none of the roles is staff, so every page sends them to its login.

ADMIN_VALUES = {"object_id": "1", "app_label": "disclosure", "content_type_id": "1", "id": "1"}
ADMIN_WRITES = ("_add", "_change", "_delete", "password_change", "logout")


def _concrete(route: str) -> str:
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ADMIN_VALUES.get(m.group(1), "1"), route)
    route = re.sub(r"\(\?P<app_label>[^)]*\)", "disclosure", route)
    return route.replace("(?P<url>.*)", "no-such-page/").replace("^", "").replace("$", "")


def admin_paths() -> Iterator[tuple[str, str]]:
    """(name, a concrete path) of every admin URL pattern, named or not."""

    def walk(resolver: URLResolver, prefix: str) -> Iterator[tuple[str, str]]:
        for p in resolver.url_patterns:
            route = prefix + _concrete(str(p.pattern))
            if isinstance(p, URLResolver):
                yield from walk(p, route)
            else:
                yield f"admin:{p.name or route}", route

    admin = next(
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and p.namespace == "admin"
    )
    yield from walk(admin, "/admin/")


def admin_case(matrix: Matrix, name: str, path: str, role: str, method: str) -> list[str]:
    Counter.cases += 1
    answer, changed = _send(matrix, role, method, path, False, None)
    where = f"{method} {path} as {role}: {answer.status} {answer.location}"
    problems = [f"{where}: changed {changed}"] if changed else []
    to_login = answer.status == 302 and (
        answer.location.startswith("/admin/login/")
        or (name == "admin:logout" and answer.location == "/admin/")
    )
    login_page = name == "admin:login" and answer.status == 200
    if not (to_login or login_page or answer.status in (404, 405)):
        problems.append(f"{where}, expected the admin's login (or a 404)")
    scoped = "disclosure" in path
    found = leaks(matrix, answer, role, echo=frozenset(), finding_scoped=scoped)
    return problems + [f"{where}: leaks {what}" for what in found]
