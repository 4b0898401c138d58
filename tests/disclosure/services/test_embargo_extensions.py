"""Extension requests: the lab or a notified defender asks, a coordinator approves or denies,
the requester may withdraw; the embargo is being revised while one is pending."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Embargo, ExtensionRequest, Finding
from disclosure.services.embargo_extensions import (
    extension_decide,
    extension_request,
    extension_withdraw,
)
from disclosure.services.release import finding_release
from tests.disclosure.embargo_helpers import (
    changed_notices,
    embargo_of,
    embargoed,
    kinds,
    soon,
    writes,
)
from tests.factories import MembershipFactory, OrganizationFactory

Pending = ExtensionRequest.State.PENDING


def _ask(world, finding, who="defender_user", days=20, reason="We need to retrain a filter"):
    return extension_request(
        actor=getattr(world, who), finding=finding, ends_at=soon(days), reason=reason
    )


def test_a_notified_defender_asks_and_the_embargo_is_being_revised(world):
    finding = embargoed(world)
    request = _ask(world, finding)
    assert (request.organization, request.requested_by, request.state) == (
        world.defender,
        world.defender_user,
        Pending,
    )
    assert embargo_of(finding).state == Embargo.State.REVISING
    assert kinds(finding) == ["activated", "extension_requested"]
    # The state changed: the lab and every notified organization are told.
    assert set(changed_notices(finding)) == {"grid-isac", "water-cert", "example-lab"}


def test_a_defenders_request_stays_out_of_the_labs_audit_trail(world):
    finding = embargoed(world)
    _ask(world, finding, reason="Our SOC is short-staffed")
    assert not AuditEvent.objects.filter(finding=finding, action__startswith="embargo.ext")
    event = AuditEvent.objects.get(action="embargo.extension_requested")
    assert (event.finding, event.data["finding"], event.note) == (None, finding.reference, "")


def test_the_lab_asks_for_itself(world):
    finding = embargoed(world)
    request = _ask(world, finding, who="lab_user")
    assert request.organization == world.lab
    assert AuditEvent.objects.get(action="embargo.extension_requested").finding == finding


def test_a_second_request_while_revising_tells_nobody_again(world):
    finding = embargoed(world)
    _ask(world, finding)
    before = sum(changed_notices(finding).values())
    _ask(world, finding, who="lab_user", days=25)
    assert sum(changed_notices(finding).values()) == before


def test_coordinators_do_not_ask_they_change_the_end(world):
    finding = embargoed(world)
    with pytest.raises(NotAllowed, match="coordinators change the end directly"):
        _ask(world, finding, who="coordinator")


def test_a_defender_not_notified_cannot_ask(world):
    finding = embargoed(world, organizations=[world.defender])
    before = writes(finding)
    with pytest.raises(NotAllowed):
        _ask(world, finding, who="other_defender_user")
    assert writes(finding) == before


def test_a_reason_is_required(world):
    finding = embargoed(world)
    before = writes(finding)
    with pytest.raises(ValidationFailed) as refused:
        _ask(world, finding, reason=" ")
    assert "reason" in refused.value.detail
    assert writes(finding) == before


@pytest.mark.parametrize("days", [5, 10], ids=["earlier", "same"])
def test_the_new_end_must_be_later_than_the_current_one(world, days):
    finding = embargoed(world, days=10)
    ExtensionRequest.objects.all().delete()
    with pytest.raises(ValidationFailed, match="later than the current end"):
        extension_request(
            actor=world.defender_user,
            finding=finding,
            ends_at=embargo_of(finding).ends_at if days == 10 else soon(days),
            reason="x",
        )
    assert not ExtensionRequest.objects.exists()


def test_a_released_finding_cannot_be_extended(world):
    finding = world.released()
    with pytest.raises(Conflict, match="released"):
        _ask(world, finding)


def test_one_pending_request_per_organization(world):
    finding = embargoed(world)
    _ask(world, finding)
    with pytest.raises(Conflict, match="pending extension request already"):
        _ask(world, finding, days=30)
    assert ExtensionRequest.objects.count() == 1


def test_a_member_of_two_notified_organizations_says_which_asks(world):
    finding = embargoed(world)
    MembershipFactory(user=world.defender_user, organization=world.other_defender)
    with pytest.raises(ValidationFailed) as refused:
        _ask(world, finding)
    assert "grid-isac, water-cert" in refused.value.detail["organization"]
    request = extension_request(
        actor=world.defender_user,
        finding=finding,
        ends_at=soon(20),
        reason="x",
        organization=world.other_defender,
    )
    assert request.organization == world.other_defender
    stranger = OrganizationFactory()
    with pytest.raises(ValidationFailed, match="on behalf of"):
        extension_request(
            actor=world.defender_user,
            finding=finding,
            ends_at=soon(21),
            reason="x",
            organization=stranger,
        )


# --- Decisions.


def test_approving_moves_the_end_and_the_embargo_is_active_again(world):
    finding = embargoed(world, days=10)
    request = _ask(world, finding, days=20)
    extension_decide(actor=world.coordinator, request=request, approve=True, note="Fine")
    finding.refresh_from_db()
    embargo = embargo_of(finding)
    request.refresh_from_db()
    assert finding.embargo_ends_at == embargo.ends_at == request.requested_ends_at
    assert embargo.state == Embargo.State.ACTIVE
    assert (request.state, request.decided_by, request.decision_note) == (
        "approved",
        world.coordinator,
        "Fine",
    )
    assert kinds(finding) == ["activated", "extension_requested", "extension_approved"]
    cause = AuditEvent.objects.get(finding=finding, action="embargo.extension_approved")
    assert cause.note == ""  # the note to a defender stays off the lab's audit trail
    assert set(changed_notices(finding, cause)) == {"grid-isac", "water-cert", "example-lab"}


def test_approving_beyond_the_policy_needs_the_note_as_reason(world):
    finding = embargoed(world, days=10)
    request = _ask(world, finding, days=60)
    before = writes(finding)
    with pytest.raises(ValidationFailed) as refused:
        extension_decide(actor=world.coordinator, request=request, approve=True)
    assert "policy maximum of 45 days" in refused.value.detail["ends_at"]
    assert "note" in refused.value.detail["ends_at"]
    assert writes(finding) == before
    request.refresh_from_db()
    assert request.state == Pending
    extension_decide(
        actor=world.coordinator, request=request, approve=True, note="Grid patch window"
    )
    assert embargo_of(finding).over_policy_reason == "Grid patch window"


def test_denying_needs_a_note(world):
    finding = embargoed(world)
    request = _ask(world, finding)
    with pytest.raises(ValidationFailed) as refused:
        extension_decide(actor=world.coordinator, request=request, approve=False)
    assert "note" in refused.value.detail
    request.refresh_from_db()
    assert request.state == Pending


def test_denying_the_last_pending_request_makes_it_active_and_tells_everyone(world):
    finding = embargoed(world)
    ends = finding.embargo_ends_at
    request = _ask(world, finding)
    extension_decide(actor=world.coordinator, request=request, approve=False, note="No")
    finding.refresh_from_db()
    assert finding.embargo_ends_at == ends
    assert embargo_of(finding).state == Embargo.State.ACTIVE
    cause = AuditEvent.objects.get(action="embargo.extension_denied")
    assert set(changed_notices(finding, cause)) == {"grid-isac", "water-cert", "example-lab"}


def test_denying_while_another_is_pending_tells_only_the_requester(world):
    finding = embargoed(world)
    request = _ask(world, finding)
    _ask(world, finding, who="lab_user", days=25)
    extension_decide(actor=world.coordinator, request=request, approve=False, note="No")
    assert embargo_of(finding).state == Embargo.State.REVISING
    cause = AuditEvent.objects.get(action="embargo.extension_denied")
    assert set(changed_notices(finding, cause)) == {"grid-isac"}


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_only_coordinators_decide(world, who):
    finding = embargoed(world)
    request = _ask(world, finding)
    with pytest.raises(NotAllowed):
        extension_decide(actor=getattr(world, who), request=request, approve=True)


def test_a_decided_request_cannot_be_decided_again(world):
    finding = embargoed(world)
    request = _ask(world, finding)
    extension_decide(actor=world.coordinator, request=request, approve=False, note="No")
    with pytest.raises(Conflict, match="denied already"):
        extension_decide(actor=world.coordinator, request=request, approve=True)


def test_approving_a_request_the_end_already_passed_is_a_conflict(world):
    finding = embargoed(world, days=10)
    early = _ask(world, finding, days=15)
    later = _ask(world, finding, who="lab_user", days=20)
    extension_decide(actor=world.coordinator, request=later, approve=True)
    with pytest.raises(Conflict, match="deny the request instead"):
        extension_decide(actor=world.coordinator, request=early, approve=True)


def test_the_release_closes_pending_requests_and_they_cannot_be_decided(world):
    finding = embargoed(world)
    request = _ask(world, finding)
    Finding.objects.filter(pk=finding.pk).update(
        embargo_ends_at=timezone.now() - timedelta(seconds=1)
    )
    assert finding_release(finding_id=finding.pk)
    request.refresh_from_db()
    assert request.state == ExtensionRequest.State.DENIED
    assert "released" in request.decision_note
    with pytest.raises(Conflict, match="denied already"):
        extension_decide(actor=world.coordinator, request=request, approve=True)


# --- Withdrawing.


def test_the_requester_withdraws_and_the_embargo_is_active_again(world):
    finding = embargoed(world)
    request = _ask(world, finding)
    extension_withdraw(actor=world.defender_user, request=request)
    request.refresh_from_db()
    assert request.state == "withdrawn"
    assert embargo_of(finding).state == Embargo.State.ACTIVE
    event = AuditEvent.objects.get(action="embargo.extension_withdrawn")
    assert (event.finding, event.data["finding"]) == (None, finding.reference)


def test_only_the_requester_withdraws(world):
    finding = embargoed(world)
    request = _ask(world, finding)
    colleague = MembershipFactory(organization=world.defender).user
    for who in (colleague, world.coordinator, world.lab_user):
        with pytest.raises(NotAllowed):
            extension_withdraw(actor=who, request=request)
    request.refresh_from_db()
    assert request.state == Pending
