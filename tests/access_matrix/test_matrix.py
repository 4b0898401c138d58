"""Access control, proven: every URL pattern x every role x every finding state.

See checks.py for what one case asserts, policy.py for the expected answers, routes.py for the
table every URL pattern must be in.
"""

from __future__ import annotations

import json
import re

import pytest

from .checks import ADMIN_WRITES, MARKER, Matrix, admin_case, admin_paths, route_cases
from .policy import (
    D1_INVITEE,
    D1_WEBHOOK,
    LAB_TOKEN,
    PEER_ORG,
    ROLES,
    STAGE_ORG,
    entitled,
    entitled_global,
    marker,
)
from .probe import read
from .routes import EXCLUDED, ROUTES
from .urlworld import fills, url_patterns
from .world import PRESENT

# The database is set up only for tests that ask for it; each test runs in a savepoint of the
# module's transaction (conftest.matrix).
pytestmark = pytest.mark.django_db
PATTERNS = {p.name: p for p in url_patterns()}


def test_every_url_pattern_is_in_the_matrix():
    """Every URL pattern (the admin's aside) is in routes.py, whose target fills exactly its
    kwargs: the matrix and the bad-input walk (tests/hardening) reach every pattern."""
    missing = sorted(name for name in PATTERNS if name not in ROUTES and name not in EXCLUDED)
    stale = sorted(name for name in [*ROUTES, *EXCLUDED] if name not in PATTERNS)
    unfilled = sorted(
        f"{name} ({PATTERNS[name].route}): {route.target}"
        for name, route in ROUTES.items()
        if name in PATTERNS and not fills(route.target, PATTERNS[name])
    )
    assert not missing, f"add these URL patterns to tests/access_matrix/routes.py: {missing}"
    assert not stale, f"these routes.py entries match no URL pattern: {stale}"
    assert not unfilled, f"these routes.py targets do not fill the pattern's kwargs: {unfilled}"


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_route(matrix: Matrix, name: str):
    problems = route_cases(matrix, name, sorted(PATTERNS[name].kwarg_names), ROUTES[name])
    assert not problems, "\n".join(problems)


# The admin decides by is_staff alone, which no role has; memberships (what tells the other
# roles apart) mean nothing to it. The anonymous, the lab and a coordinator stand for them all.
ADMIN_ROLES = ("anonymous", "lab", "coordinator")


def test_the_admin_site_shows_nothing_to_any_role(matrix: Matrix):
    """No role is staff: every admin page, read or written, sends it to the admin's login."""
    problems = []
    for name, path in admin_paths():
        methods = ["GET", "POST"] if name.endswith(ADMIN_WRITES) else ["GET"]
        for role in ADMIN_ROLES:
            for method in methods:
                problems += admin_case(matrix, name, path, role, method)
    assert not problems, "\n".join(problems)


# Where a reader finds what it may read of a finding: its page, its timeline and the API.
SHOWCASE = (
    "/findings/{ref}/",
    "/findings/{ref}/timeline/",
    "/api/findings/{ref}/",
    "/api/findings/{ref}/events/",
)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_those_entitled_read_every_marker_they_may(matrix: Matrix, role: str):
    """The other side of the leak checks: what the policy lets a role read, it can read, so
    that a marker nobody sees (a test that cannot fail) is caught."""
    missing = []
    for state, ref in matrix.references.items():
        seen: set[str] = set()
        for url in SHOWCASE:
            api = url.startswith("/api/")
            answer = read(matrix.clients[role][api], url.format(ref=ref), api=api)
            seen |= set(MARKER.findall(answer.text))
        for kind in PRESENT[state]:
            if entitled(role, state, kind) and marker(state, kind) not in seen:
                missing.append(f"{state} {kind}")
    assert not missing, f"{role} cannot read: {missing}"


def test_those_entitled_read_the_markers_that_are_not_about_one_finding(matrix: Matrix):
    embargoed = matrix.references["embargoed"]
    where = {
        PEER_ORG: f"/findings/{embargoed}/",
        STAGE_ORG: f"/findings/{embargoed}/",
        D1_WEBHOOK: "/organizations/defender-one/webhooks/",
        D1_INVITEE: "/organizations/defender-one/",
        LAB_TOKEN: "/account/tokens/",
    }
    missing = [
        (role, name)
        for role in ROLES
        for name in entitled_global(role)
        if name not in read(matrix.clients[role][0], where[name], api=False).text
        and not (name == D1_WEBHOOK and role == "coordinator")  # only in the audit trail
    ]
    assert not missing


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_the_inbox_count_counts_only_what_the_inbox_lists(matrix: Matrix, role: str):
    """The unread count in every page's header counts no notification of a finding the role
    no longer sees (an organization removed from the audience keeps its outbox rows)."""
    page, api = matrix.clients[role]
    shown = re.search(r'title="(\d+) unread"', read(page, "/", api=False).text)
    listed = json.loads(read(api, "/api/inbox/?unread=true", api=True).body)["results"]
    assert (int(shown.group(1)) if shown else 0) == len(listed)
