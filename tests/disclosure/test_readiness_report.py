"""Readiness per notified organization: the states a defender may report, the statement, the
acknowledgement it implies, the audit, and who may not."""

from __future__ import annotations

import pytest
from django.urls import reverse

from disclosure.errors import NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, FindingRecipient
from disclosure.services.audience import audience_add
from disclosure.services.readiness import (
    STATEMENT_MAX_LENGTH,
    finding_acknowledge,
    readiness_report,
)
from tests.factories import MembershipFactory

Readiness = FindingRecipient.Readiness


def _row(world, finding) -> FindingRecipient:
    return FindingRecipient.objects.get(finding=finding, organization=world.defender)


@pytest.mark.parametrize("state", ["acknowledged", "preparing", "ready", "not_affected"])
def test_a_notified_defender_reports_each_state(world, state):
    finding = world.embargoed()
    readiness_report(actor=world.defender_user, finding=finding, readiness=state)
    row = _row(world, finding)
    assert row.readiness == state
    assert row.readiness_updated_by == world.defender_user
    assert row.readiness_updated_at is not None


def test_the_first_report_acknowledges_and_later_ones_keep_that_time(world):
    finding = world.embargoed()
    readiness_report(actor=world.defender_user, finding=finding, readiness="preparing")
    first = _row(world, finding)
    assert first.acknowledged_by == world.defender_user
    readiness_report(actor=world.defender_user, finding=finding, readiness="ready")
    again = _row(world, finding)
    assert again.acknowledged_at == first.acknowledged_at
    assert AuditEvent.objects.filter(finding=finding, action="finding.acknowledged").count() == 1


def test_a_report_is_audited_without_the_statement_and_without_the_finding_link(world):
    finding = world.embargoed()
    readiness_report(
        actor=world.defender_user,
        finding=finding,
        readiness="ready",
        statement="  SECRET-POSTURE: patched all substations.  ",
    )
    assert _row(world, finding).readiness_statement == "SECRET-POSTURE: patched all substations."
    (event,) = AuditEvent.objects.filter(action="finding.readiness_reported")
    assert event.finding is None  # the lab reads the finding's trail
    assert event.actor == world.defender_user
    assert event.data == {
        "finding": finding.reference,
        "organization": "grid-isac",
        "from": "not_assessed",
        "to": "ready",
        "statement_changed": True,
    }
    assert "SECRET-POSTURE" not in str(event.data) + event.note


def test_reporting_the_same_again_changes_and_audits_nothing(world):
    finding = world.embargoed()
    readiness_report(actor=world.defender_user, finding=finding, readiness="ready", statement="x")
    readiness_report(actor=world.defender_user, finding=finding, readiness="ready", statement="x ")
    assert AuditEvent.objects.filter(action="finding.readiness_reported").count() == 1


@pytest.mark.parametrize("bad", ["not_assessed", "done", ""])
def test_an_unknown_state_or_going_back_to_not_assessed_is_refused(world, bad):
    finding = world.embargoed()
    with pytest.raises(ValidationFailed) as refused:
        readiness_report(actor=world.defender_user, finding=finding, readiness=bad)
    assert "readiness" in refused.value.detail
    assert _row(world, finding).readiness == Readiness.NOT_ASSESSED


def test_a_statement_over_the_limit_is_refused(world):
    finding = world.embargoed()
    readiness_report(
        actor=world.defender_user,
        finding=finding,
        readiness="ready",
        statement="x" * STATEMENT_MAX_LENGTH,
    )
    with pytest.raises(ValidationFailed) as refused:
        readiness_report(
            actor=world.defender_user,
            finding=finding,
            readiness="ready",
            statement="y" * (STATEMENT_MAX_LENGTH + 1),
        )
    assert "statement" in refused.value.detail
    assert _row(world, finding).readiness_statement == "x" * STATEMENT_MAX_LENGTH


