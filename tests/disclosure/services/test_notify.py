"""The outbox fan-out (deliveries_enqueue) and sending by the dispatcher, over locmem mail."""

from __future__ import annotations

from django.core import mail
from django.utils import timezone

from disclosure.models import Delivery
from disclosure.services import notify
from disclosure.services.notify import deliveries_dispatch, deliveries_enqueue
from tests.factories import MembershipFactory, OrganizationFactory

from ..outbox import by_channel, cause_for, contact, endpoint, enqueue, member

Channel = Delivery.Channel
State = Delivery.State
EMBARGOED_CONTENT = (
    "EMBARGOED-DETAIL",
    "EMBARGOED-ACTION",
    "ckpt-2026-10",
    "Autonomous exploitation",
)


# --- Fan-out.


def test_fan_out_inbox_to_every_active_member_email_to_contacts_webhook_per_active_endpoint(
    world,
):
    org = OrganizationFactory(slug="power-cert")
    primary = contact(org, "primary@power.example")
    security = contact(org, "security@power.example", "security")
    plain = member(org, "plain@power.example")
    member(org, "left@power.example", is_active=False)
    live = endpoint(org, "http://127.0.0.1:9/live", by=primary)
    endpoint(org, "http://127.0.0.1:9/off", by=primary, disabled=True)

    cause = enqueue(world.submitted(), org)

    rows = Delivery.objects.filter(cause=cause)
    assert by_channel(cause=cause) == {"inbox": 3, "email": 2, "webhook": 1}
    inbox = rows.filter(channel=Channel.INBOX)
    assert set(inbox.values_list("recipient", flat=True)) == {primary.pk, security.pk, plain.pk}
    assert set(inbox.values_list("state", flat=True)) == {State.SENT}
    assert not inbox.filter(sent_at__isnull=True).exists()
    emails = rows.filter(channel=Channel.EMAIL)
    assert set(emails.values_list("recipient", flat=True)) == {primary.pk, security.pk}
    assert set(emails.values_list("state", flat=True)) == {State.PENDING}
    (hook,) = rows.filter(channel=Channel.WEBHOOK)
    assert (hook.endpoint_id, hook.recipient_id, hook.state) == (live.pk, None, State.PENDING)
    assert set(rows.values_list("organization", flat=True)) == {org.pk}


def test_an_organization_without_contacts_gets_email_to_every_active_member(world):
    cause = enqueue(world.submitted(), world.defender)
    emails = Delivery.objects.filter(cause=cause, channel=Channel.EMAIL)
    assert list(emails.values_list("recipient", flat=True)) == [world.defender_user.pk]


def test_enqueueing_the_same_cause_again_writes_nothing_new(world):
    org = OrganizationFactory()
    owner = contact(org, "c@org.example")
    endpoint(org, "http://127.0.0.1:9/hook", by=owner)
    finding = world.submitted()
    cause = enqueue(finding, org, world.defender)
    before = by_channel(cause=cause)
    assert before == {"inbox": 2, "email": 2, "webhook": 1}

    for _ in range(2):
        deliveries_enqueue(
            finding=finding,
            event=Delivery.Event.NOTIFIED,
            organizations=[org, world.defender],
            cause=cause,
        )
    assert by_channel(cause=cause) == before


def test_a_member_of_two_notified_organizations_hears_once_per_channel(world):
    both = member(world.other_defender, "both@example.org")
    MembershipFactory(user=both, organization=world.defender)
    cause = enqueue(world.submitted(), world.defender, world.other_defender)
    rows = Delivery.objects.filter(cause=cause, recipient=both)
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "inbox"]


def test_no_organizations_writes_nothing(world):
    finding = world.submitted()
    assert (
        deliveries_enqueue(
            finding=finding, event="finding.notified", organizations=[], cause=cause_for(finding)
        )
        == 0
    )


def test_after_commit_a_few_dispatcher_tasks_are_queued_not_one_per_row(
    world, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from disclosure import tasks

    settings.DELIVERY_BATCH_SIZE = 2
    settings.DELIVERY_DISPATCH_TASKS = 3
    queued: list[None] = []
    monkeypatch.setattr(tasks.dispatch_deliveries, "delay", lambda: queued.append(None))
    org = OrganizationFactory()
    for n in range(10):
        contact(org, f"c{n}@org.example")
    finding = world.submitted()

    with django_capture_on_commit_callbacks(execute=True):
        enqueue(finding, org)  # 10 emails to send: 5 batches of 2, at most 3 tasks
    assert len(queued) == 3

    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(finding, world.defender)  # one email
    assert len(queued) == 1


def test_inbox_only_fan_out_queues_no_task(world, monkeypatch, django_capture_on_commit_callbacks):
    from disclosure import tasks

    queued: list[None] = []
    monkeypatch.setattr(tasks.dispatch_deliveries, "delay", lambda: queued.append(None))
    org = OrganizationFactory()
    member(org, "someone@org.example", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(world.submitted(), org)
    assert queued == []


def test_a_broker_that_is_down_loses_nothing(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    from disclosure import tasks

    def down() -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.dispatch_deliveries, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        cause = enqueue(world.submitted(), world.defender)
    email = Delivery.objects.get(cause=cause, channel=Channel.EMAIL)
    assert email.pk in notify.deliveries_due()  # the sweep will find it
    assert deliveries_dispatch() >= 1
    email.refresh_from_db()
    assert email.state == State.SENT


# --- Sending (locmem mail).


def test_notification_email_is_thin(world):
    finding = world.embargoed()
    delivery = Delivery.objects.get(
        finding=finding, event=Delivery.Event.NOTIFIED, channel=Channel.EMAIL
    )
    deliveries_dispatch()
    (message,) = [m for m in mail.outbox if m.to == [world.defender_user.email]]
    text = message.subject + message.body
    assert finding.reference in message.subject
    assert "UTC" in message.body
    assert f"/findings/{finding.reference}/" in message.body
    for secret in EMBARGOED_CONTENT:
        assert secret not in text
    assert message.extra_headers["Message-ID"] == delivery.message_id


def test_the_dispatcher_sends_every_due_row_once_and_marks_it_sent(world):
    finding = world.embargoed()
    assert deliveries_dispatch() == 2  # the defender's notice and the lab's triage email
    assert deliveries_dispatch() == 0
    assert sorted(m.to[0] for m in mail.outbox) == [
        world.defender_user.email,
        world.lab_user.email,
    ]
    rows = Delivery.objects.filter(finding=finding, channel=Channel.EMAIL)
    assert set(rows.values_list("state", "attempts", "last_error")) == {(State.SENT, 1, "")}
    assert not rows.filter(sent_at__isnull=True).exists()
    assert not rows.filter(claimed_until__isnull=False).exists()


def test_rows_not_yet_due_wait(world):
    finding = world.embargoed()
    Delivery.objects.filter(finding=finding).update(
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=5)
    )
    assert deliveries_dispatch() == 0
    assert mail.outbox == []


def test_released_email_links_to_the_public_advisory(world):
    finding = world.released()
    deliveries_dispatch()
    released = [m for m in mail.outbox if "released" in m.subject]
    assert released
    assert all(f"/advisories/{finding.reference}/" in m.body for m in released)
