"""Every endpoint's query count is the same for 1 row and for 50: no query per row.

The budgets count everything a request costs: the session and the user (2), the caller's
memberships, the rows, and the audit row a read of embargoed content writes. A finding's detail
also reads its content, a query per relation: sectors, evaluations, mitigations, credits, and
the current revision (and, for a notified defender, the revision it was told of).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from disclosure.models import Finding
from disclosure.services.audit import audit_record
from tests.disclosure.api.conftest import finding_url
from tests.factories import (
    FindingFactory,
    FindingRecipientFactory,
    MembershipFactory,
    OrganizationFactory,
)

ROWS = [1, 50]
State = Finding.State


def _embargoed(world, **fields):
    return FindingFactory(
        developer=world.lab,
        created_by=world.lab_user,
        state=State.EMBARGOED,
        submitted_at=timezone.now(),
        embargo_ends_at=timezone.now() + timedelta(days=7),
        **fields,
    )


def _with_audience(world, rows):
    """An embargoed finding notified to ``rows`` defender organizations, world.defender first."""
    finding = _embargoed(world)
    organizations = [world.defender, *OrganizationFactory.create_batch(rows - 1)]
    for organization in organizations:
        FindingRecipientFactory(
            finding=finding, organization=organization, added_by=world.coordinator
        )
    return finding


@pytest.mark.parametrize("rows", ROWS)
def test_findings_list_for_the_lab(world, api, django_assert_max_num_queries, rows):
    FindingFactory.create_batch(rows, developer=world.lab, created_by=world.lab_user)
    client = api(world.lab_user)
    with django_assert_max_num_queries(4):
        response = client.get("/api/findings/")
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_findings_list_for_a_notified_defender(world, api, django_assert_max_num_queries, rows):
    for _ in range(rows):
        FindingRecipientFactory(
            finding=_embargoed(world), organization=world.defender, added_by=world.coordinator
        )
    client = api(world.defender_user)
    with django_assert_max_num_queries(4):
        response = client.get("/api/findings/")
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_finding_detail_for_a_coordinator(world, api, django_assert_max_num_queries, rows):
    finding = _with_audience(world, rows)
    client = api(world.coordinator)
    with django_assert_max_num_queries(11):
        response = client.get(finding_url(finding.reference))
    assert len(response.json()["audience"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_finding_detail_for_a_notified_defender(world, api, django_assert_max_num_queries, rows):
    finding = _with_audience(world, rows)
    client = api(world.defender_user)
    # +2 on the organization's first read: "seen" (its UPDATE and finding.seen audit row).
    with django_assert_max_num_queries(16):
        response = client.get(finding_url(finding.reference))
    assert len(response.json()["audience"]) == 1


@pytest.mark.parametrize("rows", ROWS)
def test_acknowledge_for_a_notified_defender(world, api, django_assert_max_num_queries, rows):
    finding = _with_audience(world, rows)
    client = api(world.defender_user)
    # +2: the detail it answers with is the organization's first read ("seen").
    with django_assert_max_num_queries(22):
        response = client.post(finding_url(finding.reference, "acknowledge"))
    assert response.json()["actions"] == []


@pytest.mark.parametrize("rows", ROWS)
def test_finding_events(world, api, django_assert_max_num_queries, rows):
    finding = _embargoed(world)
    for _ in range(rows):
        audit_record(actor=world.coordinator, action="finding.read", finding=finding)
    client = api(world.lab_user)
    with django_assert_max_num_queries(6):
        response = client.get(finding_url(finding.reference, "events"))
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", ROWS)
def test_advisories_list_and_detail(world, api, django_assert_max_num_queries, rows):
    released = FindingFactory.create_batch(
        rows, state=State.RELEASED, released_at=timezone.now(), embargo_ends_at=timezone.now()
    )
    client = api(None)
    # The rows, their count, and a query each for sectors, evaluations, mitigations, credits
    # and updates (the public revision history).
    with django_assert_max_num_queries(7):
        response = client.get("/api/advisories/")
    assert response.json()["count"] == rows
    with django_assert_max_num_queries(6):
        client.get(f"/api/advisories/{released[0].reference}/")


@pytest.mark.parametrize("rows", ROWS)
def test_organizations_list(world, api, django_assert_max_num_queries, rows):
    OrganizationFactory.create_batch(rows)
    client = api(world.coordinator)
    # The token and its user, the user's memberships (coordinators see applicants too), the
    # count and the page.
    with django_assert_max_num_queries(5):
        response = client.get("/api/organizations/?kind=defender")
    assert response.json()["count"] == rows + 2


@pytest.mark.parametrize("rows", ROWS)
def test_me(world, api, django_assert_max_num_queries, rows):
    for organization in OrganizationFactory.create_batch(rows):
        MembershipFactory(user=world.lab_user, organization=organization)
    client = api(world.lab_user)
    with django_assert_max_num_queries(3):
        response = client.get("/api/me/")
    assert len(response.json()["organizations"]) == rows + 1
