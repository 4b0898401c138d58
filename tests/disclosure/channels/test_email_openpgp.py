"""The email channel over a real SMTP server on loopback: PGP/MIME to contacts with a key,
decrypted with real gpg as the recipient would; never plaintext where encryption is required;
SMTP replies mapped to permanent or temporary failures; one connection per batch."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import OpenPGPKey, User
from disclosure.models import Delivery
from disclosure.services.channels import DeliveryFailed
from disclosure.services.channels import email as email_channel
from disclosure.services.channels.site_key import site_key
from disclosure.services.notify import deliveries_dispatch
from tests.conftest import World
from tests.e2e.harness import LoopbackSMTP, Received
from tests.gpg import GnuPG

from ..outbox import RefusingMailbox, contact, enqueue, smtp_server

State = Delivery.State
EMBARGOED_CONTENT = (
    "EMBARGOED-DETAIL",
    "EMBARGOED-ACTION",
    "ckpt-2026-10",
    "Autonomous exploitation",
    "Frontier-1",
)


def upload_key(gnupg: GnuPG, user: User) -> str:
    """The user makes a key with gpg and uploads it through the API, as a contact would."""
    fpr = gnupg.generate(f"{user.full_name or 'Contact'} <{user.email}>")
    api = APIClient()
    api.force_authenticate(user)
    response = api.put("/api/me/openpgp-key/", {"armored": gnupg.export(fpr)}, format="json")
    assert response.status_code == 200, response.json()
    return fpr


def trust_site_key(gnupg: GnuPG, client: Any) -> str:
    """The recipient fetches the site's published key and imports it; returns its fingerprint."""
    response = client.get("/openpgp-key.asc")
    assert response.status_code == 200
    gnupg.import_key(response.content)
    return site_key().fingerprint


def _emails(**filters: Any) -> Any:
    return Delivery.objects.filter(channel=Delivery.Channel.EMAIL, **filters)


def mail_to(smtp: Any, user: User) -> list[Received]:
    return [r for r in smtp.received if r.rcpt_tos == (user.email,)]


def _encrypted_payload(received: Received) -> bytes:
    message = received.message
    assert message.get_content_type() == "multipart/encrypted"
    assert message.get_param("protocol") == "application/pgp-encrypted"
    control, payload = message.iter_parts()
    assert control.get_content_type() == "application/pgp-encrypted"
    assert control.get_content().strip() in {"Version: 1", b"Version: 1"}
    assert payload.get_content_type() == "application/octet-stream"
    data = payload.get_payload(decode=True)
    assert data.startswith(b"-----BEGIN PGP MESSAGE-----")
    return data


def test_mail_to_a_contact_with_a_key_is_signed_and_encrypted_and_decrypts_for_them(
    world: World, gnupg: GnuPG, client: Any, settings: Any
):
    recipient = world.defender_user
    upload_key(gnupg, recipient)
    site_fingerprint = trust_site_key(gnupg, client)
    with smtp_server(settings) as smtp:
        finding = world.embargoed()
        deliveries_dispatch()
    delivery = _emails(finding=finding, recipient=recipient).get()
    assert delivery.state == State.SENT
    (received,) = mail_to(smtp, recipient)  # (the lab hears of the acceptance too)
    assert received.rcpt_tos == (recipient.email,)

    # Outside: a generic subject with the TLP label and the reference, and nothing else.
    assert (
        received.subject == f"[Forewarn] [TLP:AMBER+STRICT] {finding.reference}: encrypted message"
    )
    assert received.message["Message-ID"] == delivery.message_id
    raw = received.message.as_string()
    assert f"/findings/{finding.reference}/" not in raw
    assert "Embargo end" not in raw

    # Inside, as the recipient reads it with gpg: a good signature by the site's key.
    result = gnupg.decrypt(_encrypted_payload(received))
    assert result.has("DECRYPTION_OKAY")
    assert result.has("GOODSIG")
    assert result.valid_signature_primary_fingerprint() == site_fingerprint
    inner = email.message_from_bytes(result.plaintext, policy=email.policy.default)
    assert inner.get_content_type() == "text/plain"
    assert inner.get_param("protected-headers") == "v1"
    assert inner["Subject"] == (
        f"[Forewarn] [TLP:AMBER+STRICT] {finding.reference}: "
        "you have been notified of an embargoed finding"
    )
    body = inner.get_content()
    assert body.startswith("TLP:AMBER+STRICT")
    assert finding.reference in body
    assert f"/findings/{finding.reference}/" in body
    assert "UTC" in body
    for secret in EMBARGOED_CONTENT:
        assert secret not in body
        assert secret not in raw


