"""services.credits: who may credit whom, who answers, and the audit trail."""

import pytest

from disclosure.errors import NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Credit
from disclosure.services.credits import credit_accept, credit_create, credit_decline


def test_a_credit_starts_pending_and_is_audited_with_who_and_what(world):
    finding = world.submitted()
    credit = credit_create(
        actor=world.lab_user, finding=finding, email=world.coordinator.email, type="coordinator"
    )
    assert (credit.status, credit.created_by, credit.answered_at) == (
        "pending",
        world.lab_user,
        None,
    )
    event = AuditEvent.objects.get(action="credit.created")
    assert event.data == {"credit": credit.pk, "user": "coord@cc.example", "type": "coordinator"}


def test_answering_records_the_change_and_answering_the_same_twice_changes_nothing(world):
    finding = world.submitted()
    credit = credit_create(
        actor=world.lab_user, finding=finding, email=world.coordinator.email, type="analyst"
    )
    credit_accept(actor=world.coordinator, credit=credit)
    credit_accept(actor=world.coordinator, credit=credit)
    credit = credit_decline(actor=world.coordinator, credit=credit)
    assert credit.status == Credit.Status.DECLINED
    events = AuditEvent.objects.filter(action__in=["credit.accepted", "credit.declined"])
    assert [(e.action, e.data["from"], e.data["to"]) for e in events] == [
        ("credit.accepted", "pending", "accepted"),
        ("credit.declined", "accepted", "declined"),
    ]


def test_a_coordinator_cannot_credit_on_a_draft_it_cannot_see(world):
    with pytest.raises(NotAllowed):
        credit_create(
            actor=world.coordinator, finding=world.file(), email=world.lab_user.email, type="finder"
        )


def test_nobody_answers_for_someone_else(world):
    finding = world.submitted()
    credit = credit_create(
        actor=world.lab_user, finding=finding, email=world.coordinator.email, type="analyst"
    )
    with pytest.raises(NotAllowed):
        credit_accept(actor=world.lab_user, credit=credit)


def test_an_inactive_user_cannot_be_credited(world):
    world.coordinator.is_active = False
    world.coordinator.save()
    with pytest.raises(ValidationFailed) as error:
        credit_create(
            actor=world.lab_user,
            finding=world.submitted(),
            email=world.coordinator.email,
            type="analyst",
        )
    assert "email" in error.value.detail
