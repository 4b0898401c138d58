"""The audience and readiness API: adding and removing organizations, reporting readiness, and
the recipients' readiness per role."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from disclosure.models import Delivery, FindingRecipient
from disclosure.services.audience import audience_add
from disclosure.services.readiness import STATEMENT_MAX_LENGTH, readiness_report
from tests.factories import FindingRecipientFactory, MembershipFactory, OrganizationFactory

from .conftest import finding_url


def _audience(finding) -> str:
    return finding_url(finding.reference, "audience")


# --- Adding and removing.


def test_post_adds_newcomers_and_notifies_only_them(world, api):
    finding = world.embargoed()
    before = Counter(
        Delivery.objects.filter(finding=finding).values_list("organization__slug", flat=True)
    )
    response = api(world.coordinator).post(
        _audience(finding),
        {"defender_organizations": ["grid-isac", "water-cert"]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert [r["organization"] for r in body["recipients"]] == ["grid-isac", "water-cert"]
    after = Counter(
        Delivery.objects.filter(finding=finding).values_list("organization__slug", flat=True)
    )
    assert after["grid-isac"] == before["grid-isac"]
    assert after["water-cert"] > 0


def test_post_of_only_notified_organizations_is_a_400(world, api):
    finding = world.embargoed()
    response = api(world.coordinator).post(
        _audience(finding), {"defender_organizations": ["grid-isac"]}, format="json"
    )
    assert response.status_code == 400
    assert "Already notified" in response.json()["detail"]["defender_organizations"]


@pytest.mark.parametrize(
    "slug",
    ["applied-isac", "other-lab", "no-such-org"],
)
def test_post_of_an_unverified_unknown_or_non_defender_organization_is_a_400(world, api, slug):
    OrganizationFactory(slug="applied-isac", unverified=True)
    finding = world.embargoed()
    response = api(world.coordinator).post(
        _audience(finding), {"defender_organizations": [slug]}, format="json"
    )
    assert response.status_code == 400
    assert "defender_organizations" in response.json()["detail"]
    assert finding.recipients.count() == 1


def test_post_to_a_finding_not_under_embargo_is_a_409(world, api):
    finding = world.submitted()
    response = api(world.coordinator).post(
        _audience(finding), {"defender_organizations": ["water-cert"]}, format="json"
    )
    assert response.status_code == 409


@pytest.mark.parametrize(("who", "status"), [("lab_user", 403), ("defender_user", 403)])
def test_others_who_see_the_finding_get_a_403(world, api, who, status):
    finding = world.embargoed()
    client = api(getattr(world, who))
    assert (
        client.post(
            _audience(finding), {"defender_organizations": ["water-cert"]}, format="json"
        ).status_code
        == status
    )
    assert (
        client.delete(
            _audience(finding), {"organization": "grid-isac", "reason": "x"}, format="json"
        ).status_code
        == status
    )


@pytest.mark.parametrize("who", ["other_defender_user", "other_lab_user", None])
def test_outsiders_get_a_404(world, api, who):
    finding = world.embargoed()
    client = api(getattr(world, who) if who else None)
    assert client.post(_audience(finding), {}, format="json").status_code == 404
    assert client.delete(_audience(finding), {}, format="json").status_code == 404
    assert client.get(finding_url(finding.reference, "recipients")).status_code == 404


def test_delete_removes_with_a_reason(world, api):
    finding = world.embargoed()
    audience_add(actor=world.coordinator, finding=finding, organizations=[world.other_defender])
    client = api(world.coordinator)
    missing = client.delete(_audience(finding), {"organization": "water-cert"}, format="json")
    assert missing.status_code == 400
    assert "reason" in missing.json()["detail"]
    response = client.delete(
        _audience(finding), {"organization": "water-cert", "reason": "Out of scope"}, format="json"
    )
    assert response.status_code == 200
    assert [r["organization"] for r in response.json()["recipients"]] == ["grid-isac"]
    gone = api(world.other_defender_user).get(finding_url(finding.reference))
    assert gone.status_code == 404


# --- Reporting readiness.


def _readiness(finding) -> str:
    return finding_url(finding.reference, "readiness")


def test_a_notified_defender_reports_readiness(world, api):
    finding = world.embargoed()
    response = api(world.defender_user).post(
        _readiness(finding), {"readiness": "preparing", "statement": " Filters. "}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["organization"], body["readiness"], body["readiness_statement"]) == (
        "grid-isac",
        "preparing",
        "Filters.",
    )
    assert body["acknowledged_by"] == world.defender_user.email


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"readiness": "not_assessed"}, "readiness"),
        ({"readiness": "done"}, "readiness"),
        ({}, "readiness"),
        ({"readiness": "ready", "statement": "x" * (STATEMENT_MAX_LENGTH + 1)}, "statement"),
        ({"readiness": "ready", "organization": "water-cert"}, "organization"),
        ({"readiness": "ready", "state": "x"}, "state"),
    ],
)
def test_bad_readiness_input_is_a_400_naming_the_field(world, api, payload, field):
    finding = world.embargoed()
    response = api(world.defender_user).post(_readiness(finding), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["detail"]
    row = FindingRecipient.objects.get(finding=finding)
    assert (row.readiness, row.acknowledged_at) == ("not_assessed", None)


@pytest.mark.parametrize(
    ("who", "status"),
    [("other_defender_user", 404), ("lab_user", 403), ("coordinator", 403), (None, 404)],
)
def test_readiness_from_anyone_else_is_refused(world, api, who, status):
    finding = world.embargoed()
    client = api(getattr(world, who) if who else None)
    assert client.post(_readiness(finding), {"readiness": "ready"}, format="json").status_code == (
        status
    )


# --- The recipients' readiness, per role.


def _recipients(client, finding):
    response = client.get(finding_url(finding.reference, "recipients"))
    assert response.status_code == 200
    return response.json()


def _reported(world):
    finding = world.embargoed()
    audience_add(actor=world.coordinator, finding=finding, organizations=[world.other_defender])
    readiness_report(
        actor=world.defender_user, finding=finding, readiness="ready", statement="STATEMENT-GRID"
    )
    return finding


def test_coordinators_see_every_organization_with_statements(world, api):
    finding = _reported(world)
    body = _recipients(api(world.coordinator), finding)
    assert body["access"] == "all"
    assert {r["organization"]: r["readiness"] for r in body["recipients"]} == {
        "grid-isac": "ready",
        "water-cert": "not_assessed",
    }
    assert body["recipients"][0]["readiness_statement"] == "STATEMENT-GRID"
    assert body["summary"]["text"] == "1 of 2 ready"
    assert body["summary"]["acknowledged"] == 1
    assert body["summary"]["readiness"]["not_assessed"] == 1


def test_a_defender_sees_only_its_own_row(world, api):
    finding = _reported(world)
    body = _recipients(api(world.other_defender_user), finding)
    assert body["access"] == "own"
    assert [r["organization"] for r in body["recipients"]] == ["water-cert"]
    assert "STATEMENT-GRID" not in str(body)
    assert body["summary"]["total"] == 1


def test_the_lab_sees_counts_only(world, api):
    finding = _reported(world)
    body = _recipients(api(world.lab_user), finding)
    assert body["access"] == "counts"
    assert body["recipients"] == []
    assert body["summary"]["total"] == 2
    assert body["summary"]["readiness"]["ready"] == 1
    assert "STATEMENT-GRID" not in str(body)


def test_anyone_else_gets_a_404_even_once_released(world, api):
    finding = world.released()
    assert api(world.other_lab_user).get(
        finding_url(finding.reference, "recipients")
    ).status_code == (404)


def test_an_overdue_organization_is_flagged(world, api):
    finding = world.embargoed()
    FindingRecipient.objects.filter(finding=finding).update(
        added_at=timezone.now() - timedelta(hours=25), reminders_sent=1
    )
    body = _recipients(api(world.coordinator), finding)
    assert body["recipients"][0]["overdue"] is True
    assert body["recipients"][0]["reminders_sent"] == 1
    assert body["summary"]["overdue"] == 1


@pytest.mark.parametrize("rows", [1, 50])
def test_the_recipients_query_budget(world, api, django_assert_max_num_queries, rows):
    finding = world.embargoed()
    for _ in range(rows - 1):
        org = OrganizationFactory()
        MembershipFactory(organization=org)
        FindingRecipientFactory(finding=finding, organization=org, added_by=world.coordinator)
    client = api(world.coordinator)
    with django_assert_max_num_queries(6):
        body = _recipients(client, finding)
    assert len(body["recipients"]) == rows
