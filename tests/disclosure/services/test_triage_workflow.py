"""The triage workflow's services: every move allowed and refused, what is audited, who is told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Delivery, Finding
from disclosure.services import triage
from disclosure.services.notify import deliveries_dispatch
from tests.disclosure.triage_states import finding_in, in_triage, needs_info
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

State = Finding.State
QUESTION = "SECRET-QUESTION: which checkpoint produced the 31% figure?"


def _triaged(finding: Finding) -> list[tuple[str, str]]:
    rows = Delivery.objects.filter(
        finding=finding, event=Delivery.Event.TRIAGED, channel=Delivery.Channel.EMAIL
    )
    return list(rows.values_list("recipient__email", "cause__to_state"))


def _accept(world, finding):
    return triage.finding_accept(
        actor=world.coordinator,
        finding=finding,
        organizations=[world.defender],
        embargo_ends_at=timezone.now() + timedelta(days=3),
    )


# --- Start triage.


def test_a_coordinator_starts_triage_of_a_submitted_finding(world):
    finding = triage.finding_triage_start(actor=world.coordinator, finding=world.submitted())
    assert finding.state == State.IN_TRIAGE
    event = AuditEvent.objects.get(finding=finding, action="finding.in_triage")
    assert (event.actor, event.from_state, event.to_state) == (
        world.coordinator,
        "submitted",
        "in_triage",
    )


def test_a_coordinator_may_resume_triage_without_waiting_for_the_lab(world):
    finding = triage.finding_triage_start(actor=world.coordinator, finding=needs_info(world))
    assert finding.state == State.IN_TRIAGE


@pytest.mark.parametrize("actor", ["lab_user", "defender_user", "other_lab_user"])
def test_only_coordinators_start_triage(world, actor):
    finding = world.submitted()
    with pytest.raises(NotAllowed):
        triage.finding_triage_start(actor=getattr(world, actor), finding=finding)
    finding.refresh_from_db()
    assert finding.state == State.SUBMITTED


@pytest.mark.parametrize("state", [State.DRAFT, State.IN_TRIAGE, State.EMBARGOED, State.REJECTED])
def test_starting_triage_from_another_state_is_a_conflict(world, state):
    finding = finding_in(world, state)
    with pytest.raises(Conflict):
        triage.finding_triage_start(actor=world.coordinator, finding=finding)


def test_starting_triage_tells_the_lab_nothing(world):
    finding = in_triage(world)
    assert _triaged(finding) == []


# --- Request and provide information.


def test_requesting_information_records_the_message_and_tells_the_lab(world):
    finding = triage.finding_request_info(
        actor=world.coordinator, finding=in_triage(world), message=f"  {QUESTION}  "
    )
    assert finding.state == State.NEEDS_INFO
    event = AuditEvent.objects.get(finding=finding, action="finding.needs_info")
    assert event.note == QUESTION
    assert _triaged(finding) == [("dev@lab.example", "needs_info")]


def test_requesting_information_twice_tells_the_lab_twice(world):
    finding = needs_info(world)
    finding = triage.finding_provide_info(actor=world.lab_user, finding=finding, response="ckpt-7")
    triage.finding_request_info(actor=world.coordinator, finding=finding, message="And ckpt-8?")
    assert _triaged(finding) == [
        ("dev@lab.example", "needs_info"),
        ("dev@lab.example", "needs_info"),
    ]


def test_every_active_lab_member_hears_of_a_request(world):
    colleague = UserFactory(email="colleague@lab.example")
    MembershipFactory(user=colleague, organization=world.lab)
    gone = UserFactory(email="gone@lab.example", is_active=False)
    MembershipFactory(user=gone, organization=world.lab)
    finding = needs_info(world)
    assert sorted(email for email, _ in _triaged(finding)) == [
        "colleague@lab.example",
        "dev@lab.example",
    ]


def test_a_request_needs_a_message_and_writes_nothing_without_one(world):
    finding = in_triage(world)
    with pytest.raises(ValidationFailed) as exc:
        triage.finding_request_info(actor=world.coordinator, finding=finding, message="  ")
    assert "message" in exc.value.detail
    finding.refresh_from_db()
    assert finding.state == State.IN_TRIAGE
    assert not Delivery.objects.filter(finding=finding).exists()


def test_a_request_from_submitted_is_a_conflict_triage_starts_first(world):
    with pytest.raises(Conflict):
        triage.finding_request_info(actor=world.coordinator, finding=world.submitted(), message="?")


def test_the_lab_cannot_request_information(world):
    with pytest.raises(NotAllowed):
        triage.finding_request_info(actor=world.lab_user, finding=in_triage(world), message="?")


def test_the_lab_answers_and_the_finding_goes_back_into_triage(world):
    finding = triage.finding_provide_info(
        actor=world.lab_user, finding=needs_info(world), response="The as-deployed checkpoint."
    )
    assert finding.state == State.IN_TRIAGE
    event = AuditEvent.objects.filter(finding=finding, action="finding.in_triage").last()
    assert (event.actor, event.from_state, event.note) == (
        world.lab_user,
        "needs_info",
        "The as-deployed checkpoint.",
    )


def test_an_answer_needs_text(world):
    with pytest.raises(ValidationFailed) as exc:
        triage.finding_provide_info(actor=world.lab_user, finding=needs_info(world), response="")
    assert "response" in exc.value.detail


@pytest.mark.parametrize("actor", ["coordinator", "other_lab_user", "defender_user"])
def test_only_the_lab_answers(world, actor):
    with pytest.raises(NotAllowed):
        triage.finding_provide_info(
            actor=getattr(world, actor), finding=needs_info(world), response="x"
        )


def test_answering_when_nobody_asked_is_a_conflict(world):
    with pytest.raises(Conflict):
        triage.finding_provide_info(actor=world.lab_user, finding=in_triage(world), response="x")


def test_an_overlong_message_is_refused(world):
    with pytest.raises(ValidationFailed):
        triage.finding_request_info(
            actor=world.coordinator,
            finding=in_triage(world),
            message="x" * (triage.MESSAGE_MAX_LENGTH + 1),
        )


# --- Accept and reject.


def test_a_finding_in_triage_can_be_accepted_and_the_lab_is_told(world):
    finding = _accept(world, in_triage(world))
    assert finding.state == State.EMBARGOED
    assert _triaged(finding) == [("dev@lab.example", "accepted")]


def test_a_finding_waiting_for_the_lab_cannot_be_accepted(world):
    with pytest.raises(Conflict):
        _accept(world, needs_info(world))


@pytest.mark.parametrize("state", [State.SUBMITTED, State.IN_TRIAGE, State.NEEDS_INFO])
def test_rejecting_records_the_reason_and_tells_the_lab(world, state):
    finding = finding_in(world, state)
    finding = triage.finding_reject(actor=world.coordinator, finding=finding, reason="Out of scope")
    assert finding.state == State.REJECTED
    assert AuditEvent.objects.get(finding=finding, action="finding.rejected").note == (
        "Out of scope"
    )
    assert ("dev@lab.example", "rejected") in _triaged(finding)


# --- Duplicates.


@pytest.mark.parametrize("state", [State.SUBMITTED, State.IN_TRIAGE, State.NEEDS_INFO])
def test_a_coordinator_closes_a_finding_as_a_duplicate(world, state):
    original = world.submitted()
    finding = triage.finding_mark_duplicate(
        actor=world.coordinator,
        finding=finding_in(world, state),
        duplicate_of=original.reference,
        reason="Same jailbreak as the original.",
    )
    assert finding.state == State.DUPLICATE
    assert finding.duplicate_of == original
    event = AuditEvent.objects.get(finding=finding, action="finding.duplicate")
    assert event.data == {"duplicate_of": original.reference}
    assert event.note == "Same jailbreak as the original."
    assert ("dev@lab.example", "duplicate") in _triaged(finding)


def test_a_duplicate_needs_no_reason(world):
    original = world.submitted()
    finding = triage.finding_mark_duplicate(
        actor=world.coordinator, finding=world.submitted(), duplicate_of=original.reference
    )
    assert finding.state == State.DUPLICATE


def test_a_duplicate_of_a_duplicate_points_to_the_original(world):
    original = world.submitted()
    first = triage.finding_mark_duplicate(
        actor=world.coordinator, finding=world.submitted(), duplicate_of=original.reference
    )
    second = triage.finding_mark_duplicate(
        actor=world.coordinator, finding=world.submitted(), duplicate_of=first.reference
    )
    assert second.duplicate_of == original


def test_duplicates_of_a_finding_follow_it_when_it_becomes_a_duplicate(world):
    original, middle = world.submitted(), world.submitted()
    earlier = triage.finding_mark_duplicate(
        actor=world.coordinator, finding=world.submitted(), duplicate_of=middle.reference
    )
    triage.finding_mark_duplicate(
        actor=world.coordinator, finding=middle, duplicate_of=original.reference
    )
    earlier.refresh_from_db()
    assert earlier.duplicate_of == original
    assert AuditEvent.objects.filter(
        finding=earlier, action="finding.duplicate_of_changed"
    ).exists()


def test_a_finding_is_not_a_duplicate_of_itself(world):
    finding = world.submitted()
    with pytest.raises(ValidationFailed) as exc:
        triage.finding_mark_duplicate(
            actor=world.coordinator, finding=finding, duplicate_of=finding.reference
        )
    assert "itself" in exc.value.detail["duplicate_of"]
    finding.refresh_from_db()
    assert finding.state == State.SUBMITTED


def test_a_finding_is_not_a_duplicate_of_its_own_duplicate(world):
    finding = world.submitted()
    copy = triage.finding_mark_duplicate(
        actor=world.coordinator, finding=world.submitted(), duplicate_of=finding.reference
    )
    with pytest.raises(ValidationFailed):
        triage.finding_mark_duplicate(
            actor=world.coordinator, finding=finding, duplicate_of=copy.reference
        )


@pytest.mark.parametrize("reference", ["FW-1999-0001", "", "draft"])
def test_the_original_must_be_a_finding_coordinators_see(world, reference):
    if reference == "draft":
        reference = world.file().reference  # a draft: coordinators do not see it
    with pytest.raises(ValidationFailed) as exc:
        triage.finding_mark_duplicate(
            actor=world.coordinator, finding=world.submitted(), duplicate_of=reference
        )
    assert "duplicate_of" in exc.value.detail


def test_the_lab_cannot_mark_its_finding_a_duplicate(world):
    original = world.submitted()
    with pytest.raises(NotAllowed):
        triage.finding_mark_duplicate(
            actor=world.lab_user, finding=world.submitted(), duplicate_of=original.reference
        )


def test_an_embargoed_finding_cannot_become_a_duplicate(world):
    original = world.submitted()
    with pytest.raises(Conflict):
        triage.finding_mark_duplicate(
            actor=world.coordinator, finding=world.embargoed(), duplicate_of=original.reference
        )


# --- Withdraw.


@pytest.mark.parametrize("state", [State.DRAFT, State.SUBMITTED, State.IN_TRIAGE, State.NEEDS_INFO])
def test_the_lab_withdraws_its_finding_with_a_reason(world, state):
    finding = triage.finding_withdraw(
        actor=world.lab_user, finding=finding_in(world, state), reason="Wrong model."
    )
    assert finding.state == State.WITHDRAWN
    assert AuditEvent.objects.get(finding=finding, action="finding.withdrawn").note == (
        "Wrong model."
    )
    assert not Delivery.objects.filter(cause__action="finding.withdrawn").exists()


def test_withdrawing_needs_a_reason(world):
    with pytest.raises(ValidationFailed):
        triage.finding_withdraw(actor=world.lab_user, finding=world.submitted(), reason=" ")


@pytest.mark.parametrize("actor", ["coordinator", "other_lab_user"])
def test_only_the_lab_withdraws(world, actor):
    with pytest.raises(NotAllowed):
        triage.finding_withdraw(actor=getattr(world, actor), finding=world.submitted(), reason="x")


@pytest.mark.parametrize("state", [State.EMBARGOED, State.REJECTED, State.WITHDRAWN])
def test_a_finding_past_triage_cannot_be_withdrawn(world, state):
    with pytest.raises(Conflict):
        triage.finding_withdraw(actor=world.lab_user, finding=finding_in(world, state), reason="x")


# --- Assign.


def _second_coordinator(world):
    user = UserFactory(email="second@cc.example")
    MembershipFactory(user=user, organization=world.center)
    return user


def test_a_coordinator_assigns_a_finding_to_another_and_it_is_audited(world):
    second = _second_coordinator(world)
    finding = triage.finding_assign(
        actor=world.coordinator, finding=world.submitted(), assignee=second
    )
    assert finding.assignee == second
    event = AuditEvent.objects.get(finding=finding, action="finding.assigned")
    assert event.actor == world.coordinator
    assert event.data == {"from": None, "to": "second@cc.example"}


def test_reassigning_and_unassigning_record_old_and_new(world):
    second = _second_coordinator(world)
    finding = triage.finding_assign(
        actor=world.coordinator, finding=world.submitted(), assignee=world.coordinator
    )
    triage.finding_assign(actor=world.coordinator, finding=finding, assignee=second)
    finding = triage.finding_assign(actor=second, finding=finding, assignee=None)
    assert finding.assignee is None
    changes = AuditEvent.objects.filter(finding=finding, action="finding.assigned")
    assert [e.data for e in changes] == [
        {"from": None, "to": "coord@cc.example"},
        {"from": "coord@cc.example", "to": "second@cc.example"},
        {"from": "second@cc.example", "to": None},
    ]


def test_assigning_the_same_coordinator_again_changes_nothing(world):
    finding = triage.finding_assign(
        actor=world.coordinator, finding=world.submitted(), assignee=world.coordinator
    )
    triage.finding_assign(actor=world.coordinator, finding=finding, assignee=world.coordinator)
    assert AuditEvent.objects.filter(finding=finding, action="finding.assigned").count() == 1


@pytest.mark.parametrize("assignee", ["lab_user", "defender_user", "inactive"])
def test_the_assignee_must_be_an_active_coordinator(world, assignee):
    if assignee == "inactive":
        user = _second_coordinator(world)
        user.is_active = False
        user.save()
    else:
        user = getattr(world, assignee)
    finding = world.submitted()
    with pytest.raises(ValidationFailed) as exc:
        triage.finding_assign(actor=world.coordinator, finding=finding, assignee=user)
    assert "assignee" in exc.value.detail
    finding.refresh_from_db()
    assert finding.assignee is None


def test_only_coordinators_assign(world):
    with pytest.raises(NotAllowed):
        triage.finding_assign(
            actor=world.lab_user, finding=world.submitted(), assignee=world.coordinator
        )


@pytest.mark.parametrize("state", [State.REJECTED, State.RELEASED])
def test_a_closed_finding_cannot_be_assigned(world, state):
    with pytest.raises(Conflict):
        triage.finding_assign(
            actor=world.coordinator, finding=finding_in(world, state), assignee=world.coordinator
        )


def test_assigning_tells_the_lab_nothing(world):
    finding = triage.finding_assign(
        actor=world.coordinator, finding=world.submitted(), assignee=world.coordinator
    )
    assert _triaged(finding) == []


# --- The email the lab gets.


def test_the_triage_email_is_thin(world):
    finding = needs_info(world, message=QUESTION)
    assert deliveries_dispatch() == 1
    (message,) = mail.outbox
    text = message.subject + message.body
    assert finding.reference in message.subject
    assert "TLP:AMBER+STRICT" in text
    assert f"/findings/{finding.reference}/" in message.body
    assert message.to == ["dev@lab.example"]
    for secret in ("SECRET-QUESTION", "EMBARGOED-DETAIL", "EMBARGOED-ACTION", finding.title):
        assert secret not in text


def test_no_triage_email_goes_to_other_organizations(world):
    OrganizationFactory(name="Unrelated", slug="unrelated")
    finding = needs_info(world)
    organizations = set(
        Delivery.objects.filter(finding=finding).values_list("organization__slug", flat=True)
    )
    assert organizations == {"example-lab"}
