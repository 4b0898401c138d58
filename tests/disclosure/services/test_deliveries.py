"""A coordinator's manual retry of a delivery, and the inbox's read state."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Delivery
from disclosure.services.channels.inbox import inbox_mark_all_read, inbox_mark_read
from disclosure.services.deliveries import delivery_retry
from disclosure.services.notify import deliveries_dispatch
from tests.factories import OrganizationFactory

from ..outbox import contact, endpoint, enqueue
from ..publication import released_factory

Channel = Delivery.Channel
State = Delivery.State


def _failed_email(world) -> Delivery:
    cause = enqueue(world.embargoed(), world.defender)
    row = Delivery.objects.get(cause=cause, channel=Channel.EMAIL)
    # The notices of the embargo itself are out of the way: this one is the only one due.
    Delivery.objects.exclude(pk=row.pk).update(state=State.SENT)
    Delivery.objects.filter(pk=row.pk).update(
        state=State.FAILED, attempts=10, last_error="550 User unknown", last_status_code=550
    )
    row.refresh_from_db()
    return row


def test_a_coordinator_retries_a_failed_delivery_now_with_a_fresh_schedule(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    from disclosure import tasks

    queued: list[None] = []
    monkeypatch.setattr(tasks.dispatch_deliveries, "delay", lambda: queued.append(None))
    row = _failed_email(world)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        delivery_retry(actor=world.coordinator, delivery=row)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.PENDING, 0)
    assert before <= row.next_attempt_at <= timezone.now()
    assert queued == [None]  # sent at once, not at the next sweep
    event = AuditEvent.objects.get(action="delivery.retried")
    assert (event.actor, event.from_state, event.to_state, event.finding) == (
        world.coordinator,
        State.FAILED,
        State.PENDING,
        None,
    )
    assert event.data["delivery"] == row.pk
    assert event.data["attempts_before"] == 10

    deliveries_dispatch()
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.SENT, 1)
    assert [m.to for m in mail.outbox] == [[world.defender_user.email]]


@pytest.mark.parametrize("who", ["lab_user", "defender_user", "other_defender_user"])
def test_only_coordinators_retry(world, who):
    row = _failed_email(world)
    with pytest.raises(NotAllowed):
        delivery_retry(actor=getattr(world, who), delivery=row)
    row.refresh_from_db()
    assert row.state == State.FAILED
    assert not AuditEvent.objects.filter(action="delivery.retried").exists()


def test_a_sent_or_sending_delivery_or_an_inbox_item_is_not_retried(world):
    row = _failed_email(world)
    for state in (State.SENT, State.SENDING):
        Delivery.objects.filter(pk=row.pk).update(state=state)
        with pytest.raises(Conflict):
            delivery_retry(actor=world.coordinator, delivery=row)
    inbox = Delivery.objects.get(cause=row.cause, channel=Channel.INBOX)
    with pytest.raises(Conflict):
        delivery_retry(actor=world.coordinator, delivery=inbox)


def test_a_webhook_to_a_disabled_endpoint_is_not_retried(world):
    hook = endpoint(world.defender, "http://127.0.0.1:9/x", by=contact(world.defender, "a@x.org"))
    cause = enqueue(world.submitted(), world.defender)
    row = Delivery.objects.get(cause=cause, channel=Channel.WEBHOOK)
    Delivery.objects.filter(pk=row.pk).update(state=State.FAILED)
    hook.disabled_at = timezone.now()
    hook.save(update_fields=["disabled_at"])
    with pytest.raises(Conflict, match="disabled"):
        delivery_retry(actor=world.coordinator, delivery=row)


def test_a_notice_to_an_organization_removed_from_the_audience_is_not_retried(world):
    from disclosure.services.audience import audience_add, audience_remove

    row = _failed_email(world)
    # Another organization stays: an audience is never left empty.
    audience_add(
        actor=world.coordinator, finding=row.finding, organizations=[OrganizationFactory()]
    )
    audience_remove(
        actor=world.coordinator,
        finding=row.finding,
        organization=world.defender,
        reason="Not affected after all",
    )
    with pytest.raises(Conflict, match="removed from the finding's audience"):
        delivery_retry(actor=world.coordinator, delivery=row)
    row.refresh_from_db()
    assert row.state == State.FAILED


# --- The inbox's read state.


def _inbox(world, user) -> Delivery:
    """An inbox item about a finding the defender sees (a released one)."""
    cause = enqueue(released_factory(), world.defender)
    return Delivery.objects.get(cause=cause, channel=Channel.INBOX, recipient=user)


def test_marking_an_item_read_is_audited_once(world):
    item = _inbox(world, world.defender_user)
    inbox_mark_read(actor=world.defender_user, delivery=item)
    inbox_mark_read(actor=world.defender_user, delivery=item)
    item.refresh_from_db()
    assert item.read_at is not None
    assert AuditEvent.objects.filter(action="inbox.read").count() == 1


def test_nobody_marks_someone_elses_item(world):
    item = _inbox(world, world.defender_user)
    with pytest.raises(ValidationFailed):
        inbox_mark_read(actor=world.other_defender_user, delivery=item)
    item.refresh_from_db()
    assert item.read_at is None


def test_mark_all_read_touches_only_the_actors_unread_items(world):
    mine = [_inbox(world, world.defender_user) for _ in range(3)]
    theirs = enqueue(world.submitted(), world.other_defender)
    assert inbox_mark_all_read(actor=world.defender_user) == 3
    assert inbox_mark_all_read(actor=world.defender_user) == 0
    assert not Delivery.objects.filter(pk__in=[i.pk for i in mine], read_at=None).exists()
    assert Delivery.objects.filter(cause=theirs, channel=Channel.INBOX, read_at=None).count() == 1
    assert AuditEvent.objects.filter(action="inbox.read_all").count() == 1
