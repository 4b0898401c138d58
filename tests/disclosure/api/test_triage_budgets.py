"""Query budgets of the triage and discussion endpoints: the same for 1 row and for 50.

The budgets count everything a request costs: the session and the user (2), the caller's
memberships, the lookups, the rows, and the audit rows a write or a read of embargoed content
adds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from disclosure.models import Comment, Finding, Thread
from tests.disclosure.api.conftest import finding_url
from tests.disclosure.triage_states import in_triage
from tests.factories import FindingFactory, MembershipFactory, UserFactory

ROWS = [1, 50]
State = Finding.State


@pytest.mark.parametrize("rows", ROWS)
def test_the_queue(world, api, django_assert_max_num_queries, rows):
    for i in range(rows):
        FindingFactory(
            developer=world.lab,
            created_by=world.lab_user,
            state=State.SUBMITTED,
            submitted_at=timezone.now() - timedelta(hours=i),
            assignee=world.coordinator,
        )
    client = api(world.coordinator)
    with django_assert_max_num_queries(5):
        response = client.get("/api/triage/queue/")
    assert len(response.json()["results"]) == rows


def _threads(world, finding, rows, *, comments=1):
    for i in range(rows):
        thread = Thread.objects.create(
            finding=finding, scope=Thread.Scope.LAB, subject=f"t{i}", created_by=world.coordinator
        )
        Comment.objects.bulk_create(
            Comment(thread=thread, author=world.coordinator, body="b", body_html="<p>b</p>")
            for _ in range(comments)
        )
    return finding


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("role", ["coordinator", "lab_user"])
def test_the_thread_list(world, api, django_assert_max_num_queries, rows, role):
    finding = _threads(world, world.submitted(), rows, comments=2)
    client = api(getattr(world, role))
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/findings/{finding.reference}/threads/")
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_the_thread_list_for_a_notified_defender(world, api, django_assert_max_num_queries, rows):
    finding = world.embargoed()
    for i in range(rows):
        Thread.objects.create(
            finding=finding,
            scope=Thread.Scope.DEFENDERS,
            subject=f"t{i}",
            created_by=world.coordinator,
        )
    client = api(world.defender_user)
    with django_assert_max_num_queries(7):
        response = client.get(f"/api/findings/{finding.reference}/threads/")
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_the_comment_list(world, api, django_assert_max_num_queries, rows):
    finding = _threads(world, world.submitted(), 1, comments=rows)
    thread = finding.threads.get()
    authors = UserFactory.create_batch(3)
    for author in authors:
        MembershipFactory(user=author, organization=world.center)
    Comment.objects.filter(thread=thread).update(author=authors[0])
    client = api(world.lab_user)
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/threads/{thread.pk}/comments/")
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_posting_a_comment(world, api, django_assert_max_num_queries, rows):
    finding = _threads(world, world.submitted(), 1, comments=rows)
    thread = finding.threads.get()
    client = api(world.lab_user)
    with django_assert_max_num_queries(10):
        response = client.post(f"/api/threads/{thread.pk}/comments/", {"body": "hi"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("rows", ROWS)
def test_an_action_with_many_lab_members(world, api, django_assert_max_num_queries, rows):
    """Requesting information writes one outbox row per lab member in one insert; most of the
    budget is the finding's detail in the response."""
    for _ in range(rows - 1):
        MembershipFactory(organization=world.lab)
    finding = in_triage(world)
    client = api(world.coordinator)
    with django_assert_max_num_queries(24):
        response = client.post(
            finding_url(finding.reference, "request-info"), {"message": "?"}, format="json"
        )
    assert response.status_code == 200