def test_a_released_finding_is_announced_as_tlp_clear_in_the_encrypted_mail(
    world: World, gnupg: GnuPG, client: Any, settings: Any
):
    upload_key(gnupg, world.defender_user)
    trust_site_key(gnupg, client)
    with smtp_server(settings) as smtp:
        finding = world.released()
        deliveries_dispatch()
    released = [r for r in mail_to(smtp, world.defender_user) if "TLP:CLEAR" in r.subject]
    assert [r.subject for r in released] == [
        f"[Forewarn] [TLP:CLEAR] {finding.reference}: encrypted message"
    ]
    inner = gnupg.decrypt(_encrypted_payload(released[0])).plaintext.decode()
    assert f"/advisories/{finding.reference}/" in inner


def test_where_encryption_is_required_a_keyless_contact_gets_no_mail_at_all(
    world: World, gnupg: GnuPG, settings: Any
):
    org = world.defender
    org.requires_encryption = True
    org.save(update_fields=["requires_encryption"])
    keyed = contact(org, "keyed@grid.example")
    keyless = contact(org, "keyless@grid.example")
    upload_key(gnupg, keyed)
    with smtp_server(settings) as smtp:
        cause = enqueue(world.submitted(), org)
        deliveries_dispatch()
    # Only the contact with a key got anything, and that encrypted.
    assert mail_to(smtp, keyless) == []
    (received,) = mail_to(smtp, keyed)
    assert received.message.get_content_type() == "multipart/encrypted"
    failed = _emails(cause=cause, recipient=keyless).get()
    assert (failed.state, failed.attempts, failed.last_status_code) == (State.FAILED, 1, None)
    assert failed.last_error == (
        "Not sent: Grid ISAC requires encrypted email and keyless@grid.example has no usable "
        "OpenPGP key (none was uploaded)."
    )
    assert User.objects.get(pk=keyless.pk).email_bouncing_at is None  # not a bounce
    assert _emails(cause=cause, recipient=keyed).get().state == State.SENT


def test_an_expired_key_is_no_key(world: World, gnupg: GnuPG, settings: Any):
    recipient = world.defender_user
    upload_key(gnupg, recipient)
    OpenPGPKey.objects.filter(user=recipient).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    with smtp_server(settings) as smtp:
        plain = enqueue(world.submitted(), world.defender)
        deliveries_dispatch()
        world.defender.requires_encryption = True
        world.defender.save(update_fields=["requires_encryption"])
        required = enqueue(world.submitted(), world.defender)
        deliveries_dispatch()
    # Not required: plain text, as for anyone without a key. Required: nothing is sent.
    (received,) = mail_to(smtp, recipient)
    assert received.message.get_content_type() == "text/plain"
    assert _emails(cause=plain).get().state == State.SENT
    failed = _emails(cause=required).get()
    assert failed.state == State.FAILED
    assert "(it expired)" in failed.last_error


def test_a_contact_without_a_key_gets_the_thin_plain_text_mail(world: World, settings: Any):
    with smtp_server(settings) as smtp:
        finding = world.embargoed()
        deliveries_dispatch()
    (received,) = mail_to(smtp, world.defender_user)
    assert received.message.get_content_type() == "text/plain"
    assert received.subject == (
        f"[Forewarn] [TLP:AMBER+STRICT] {finding.reference}: "
        "you have been notified of an embargoed finding"
    )
    assert received.body.startswith("TLP:AMBER+STRICT")
    delivery = _emails(finding=finding, recipient=world.defender_user).get()
    assert received.message["Message-ID"] == delivery.message_id
    for secret in EMBARGOED_CONTENT:
        assert secret not in received.decoded_text


# --- SMTP over one connection per batch, and its replies.


