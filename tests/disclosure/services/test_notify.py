from django.core import mail

from disclosure.models import Delivery
from disclosure.services.notify import deliveries_due, deliveries_enqueue, delivery_send

EMBARGOED_CONTENT = (
    "EMBARGOED-DETAIL",
    "EMBARGOED-ACTION",
    "ckpt-2026-10",
    "Autonomous exploitation",
)


def test_enqueueing_twice_writes_each_delivery_once(world):
    finding = world.embargoed()
    before = Delivery.objects.count()
    cause = Delivery.objects.filter(finding=finding, event=Delivery.Event.NOTIFIED).first().cause
    deliveries_enqueue(
        finding=finding, event=Delivery.Event.NOTIFIED, organizations=[world.defender], cause=cause
    )
    assert Delivery.objects.count() == before


def test_notification_email_is_thin(world):
    finding = world.embargoed()
    delivery = Delivery.objects.get(finding=finding, event=Delivery.Event.NOTIFIED)
    assert delivery_send(delivery_id=delivery.pk) is True
    (message,) = mail.outbox
    text = message.subject + message.body
    assert finding.reference in message.subject
    assert "UTC" in message.body
    assert f"/findings/{finding.reference}/" in message.body
    for secret in EMBARGOED_CONTENT:
        assert secret not in text
    assert message.extra_headers["Message-ID"] == delivery.message_id


def test_a_sent_delivery_is_not_sent_again(world):
    finding = world.embargoed()
    delivery = Delivery.objects.get(finding=finding, event=Delivery.Event.NOTIFIED)
    assert delivery_send(delivery_id=delivery.pk) is True
    assert delivery_send(delivery_id=delivery.pk) is False
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (Delivery.State.SENT, 1)


def test_a_failed_send_is_retried_later_with_the_error_kept(world, monkeypatch):
    finding = world.embargoed()
    delivery = Delivery.objects.get(finding=finding, event=Delivery.Event.NOTIFIED)

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    assert delivery_send(delivery_id=delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert "smtp down" in delivery.last_error
    assert delivery.pk not in deliveries_due()  # backed off


def test_a_claim_abandoned_by_a_dead_worker_is_due_again(world):
    from datetime import timedelta

    from django.utils import timezone

    finding = world.embargoed()
    delivery = Delivery.objects.get(finding=finding, event=Delivery.Event.NOTIFIED)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.SENDING, claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert delivery.pk in deliveries_due()
    assert delivery_send(delivery_id=delivery.pk) is True


def test_released_email_links_to_the_public_advisory(world):
    finding = world.released()
    delivery = Delivery.objects.filter(finding=finding, event=Delivery.Event.RELEASED).first()
    delivery_send(delivery_id=delivery.pk)
    assert f"/advisories/{finding.reference}/" in mail.outbox[-1].body
