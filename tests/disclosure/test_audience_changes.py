"""Changing the audience of an embargoed finding: newcomers alone are notified, removals are
audited and end the organization's access; refusals write nothing."""

from __future__ import annotations

from collections import Counter

import pytest
from django.urls import reverse

from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Delivery, Finding, FindingRecipient
from disclosure.services.audience import audience_add, audience_remove
from tests.factories import MembershipFactory, OrganizationFactory


def _notified_per_org(finding: Finding) -> Counter[str]:
    """NOTIFIED outbox rows per organization (every channel)."""
    return Counter(
        Delivery.objects.filter(finding=finding, event=Delivery.Event.NOTIFIED).values_list(
            "organization__slug", flat=True
        )
    )


def _newcomer(name: str = "Rail ISAC", members: int = 2):
    org = OrganizationFactory(name=name)
    for _ in range(members):
        MembershipFactory(organization=org)
    return org


def test_adding_notifies_only_the_newcomers(world):
    finding = world.embargoed()
    before = _notified_per_org(finding)
    assert before["grid-isac"] > 0
    rail = _newcomer()
    rows = audience_add(
        actor=world.coordinator, finding=finding, organizations=[world.defender, rail]
    )
    after = _notified_per_org(finding)
    assert [r.organization for r in rows] == [rail]
    assert after["grid-isac"] == before["grid-isac"]  # those notified before hear nothing more
    assert after[rail.slug] > 0
    assert set(
        Delivery.objects.filter(finding=finding, organization=rail).values_list(
            "recipient_id", flat=True
        )
    ) >= set(rail.memberships.values_list("user_id", flat=True))
    assert set(finding.recipients.values_list("organization__slug", flat=True)) == {
        "grid-isac",
        rail.slug,
    }


def test_adding_writes_one_audit_event_that_causes_the_newcomers_deliveries(world):
    finding = world.embargoed()
    rail = _newcomer()
    audience_add(actor=world.coordinator, finding=finding, organizations=[rail, world.defender])
    (event,) = AuditEvent.objects.filter(finding=finding, action="finding.audience_added")
    assert event.actor == world.coordinator
    assert event.data == {"organizations": [rail.slug], "already_notified": ["grid-isac"]}
    assert set(event.deliveries.values_list("organization_id", flat=True)) == {rail.pk}


def test_a_newcomer_sees_the_finding_and_is_told_of_the_current_revision(world):
    finding = world.embargoed()
    audience_add(actor=world.coordinator, finding=finding, organizations=[world.other_defender])
    row = FindingRecipient.objects.get(finding=finding, organization=world.other_defender)
    assert row.notified_revision == finding.revisions.order_by("-number").first().number
    assert row.added_by == world.coordinator


def test_adding_only_organizations_already_notified_is_refused(world):
    finding = world.embargoed()
    with pytest.raises(ValidationFailed) as refused:
        audience_add(actor=world.coordinator, finding=finding, organizations=[world.defender])
    assert "Already notified: grid-isac" in refused.value.detail["defender_organizations"]
    assert not AuditEvent.objects.filter(action="finding.audience_added").exists()


@pytest.mark.parametrize("state", ["submitted", "released", "rejected"])
def test_adding_to_a_finding_not_under_embargo_is_a_conflict(world, state):
    finding = world.in_state(state)
    with pytest.raises(Conflict):
        audience_add(actor=world.coordinator, finding=finding, organizations=[world.defender])
    assert not FindingRecipient.objects.filter(finding=finding, organization=world.other_defender)


def test_adding_an_unverified_or_non_defender_organization_is_refused(world):
    finding = world.embargoed()
    for org in (OrganizationFactory(unverified=True), world.other_lab, world.center):
        with pytest.raises(ValidationFailed):
            audience_add(actor=world.coordinator, finding=finding, organizations=[org])
    assert finding.recipients.count() == 1


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_only_coordinators_change_the_audience(world, who):
    finding = world.embargoed()
    with pytest.raises(NotAllowed):
        audience_add(
            actor=getattr(world, who), finding=finding, organizations=[world.other_defender]
        )
    with pytest.raises(NotAllowed):
        audience_remove(
            actor=getattr(world, who), finding=finding, organization=world.defender, reason="x"
        )


# --- Removing.


def _two_notified(world) -> Finding:
    finding = world.embargoed()
    audience_add(actor=world.coordinator, finding=finding, organizations=[world.other_defender])
    return finding