@pytest.mark.parametrize("who", ["other_defender_user", "lab_user", "coordinator"])
def test_only_members_of_a_notified_organization_report(world, who):
    finding = world.embargoed()
    with pytest.raises(NotAllowed):
        readiness_report(actor=getattr(world, who), finding=finding, readiness="ready")


def test_a_member_of_two_notified_organizations_says_which(world):
    finding = world.embargoed()
    audience_add(actor=world.coordinator, finding=finding, organizations=[world.other_defender])
    MembershipFactory(user=world.defender_user, organization=world.other_defender)
    user = type(world.defender_user).objects.get(pk=world.defender_user.pk)  # fresh org cache
    with pytest.raises(ValidationFailed) as refused:
        readiness_report(actor=user, finding=finding, readiness="ready")
    assert "organization" in refused.value.detail
    readiness_report(
        actor=user, finding=finding, readiness="ready", organization=world.other_defender
    )
    assert FindingRecipient.objects.get(
        finding=finding, organization=world.other_defender
    ).readiness == ("ready")
    assert _row(world, finding).readiness == Readiness.NOT_ASSESSED


def test_readiness_can_still_be_reported_after_the_release(world):
    finding = world.released()
    readiness_report(actor=world.defender_user, finding=finding, readiness="not_affected")
    assert _row(world, finding).readiness == Readiness.NOT_AFFECTED


def test_acknowledging_sets_readiness_only_if_not_yet_assessed(world):
    finding = world.embargoed()
    finding_acknowledge(actor=world.defender_user, finding=finding)
    assert _row(world, finding).readiness == Readiness.ACKNOWLEDGED
    other = world.embargoed()
    FindingRecipient.objects.filter(finding=other).update(readiness=Readiness.PREPARING)
    finding_acknowledge(actor=world.defender_user, finding=other)
    assert _row(world, other).readiness == Readiness.PREPARING


# --- The page.


def test_the_defender_reports_readiness_on_the_finding_page(client, world):
    finding = world.embargoed()
    client.force_login(world.defender_user)
    page = client.get(reverse("finding-detail", args=[finding.reference]))
    assert page.context["audience"]["readiness_form"] is not None
    response = client.post(
        reverse("finding-readiness", args=[finding.reference]),
        {"readiness": "preparing", "statement": "Rolling out filters."},
    )
    assert response.status_code == 302
    page = client.get(reverse("finding-detail", args=[finding.reference]))
    body = page.content.decode()
    assert "Rolling out filters." in body
    assert page.context["audience"]["readiness_form"].initial["readiness"] == "preparing"


def test_a_bad_report_on_the_page_is_a_400_on_the_form(client, world):
    finding = world.embargoed()
    client.force_login(world.defender_user)
    response = client.post(
        reverse("finding-readiness", args=[finding.reference]),
        {"readiness": "not_assessed"},
    )
    assert response.status_code == 400
    assert response.context["audience"]["readiness_form"].errors["readiness"]


@pytest.mark.parametrize(("who", "status"), [("other_defender_user", 404), ("lab_user", 403)])
def test_the_page_refuses_others(client, world, who, status):
    finding = world.embargoed()
    client.force_login(getattr(world, who))
    response = client.post(
        reverse("finding-readiness", args=[finding.reference]), {"readiness": "ready"}
    )
    assert response.status_code == status
    assert _row(world, finding).readiness == Readiness.NOT_ASSESSED


def test_the_lab_sees_counts_but_no_readiness_or_statement(client, world):
    finding = world.embargoed()
    readiness_report(
        actor=world.defender_user, finding=finding, readiness="ready", statement="STATEMENT-X"
    )
    client.force_login(world.lab_user)
    page = client.get(reverse("finding-detail", args=[finding.reference]))
    body = page.content.decode()
    assert "1 of 1 ready" in body
    assert "STATEMENT-X" not in body
    assert page.context["audience"]["rows"] == []
