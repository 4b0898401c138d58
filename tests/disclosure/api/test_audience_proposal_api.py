"""The proposal API: verified defenders, the proposed ones first with their reasons; for
coordinators only (a 404 for everyone else)."""

from __future__ import annotations

import pytest

from disclosure.models import Finding
from tests.disclosure.test_audience_proposal import _in_sector, _subscribe
from tests.factories import MembershipFactory, OrganizationFactory

Risk = Finding.RiskLevel


def _proposal_url(finding: Finding) -> str:
    return f"/api/findings/{finding.reference}/audience/proposal/"


def test_the_proposal_api_lists_verified_defenders_proposed_first(world, api):
    _in_sector(world.other_defender, "energy")
    OrganizationFactory(name="Applied ISAC", status="applied")
    finding = world.submitted(affected_sectors=["energy"])
    response = api(world.coordinator).get(_proposal_url(finding))
    assert response.status_code == 200
    assert response.json()["organizations"] == [
        {
            "organization": "water-cert",
            "name": "Water CERT",
            "proposed": True,
            "notified": False,
            "reasons": ["sector: Energy"],
        },
        {
            "organization": "grid-isac",
            "name": "Grid ISAC",
            "proposed": False,
            "notified": False,
            "reasons": [],
        },
    ]


def test_the_proposal_api_marks_who_is_notified_already(world, api):
    finding = world.embargoed()
    rows = api(world.coordinator).get(_proposal_url(finding)).json()["organizations"]
    assert {r["organization"]: r["notified"] for r in rows} == {
        "grid-isac": True,
        "water-cert": False,
    }


@pytest.mark.parametrize("who", ["lab_user", "defender_user", "other_defender_user", None])
def test_the_proposal_api_is_a_404_for_everyone_but_coordinators(world, api, who):
    finding = world.embargoed()
    user = getattr(world, who) if who else None
    assert api(user).get(_proposal_url(finding)).status_code == 404


def test_a_coordinator_gets_no_proposal_for_a_draft(world, api):
    assert api(world.coordinator).get(_proposal_url(world.file())).status_code == 404


@pytest.mark.parametrize("rows", [1, 30])
def test_the_proposal_api_query_budget(world, api, django_assert_max_num_queries, rows):
    for _ in range(rows):
        org = OrganizationFactory()
        _subscribe(org, Risk.LOW)
        _in_sector(org, "energy")
        MembershipFactory(organization=org)
    finding = world.submitted(affected_sectors=["energy"])
    client = api(world.coordinator)
    with django_assert_max_num_queries(9):
        response = client.get(_proposal_url(finding))
    assert len([r for r in response.json()["organizations"] if r["proposed"]]) == rows
