"""Query budgets of the finding-content endpoints: the same for 1 row and for 50."""

import datetime as dt

import pytest

from disclosure.models import (
    CapabilityCategory,
    Credit,
    Evaluation,
    FindingRevision,
    Mitigation,
    Sector,
    Taxonomy,
)
from tests.disclosure.api.conftest import finding_url
from tests.factories import UserFactory

ROWS = [1, 50]


def _content(finding, rows, world):
    """``rows`` of every kind of content on the finding, credited to ``rows`` new users."""
    Evaluation.objects.bulk_create(
        Evaluation(
            finding=finding,
            position=i,
            name=f"Eval {i}",
            method="m",
            checkpoint="base",
            metric="x",
            result="y",
            evaluated_on=dt.date(2026, 1, 1),
        )
        for i in range(rows)
    )
    Mitigation.objects.bulk_create(
        Mitigation(finding=finding, position=i, description=f"M {i}", status="planned")
        for i in range(rows)
    )
    finding.affected_sectors.set(Sector.objects.all()[:rows])
    for user in UserFactory.create_batch(rows):
        Credit.objects.create(
            finding=finding, user=user, type="finder", status="accepted", created_by=world.lab_user
        )
    content = FindingRevision.objects.get(finding=finding, number=1).content
    FindingRevision.objects.bulk_create(
        FindingRevision(
            finding=finding, number=n, author=world.lab_user, content=content, changed_fields=[]
        )
        for n in range(2, rows + 2)
    )


@pytest.mark.parametrize("rows", ROWS)
def test_finding_detail_with_its_content(world, api, django_assert_max_num_queries, rows):
    finding = world.embargoed()
    _content(finding, rows, world)
    client = api(world.defender_user)
    # Session, user, memberships, finding, notified?, audit row, audience, acknowledge?,
    # sectors, evaluations, mitigations, current revision, notified revision, credits; and on
    # the organization's first read, "seen" (the conditional UPDATE, its finding.seen audit row).
    with django_assert_max_num_queries(16):
        response = client.get(finding_url(finding.reference))
    body = response.json()
    assert len(body["evaluations"]) == len(body["mitigations"]) == len(body["credits"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_advisory_with_its_content(world, api, django_assert_max_num_queries, rows):
    finding = world.released()
    _content(finding, rows, world)
    client = api(None)
    # The advisory, sectors, evaluations, mitigations, credits and its update history.
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/advisories/{finding.reference}/")
    assert len(response.json()["credits"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_taxonomies(world, api, django_assert_max_num_queries, rows):
    for i in range(rows):
        taxonomy = Taxonomy.objects.create(
            slug=f"t-{i}", framework="F", version=str(i), created_by=world.coordinator
        )
        CapabilityCategory.objects.bulk_create(
            CapabilityCategory(taxonomy=taxonomy, code=f"c-{j}", label="C") for j in range(3)
        )
    client = api(world.lab_user)
    with django_assert_max_num_queries(5):
        response = client.get("/api/taxonomies/?page=1")
    assert response.json()["count"] == rows + 4


@pytest.mark.parametrize("rows", ROWS)
def test_sectors(world, api, django_assert_max_num_queries, rows):
    Sector.objects.bulk_create(Sector(slug=f"s-{i}", name=f"S {i}") for i in range(rows))
    client = api(world.lab_user)
    with django_assert_max_num_queries(4):
        response = client.get("/api/sectors/")
    assert response.json()["count"] == rows + 22


@pytest.mark.parametrize("rows", ROWS)
def test_finding_credits(world, api, django_assert_max_num_queries, rows):
    finding = world.submitted()
    _content(finding, rows, world)
    client = api(world.coordinator)
    with django_assert_max_num_queries(6):
        response = client.get(finding_url(finding.reference, "credits"))
    assert len(response.json()) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_my_credits(world, api, django_assert_max_num_queries, rows):
    for _ in range(rows):
        Credit.objects.create(
            finding=world.submitted(),
            user=world.coordinator,
            type="coordinator",
            created_by=world.lab_user,
        )
    client = api(world.coordinator)
    with django_assert_max_num_queries(5):
        response = client.get("/api/credits/?status=pending")
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", ROWS)
def test_revisions_list_and_one_revision(world, api, django_assert_max_num_queries, rows):
    finding = world.submitted()
    _content(finding, rows, world)
    client = api(world.coordinator)
    with django_assert_max_num_queries(7):
        response = client.get(finding_url(finding.reference, "revisions"))
    assert response.json()["count"] == rows + 1
    with django_assert_max_num_queries(6):
        response = client.get(finding_url(finding.reference, f"revisions/{rows + 1}"))
    assert response.json()["number"] == rows + 1


@pytest.mark.parametrize("rows", ROWS)
def test_credit_accept(world, api, django_assert_max_num_queries, rows):
    finding = world.submitted()
    _content(finding, rows, world)
    credit = Credit.objects.create(
        finding=finding, user=world.coordinator, type="coordinator", created_by=world.lab_user
    )
    client = api(world.coordinator)
    with django_assert_max_num_queries(9):
        response = client.post(f"/api/credits/{credit.pk}/accept/")
    assert response.json()["status"] == "accepted"
