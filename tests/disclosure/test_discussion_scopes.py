"""Thread scopes, as a matrix: for each scope and each role, who reads, who posts, who opens.

The roles: the finding's lab, another lab, a coordinator, notified defender organizations A and
B, a defender organization that was not notified, and anonymous. Thread text must never reach
anyone outside a thread's scope, through the policies, the selector, the API or any page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from disclosure import policies, selectors
from disclosure.models import Finding, Thread
from disclosure.services.discussion import thread_open
from disclosure.services.release import finding_release
from disclosure.services.triage import finding_accept
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

Scope = Thread.Scope
ROLES = ("lab", "other_lab", "coordinator", "defender_a", "defender_b", "not_notified", "anonymous")
READERS = {
    "coordinators": {"coordinator"},
    "lab": {"coordinator", "lab"},
    "defenders": {"coordinator", "defender_a", "defender_b"},
    "org_a": {"coordinator", "defender_a"},
    "org_b": {"coordinator", "defender_b"},
}
# Who may open a thread in each scope; the others who see the finding get a 403.
OPENERS = {
    "coordinators": {"coordinator"},
    "lab": {"coordinator", "lab"},
    "defenders": {"coordinator"},
    "org_a": {"coordinator", "defender_a"},
    "org_b": {"coordinator", "defender_b"},
}
SEES_THE_FINDING = {"lab", "coordinator", "defender_a", "defender_b"}


def _marker(key: str) -> str:
    return f"THREAD-{key.upper()}-TEXT"


@dataclass
class Board:
    finding: Finding
    threads: dict[str, Thread]
    users: dict[str, object]

    def user(self, role: str):
        return self.users[role]

    def client(self, role: str) -> APIClient:
        client = APIClient()
        if self.users[role] is not None:
            client.force_login(self.users[role])
        return client


@pytest.fixture
def board(world) -> Board:
    finding = finding_accept(
        actor=world.coordinator,
        finding=world.submitted(),
        organizations=[world.defender, world.other_defender],
        embargo_ends_at=timezone.now() + timedelta(days=5),
    )
    outsider_org = OrganizationFactory(name="Telecom CSIRT", slug="telecom-csirt")
    outsider = UserFactory(email="analyst@telecom.example")
    MembershipFactory(user=outsider, organization=outsider_org)
    scopes = {
        "coordinators": (Scope.COORDINATORS, None),
        "lab": (Scope.LAB, None),
        "defenders": (Scope.DEFENDERS, None),
        "org_a": (Scope.ORGANIZATION, world.defender),
        "org_b": (Scope.ORGANIZATION, world.other_defender),
    }
    threads = {
        key: thread_open(
            actor=world.coordinator,
            finding=finding,
            scope=scope,
            organization=organization,
            subject=f"Subject {_marker(key)}",
            body=f"Body {_marker(key)}",
        )
        for key, (scope, organization) in scopes.items()
    }
    users = {
        "lab": world.lab_user,
        "other_lab": world.other_lab_user,
        "coordinator": world.coordinator,
        "defender_a": world.defender_user,
        "defender_b": world.other_defender_user,
        "not_notified": outsider,
        "anonymous": None,
    }
    return Board(finding=finding, threads=threads, users=users)


MATRIX = [(key, role) for key in READERS for role in ROLES]


def _fresh(user):
    """A user object without the organization cache of an earlier request."""
    if user is None:
        return AnonymousUser()
    return type(user).objects.get(pk=user.pk)


@pytest.mark.parametrize(("key", "role"), MATRIX)
def test_the_read_policy(board, key, role):
    thread = board.threads[key]
    assert policies.can_read_thread(_fresh(board.user(role)), thread) is (role in READERS[key])


@pytest.mark.parametrize(("key", "role"), MATRIX)
def test_the_post_policy_follows_the_read_policy(board, key, role):
    thread = board.threads[key]
    assert policies.can_post_in_thread(_fresh(board.user(role)), thread) is (role in READERS[key])


@pytest.mark.parametrize("role", ROLES)
def test_the_selector_agrees_with_the_policy(board, role):
    user = _fresh(board.user(role))
    visible = set(selectors.threads_visible_to(user, board.finding))
    expected = {t for key, t in board.threads.items() if role in READERS[key]}
    assert visible == expected


@pytest.mark.parametrize(("key", "role"), MATRIX)
def test_reading_comments_through_the_api(board, key, role):
    thread = board.threads[key]
    response = board.client(role).get(f"/api/threads/{thread.pk}/comments/")
    if role in READERS[key]:
        assert response.status_code == 200
        assert _marker(key) in response.json()["results"][0]["body"]
    else:
        assert response.status_code == (401 if role == "anonymous" else 404)
        assert _marker(key) not in response.content.decode()


@pytest.mark.parametrize(("key", "role"), MATRIX)
def test_posting_through_the_api(board, key, role):
    thread = board.threads[key]
    response = board.client(role).post(
        f"/api/threads/{thread.pk}/comments/", {"body": "a reply"}, format="json"
    )
    if role in READERS[key]:
        assert response.status_code == 201
    else:
        assert response.status_code == (401 if role == "anonymous" else 404)
    assert thread.comments.count() == (2 if role in READERS[key] else 1)


@pytest.mark.parametrize(("key", "role"), MATRIX)
def test_opening_a_thread_through_the_api(board, world, key, role):
    scope, organization = {
        "coordinators": ("coordinators", None),
        "lab": ("lab", None),
        "defenders": ("defenders", None),
        "org_a": ("organization", world.defender.slug),
        "org_b": ("organization", world.other_defender.slug),
    }[key]
    body = {"scope": scope, "subject": "New", "body": "Hello"}
    if organization:
        body["organization"] = organization
    response = board.client(role).post(
        f"/api/findings/{board.finding.reference}/threads/", body, format="json"
    )
    if role in OPENERS[key]:
        assert response.status_code == 201, response.content
    elif role in SEES_THE_FINDING:
        assert response.status_code == 403
    else:
        assert response.status_code == 404  # the finding itself does not exist for them


@pytest.mark.parametrize("role", ROLES)
def test_the_thread_list_of_the_api_shows_only_readable_threads(board, role):
    response = board.client(role).get(f"/api/findings/{board.finding.reference}/threads/")
    if role not in SEES_THE_FINDING:
        assert response.status_code == 404
        return
    subjects = {row["subject"] for row in response.json()["results"]}
    assert subjects == {f"Subject {_marker(k)}" for k in READERS if role in READERS[k]}


@pytest.mark.parametrize("role", ROLES)
def test_the_finding_page_shows_only_readable_threads(board, client, role):
    if board.user(role) is not None:
        client.force_login(board.user(role))
    page = client.get(reverse("finding-detail", args=[board.finding.reference]))
    text = page.content.decode()
    assert page.status_code == (200 if role in SEES_THE_FINDING else 404)
    for key in READERS:
        assert (_marker(key) in text) is (role in READERS[key]), key


@pytest.mark.parametrize("role", ROLES)
def test_no_thread_text_leaks_through_other_pages_and_endpoints(board, client, role):
    user = board.user(role)
    api = board.client(role)
    if user is not None:
        client.force_login(user)
    ref = board.finding.reference
    bodies = [
        api.get("/api/findings/").content,
        api.get(f"/api/findings/{ref}/").content,
        api.get(f"/api/findings/{ref}/events/").content,
        client.get(reverse("home")).content,
        client.get(reverse("advisory-list")).content,
    ]
    if role == "coordinator":
        bodies.append(client.get(reverse("triage-queue")).content)
    text = b"".join(bodies).decode()
    for key in READERS:
        assert _marker(key) not in text


@pytest.mark.parametrize("role", ROLES)
def test_after_release_the_threads_keep_their_scope(board, client, role):
    Finding.objects.filter(pk=board.finding.pk).update(
        embargo_ends_at=timezone.now() - timedelta(seconds=1)
    )
    assert finding_release(finding_id=board.finding.pk)
    ref = board.finding.reference
    api = board.client(role)
    if board.user(role) is not None:
        client.force_login(board.user(role))
    page = client.get(reverse("finding-detail", args=[ref]), follow=True)
    advisory = client.get(reverse("advisory-detail", args=[ref]))
    listed = api.get(f"/api/findings/{ref}/threads/")
    text = (page.content + advisory.content + listed.content).decode()
    for key in READERS:
        assert (_marker(key) in text) is (role in READERS[key]), key