def test_removing_deletes_the_row_audits_its_history_and_ends_access(world, client):
    finding = _two_notified(world)
    row = FindingRecipient.objects.get(finding=finding, organization=world.other_defender)
    audience_remove(
        actor=world.coordinator,
        finding=finding,
        organization=world.other_defender,
        reason="  Wrong sector.  ",
    )
    assert not FindingRecipient.objects.filter(pk=row.pk).exists()
    (event,) = AuditEvent.objects.filter(finding=finding, action="finding.audience_removed")
    assert event.note == "Wrong sector."
    assert event.data["organization"] == "water-cert"
    assert event.data["added_at"] == row.added_at.isoformat()
    client.force_login(world.other_defender_user)
    assert client.get(reverse("finding-detail", args=[finding.reference])).status_code == 404


def test_removing_cancels_the_removed_organizations_unsent_notifications(world):
    finding = _two_notified(world)
    audience_remove(
        actor=world.coordinator, finding=finding, organization=world.other_defender, reason="x"
    )
    pending = Delivery.objects.filter(
        finding=finding, organization=world.other_defender, state=Delivery.State.PENDING
    )
    assert not pending.exists()
    assert Delivery.objects.filter(
        finding=finding, organization=world.defender, state=Delivery.State.PENDING
    ).exists()


def test_removing_needs_a_reason_and_a_notified_organization_and_keeps_the_last(world):
    finding = world.embargoed()
    with pytest.raises(ValidationFailed) as refused:
        audience_remove(
            actor=world.coordinator, finding=finding, organization=world.defender, reason=" "
        )
    assert "reason" in refused.value.detail
    with pytest.raises(ValidationFailed) as refused:
        audience_remove(
            actor=world.coordinator, finding=finding, organization=world.other_defender, reason="x"
        )
    assert "not notified" in refused.value.detail["organization"]
    with pytest.raises(ValidationFailed) as refused:
        audience_remove(
            actor=world.coordinator, finding=finding, organization=world.defender, reason="x"
        )
    assert "at least one must stay" in refused.value.detail["organization"]
    assert finding.recipients.count() == 1


def test_removing_from_a_released_finding_is_a_conflict(world):
    finding = world.released()
    with pytest.raises(Conflict):
        audience_remove(
            actor=world.coordinator, finding=finding, organization=world.defender, reason="x"
        )


# --- The page controls.


def test_the_coordinator_adds_and_removes_from_the_finding_page(client, world):
    finding = world.embargoed()
    client.force_login(world.coordinator)
    url = reverse("finding-detail", args=[finding.reference])
    page = client.get(url)
    assert page.context["audience"]["add_form"] is not None
    assert "remove_form" not in page.context["audience"]  # the only one stays
    response = client.post(
        reverse("finding-audience-add", args=[finding.reference]),
        {"defender_organizations": [world.other_defender.pk]},
    )
    assert response.status_code == 302
    assert finding.recipients.count() == 2
    response = client.post(
        reverse("finding-audience-remove", args=[finding.reference]),
        {"organization": "water-cert", "reason": "Not affected after all."},
    )
    assert response.status_code == 302
    assert list(finding.recipients.values_list("organization__slug", flat=True)) == ["grid-isac"]


def test_a_page_refusal_is_shown_on_the_form_with_its_status(client, world):
    finding = _two_notified(world)
    client.force_login(world.coordinator)
    response = client.post(
        reverse("finding-audience-remove", args=[finding.reference]),
        {"organization": "water-cert", "reason": ""},
    )
    assert response.status_code == 400
    assert response.context["audience"]["remove_form"].errors["reason"]


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_the_page_controls_are_refused_to_others(client, world, who):
    finding = world.embargoed()
    client.force_login(getattr(world, who))
    page = client.get(reverse("finding-detail", args=[finding.reference]))
    assert "add_form" not in page.context["audience"]
    response = client.post(
        reverse("finding-audience-add", args=[finding.reference]),
        {"defender_organizations": [world.other_defender.pk]},
    )
    assert response.status_code == 403
    assert finding.recipients.count() == 1


def test_an_outsider_gets_a_404_from_the_page_controls(client, world):
    finding = world.embargoed()
    client.force_login(world.other_defender_user)
    response = client.post(
        reverse("finding-audience-add", args=[finding.reference]),
        {"defender_organizations": [world.other_defender.pk]},
    )
    assert response.status_code == 404
