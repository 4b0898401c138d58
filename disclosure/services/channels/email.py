"""Email: thin notifications over SMTP, encrypted and signed with OpenPGP where possible.

- A recipient with a usable OpenPGP key (accounts.openpgp) gets PGP/MIME (RFC 3156):
  ``multipart/encrypted`` whose second part is one OpenPGP message, signed with the site key
  and encrypted to the recipient's key (RFC 3156 section 6.2), holding the whole text/plain
  MIME entity. Its outer subject says only the TLP label and the reference; the full subject
  travels inside as a protected header (``protected-headers="v1"``).
- A recipient without one gets no email at all when their organization requires encryption
  (the delivery fails permanently, saying why); otherwise the plain text message, unsigned.
  Plain text is not clearsigned: inline signatures are mangled by relays that add footers and
  show as noise to most readers, and sender authenticity of plain mail is the relay's DKIM.
  Whoever wants signed mail uploads a key and gets it signed and encrypted.
- Messages carry only the reference, the TLP label, dates and links; never embargoed detail.
- ``send_many`` sends a batch over one SMTP connection (reopened if the server drops it).
  SMTP 5xx refusals of the recipient or the message are permanent failures with the reply
  code (the dispatcher then flags the address as bouncing); 4xx replies and connection
  trouble are temporary.
"""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pysequoia
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, mailers
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import OpenPGPKey
from accounts.openpgp import fingerprint_display, openpgp_key_usable

from ... import policies
from ...models import Delivery, Embargo, Finding
from . import DeliveryFailed, OnSent
from .mime import PGPMIMEMessage, PlainTextMessage, text_entity
from .site_key import site_key

Event = Delivery.Event
SUBJECTS: dict[str, str] = {
    Event.NOTIFIED: "[Forewarn] [{tlp}] {ref}: you have been notified of an embargoed finding",
    Event.RELEASED: "[Forewarn] [{tlp}] {ref} has been released",
    Event.TRIAGED: "[Forewarn] [{tlp}] {ref}: the coordinators have updated your finding",
    Event.REMINDER: "[Forewarn] [{tlp}] {ref}: reminder to acknowledge an embargoed finding",
    Event.EMBARGO_CHANGED: "[Forewarn] [{tlp}] {ref}: the embargo has changed",
}
# Encrypted mail: the subject travels in the clear, so it says no more than the label and the
# reference; the one above is inside, as a protected header.
ENCRYPTED_SUBJECT = "[Forewarn] [{tlp}] {ref}: encrypted message"
URL_NAMES: dict[str, str] = {
    Event.NOTIFIED: "finding-detail",
    Event.RELEASED: "advisory-detail",
    Event.TRIAGED: "finding-detail",
    Event.REMINDER: "finding-detail",
    Event.EMBARGO_CHANGED: "finding-timeline",
}
TEMPLATES: dict[str, str] = {
    Event.NOTIFIED: "emails/finding_notified.txt",
    Event.RELEASED: "emails/finding_released.txt",
    Event.TRIAGED: "emails/finding_triaged.txt",
    Event.REMINDER: "emails/finding_reminder.txt",
    Event.EMBARGO_CHANGED: "emails/embargo_changed.txt",
}


def _address(delivery: Delivery) -> str:
    if delivery.recipient is None:  # the model's check constraint: email rows have one
        raise DeliveryFailed("An email delivery without a recipient.", permanent=True)
    return delivery.recipient.email


def _tlp(delivery: Delivery) -> str:
    # A release says TLP:CLEAR (the advisory is public); an organization brought in by a
    # release stage gets that stage's label.
    return str(Finding.Tlp(policies.tlp_for_delivery(delivery)).label)


def _body(delivery: Delivery) -> str:
    finding = delivery.finding
    context = {
        "reference": finding.reference,
        "embargo_ends_at": finding.embargo_ends_at,
        "organization": delivery.organization.name,
        "state": finding.get_state_display(),
        "tlp": _tlp(delivery),
        "url": settings.SITE_URL + reverse(URL_NAMES[delivery.event], args=[finding.reference]),
        "login_url": settings.SITE_URL + reverse("login"),
    }
    if delivery.event == Event.EMBARGO_CHANGED:  # a proposal's end is on the embargo only
        context["embargo"] = Embargo.objects.filter(finding_id=finding.pk).first()
    return render_to_string(TEMPLATES[delivery.event], context)


def _encrypt(delivery: Delivery, key: OpenPGPKey, subject: str, body: str) -> bytes:
    """The text/plain entity, with the real subject as a protected header, signed with the
    site key and encrypted to ``key``, ASCII-armored."""
    inner = text_entity(
        body,
        {
            "Subject": subject,
            "From": settings.DEFAULT_FROM_EMAIL,
            "To": _address(delivery),
            "Message-ID": delivery.message_id,
        },
        params={"protected-headers": "v1"},
    )
    try:
        signer = site_key().signer
    except (ImproperlyConfigured, OSError) as exc:  # ours to fix; retry once it is
        raise DeliveryFailed(f"The site's OpenPGP signing key is not usable: {exc}") from exc
    try:
        cert = pysequoia.Cert.from_bytes(key.armored.encode())
        return bytes(pysequoia.encrypt(inner, recipients=[cert], signer=signer))
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or ["unknown error"])[0]
        raise DeliveryFailed(
            f"Could not encrypt to the recipient's OpenPGP key "
            f"{fingerprint_display(key.fingerprint)}: {reason}",
            permanent=True,
        ) from exc