class CountingMailbox(RefusingMailbox):
    """Counts SMTP sessions (EHLO), and refuses some recipients with a chosen reply."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0
        self.replies: dict[str, str] = {}

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in self.replies:
            return self.replies[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextmanager
def counting_smtp(settings: Any) -> Iterator[CountingMailbox]:
    box = CountingMailbox()
    controller = LoopbackSMTP(box)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 10},
        }
    }
    try:
        yield box
    finally:
        controller.stop()


def _batch(world: World, count: int) -> list[Delivery]:
    org = world.defender
    for n in range(count):
        contact(org, f"contact{n}@grid.example")
    cause = enqueue(world.submitted(), org)
    return list(
        _emails(cause=cause).select_related("finding", "recipient", "organization").order_by("id")
    )


def test_a_batch_is_sent_over_one_smtp_connection(world: World, gnupg: GnuPG, settings: Any):
    batch = _batch(world, 6)
    upload_key(gnupg, batch[0].recipient)  # encrypted and plain mail share the connection
    with counting_smtp(settings) as smtp:
        results = email_channel.send_many(batch)
    assert results == {d.pk: None for d in batch}
    assert smtp.sessions == 1
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(d.recipient.email for d in batch)
    assert sorted(str(r.message["Message-ID"]) for r in smtp.received) == sorted(
        d.message_id for d in batch
    )


def test_smtp_refusals_are_permanent_for_5xx_and_temporary_for_4xx(world: World, settings: Any):
    batch = _batch(world, 3)
    gone, busy, fine = batch
    with counting_smtp(settings) as smtp:
        smtp.replies[gone.recipient.email] = "550 5.1.1 User unknown"
        smtp.replies[busy.recipient.email] = "450 4.2.1 Mailbox busy, try later"
        results = email_channel.send_many(batch)
    assert results[fine.pk] is None
    assert [r.rcpt_tos for r in smtp.received] == [(fine.recipient.email,)]
    permanent, temporary = results[gone.pk], results[busy.pk]
    assert isinstance(permanent, DeliveryFailed)
    assert (permanent.permanent, permanent.status_code) == (True, 550)
    assert "User unknown" in str(permanent)
    assert isinstance(temporary, DeliveryFailed)
    assert (temporary.permanent, temporary.status_code) == (False, 450)


def test_an_unreachable_server_fails_the_whole_batch_temporarily(world: World, settings: Any):
    batch = _batch(world, 2)
    with counting_smtp(settings):
        pass  # stopped: nothing listens on its port any more
    results = email_channel.send_many(batch)
    assert set(results) == {d.pk for d in batch}
    for failure in results.values():
        assert isinstance(failure, DeliveryFailed)
        assert not failure.permanent
        assert "Could not connect to the SMTP server" in str(failure)


def test_send_raises_what_send_many_reports(world: World, settings: Any):
    (delivery,) = _batch(world, 1)
    with counting_smtp(settings) as smtp:
        smtp.replies[delivery.recipient.email] = "550 5.1.1 User unknown"
        with pytest.raises(DeliveryFailed) as failed:
            email_channel.send(delivery)
        smtp.replies.clear()
        email_channel.send(delivery)  # sent: returns nothing
    assert failed.value.status_code == 550
    assert len(smtp.received) == 1


def test_headers_that_need_encoding_take_djangos_builder_and_arrive_intact(
    world: World, gnupg: GnuPG, client: Any, settings: Any
):
    settings.DEFAULT_FROM_EMAIL = "Forewärn Koordination <forewarn@localhost>"
    keyed = contact(world.defender, "keyed@grid.example")
    plain = contact(world.defender, "plain@grid.example")
    upload_key(gnupg, keyed)
    trust_site_key(gnupg, client)
    with smtp_server(settings) as smtp:
        enqueue(world.submitted(), world.defender)
        deliveries_dispatch()
    (encrypted,) = mail_to(smtp, keyed)
    (text,) = mail_to(smtp, plain)
    for received in (encrypted, text):
        assert str(received.message["From"]) == "Forewärn Koordination <forewarn@localhost>"
    assert text.message.get_content_type() == "text/plain"
    assert gnupg.decrypt(_encrypted_payload(encrypted)).has("GOODSIG")
