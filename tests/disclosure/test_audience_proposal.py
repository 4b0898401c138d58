"""The proposed audience: verified defenders by subscription (category, risk threshold) and by
sector, with reasons; pre-selected on the accept page; the proposal API for coordinators only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Organization
from disclosure.models import CapabilityCategory, Finding, Sector, Subscription
from disclosure.services.audience import audience_propose
from tests.factories import OrganizationFactory

Risk = Finding.RiskLevel


def _category(code: str = "cybersecurity", taxonomy: str = "openai-pf-v2") -> CapabilityCategory:
    return CapabilityCategory.objects.get(taxonomy__slug=taxonomy, code=code)


def _subscribe(org: Organization, min_risk: str, code: str = "cybersecurity") -> Subscription:
    return Subscription.objects.create(
        organization=org, category=_category(code), min_risk_level=min_risk
    )


def _in_sector(org: Organization, slug: str) -> None:
    org.sectors.add(Sector.objects.get(slug=slug))


def _proposed(finding: Finding) -> dict[str, list[str]]:
    return {org.slug: reasons for org, reasons in audience_propose(finding)}


def test_a_subscription_at_or_below_the_risk_proposes_the_organization(world):
    _subscribe(world.defender, Risk.HIGH)
    finding = world.submitted(risk_level=Risk.HIGH)
    assert _proposed(finding) == {"grid-isac": ["subscribed to Cybersecurity >= high"]}


@pytest.mark.parametrize(
    ("min_risk", "risk", "proposed"),
    [
        (Risk.LOW, Risk.LOW, True),
        (Risk.MEDIUM, Risk.LOW, False),
        (Risk.HIGH, Risk.MEDIUM, False),
        (Risk.HIGH, Risk.CRITICAL, True),
        (Risk.CRITICAL, Risk.HIGH, False),
        (Risk.CRITICAL, Risk.CRITICAL, True),
    ],
)
def test_the_risk_threshold_is_inclusive_and_ordered(world, min_risk, risk, proposed):
    _subscribe(world.defender, min_risk)
    finding = world.submitted(risk_level=risk)
    assert ("grid-isac" in _proposed(finding)) is proposed


def test_a_subscription_to_another_category_proposes_nothing(world):
    _subscribe(world.defender, Risk.LOW, code="biological-chemical")
    assert _proposed(world.submitted()) == {}


def test_a_sector_the_finding_affects_proposes_the_organization(world):
    _in_sector(world.other_defender, "water")
    _in_sector(world.other_defender, "energy")
    _in_sector(world.defender, "healthcare-public-health")
    finding = world.submitted(affected_sectors=["energy", "water"])
    assert _proposed(finding) == {
        "water-cert": ["sector: Energy", "sector: Water and Wastewater Systems"]
    }


def test_both_reasons_are_given_and_organizations_come_by_name(world):
    _subscribe(world.other_defender, Risk.MEDIUM)
    _in_sector(world.other_defender, "energy")
    _in_sector(world.defender, "energy")
    finding = world.submitted(affected_sectors=["energy"])
    assert list(_proposed(finding).items()) == [
        ("grid-isac", ["sector: Energy"]),
        ("water-cert", ["subscribed to Cybersecurity >= medium", "sector: Energy"]),
    ]


@pytest.mark.parametrize("status", ["applied", "rejected", "suspended"])
def test_an_unverified_organization_is_never_proposed(world, status):
    org = OrganizationFactory(status=status)
    _subscribe(org, Risk.LOW)
    _in_sector(org, "energy")
    assert _proposed(world.submitted(affected_sectors=["energy"])) == {}


def test_only_defenders_are_proposed(world):
    _subscribe(world.other_lab, Risk.LOW)
    _in_sector(world.center, "energy")
    assert _proposed(world.submitted(affected_sectors=["energy"])) == {}


# --- The accept page: proposed organizations ticked, the other verified ones not.


def test_the_accept_form_ticks_the_proposed_and_offers_the_other_verified(client, world):
    _subscribe(world.defender, Risk.HIGH)
    unverified = OrganizationFactory(name="Applied ISAC", status="applied")
    finding = world.submitted()
    client.force_login(world.coordinator)
    response = client.get(reverse("finding-detail", args=[finding.reference]))
    choices = {
        box.choice_label: (box, reasons) for box, reasons in response.context["accept_choices"]
    }
    grid, grid_reasons = choices["Grid ISAC (Energy)"]
    water, water_reasons = choices["Water CERT (Water)"]
    assert "checked" in grid.tag() and grid_reasons == ["subscribed to Cybersecurity >= high"]
    assert "checked" not in water.tag() and water_reasons == []
    assert unverified.name not in choices
    assert "subscribed to Cybersecurity &gt;= high" in response.content.decode()


def test_accepting_from_the_page_refuses_an_unverified_organization(client, world):
    unverified = OrganizationFactory(status="applied")
    finding = world.submitted()
    client.force_login(world.coordinator)
    response = client.post(
        reverse("finding-accept", args=[finding.reference]),
        {"defender_organizations": [unverified.pk], "embargo_ends_at": "2099-01-01T00:00"},
    )
    assert response.status_code == 400
    finding.refresh_from_db()
    assert finding.state == Finding.State.SUBMITTED