def message_build(delivery: Delivery, *, key: OpenPGPKey | None, now: datetime) -> EmailMessage:
    """The email for one delivery; raises DeliveryFailed when it must not be sent."""
    if delivery.event not in TEMPLATES:
        raise DeliveryFailed(f"No email is defined for {delivery.event}.", permanent=True)
    finding = delivery.finding
    tlp = _tlp(delivery)
    subject = SUBJECTS[delivery.event].format(ref=finding.reference, tlp=tlp)
    headers = {"Message-ID": delivery.message_id, "X-Forewarn-Reference": finding.reference}
    to = [_address(delivery)]
    if key is not None and openpgp_key_usable(key, now=now):
        ciphertext = _encrypt(delivery, key, subject, _body(delivery))
        return PGPMIMEMessage(
            ciphertext=ciphertext,
            subject=ENCRYPTED_SUBJECT.format(ref=finding.reference, tlp=tlp),
            to=to,
            headers=headers,
        )
    if delivery.organization.requires_encryption:
        why = "it expired" if key is not None else "none was uploaded"
        raise DeliveryFailed(
            f"Not sent: {delivery.organization.name} requires encrypted email and "
            f"{to[0]} has no usable OpenPGP key ({why}).",
            permanent=True,
        )
    return PlainTextMessage(subject=subject, body=_body(delivery), to=to, headers=headers)


def _smtp_failure(exc: Exception, address: str) -> DeliveryFailed:
    """Map what smtplib raised to a DeliveryFailed (SMTPException is an OSError)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (0, b""))
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return DeliveryFailed(
            f"The SMTP server refused {address}: {code} {text}",
            permanent=500 <= code < 600,
            status_code=code or None,
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        # Our From address: a configuration problem, not the recipient's; retry when fixed.
        return DeliveryFailed(
            f"The SMTP server refused the sender {exc.sender}: {exc.smtp_code} "
            f"{exc.smtp_error.decode(errors='replace')}",
            status_code=exc.smtp_code,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return DeliveryFailed(
            f"The SMTP server refused the message to {address}: {code} {text}",
            permanent=500 <= code < 600,
            status_code=code,
        )
    if isinstance(exc, ValueError):  # Django's address check
        return DeliveryFailed(f"Invalid recipient address: {exc}", permanent=True)
    return DeliveryFailed(f"SMTP connection failed: {type(exc).__name__}: {exc}")


def _transmit(
    messages: list[tuple[Delivery, EmailMessage]], on_sent: OnSent | None = None
) -> dict[int, DeliveryFailed | None]:
    """Send each message over one connection; reconnect once per dropped connection."""
    results: dict[int, DeliveryFailed | None] = {}
    mailer = mailers.default
    connected = False
    try:
        for index, (delivery, message) in enumerate(messages):
            if not connected:
                try:
                    mailer.open()
                    connected = True
                except OSError as exc:
                    failure = DeliveryFailed(f"Could not connect to the SMTP server: {exc}")
                    for rest, _ in messages[index:]:
                        results[rest.pk] = failure
                    break
            try:
                mailer.send_messages([message])
                results[delivery.pk] = None
                if on_sent is not None:
                    on_sent(delivery.pk)
            except (OSError, ValueError) as exc:
                results[delivery.pk] = _smtp_failure(exc, _address(delivery))
                if isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(
                    exc, smtplib.SMTPException
                ):
                    _close(mailer)  # the connection is gone or in an unknown state
                    connected = False
    finally:
        _close(mailer)
    return results


def _close(mailer: Any) -> None:
    # Every result is recorded already; a failed QUIT changes none of them.
    with contextlib.suppress(OSError):
        mailer.close()


def send_many(
    deliveries: Sequence[Delivery], on_sent: OnSent | None = None
) -> dict[int, DeliveryFailed | None]:
    """Send a batch of email deliveries over one SMTP connection; None means sent.

    ``on_sent(id)`` is called as soon as the server has taken each message.

    The deliveries need their finding, recipient and organization loaded (select_related);
    the recipients' keys are read here in one query.
    """
    now = timezone.now()
    keys = {
        key.user_id: key
        for key in OpenPGPKey.objects.filter(user_id__in={d.recipient_id for d in deliveries})
    }
    results: dict[int, DeliveryFailed | None] = {}
    messages: list[tuple[Delivery, EmailMessage]] = []
    for delivery in deliveries:
        try:
            messages.append(
                (
                    delivery,
                    message_build(delivery, key=keys.get(delivery.recipient_id or 0), now=now),
                )
            )
        except DeliveryFailed as failure:
            results[delivery.pk] = failure
    if messages:
        results.update(_transmit(messages, on_sent))
    return results


def send(delivery: Delivery) -> None:
    """Send one delivery (a batch of one); raises DeliveryFailed if it was not sent."""
    failure = send_many([delivery]).get(delivery.pk)
    if failure is not None:
        raise failure
