"""Notifications leave through the outbox: rows written in the state change's transaction,
sent by workers after commit. Emails are thin: a reference, a date and a link, no detail."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization

from ..models import AuditEvent, Delivery, Finding

logger = logging.getLogger(__name__)

Event = Delivery.Event
SUBJECTS: dict[str, str] = {
    Event.NOTIFIED: "[Forewarn] [{tlp}] {ref}: you have been notified of an embargoed finding",
    Event.RELEASED: "[Forewarn] [TLP:CLEAR] {ref} has been released",
    Event.TRIAGED: "[Forewarn] [{tlp}] {ref}: the coordinators have updated your finding",
}
URL_NAMES: dict[str, str] = {
    Event.NOTIFIED: "finding-detail",
    Event.RELEASED: "advisory-detail",
    Event.TRIAGED: "finding-detail",
}
TEMPLATES: dict[str, str] = {
    Event.NOTIFIED: "emails/finding_notified.txt",
    Event.RELEASED: "emails/finding_released.txt",
    Event.TRIAGED: "emails/finding_triaged.txt",
}


def deliveries_enqueue(
    *,
    finding: Finding,
    event: str,
    organizations: Iterable[Organization],
    cause: AuditEvent,
) -> list[int]:
    """Write one outbox row per active member of each organization; send after commit.

    Rows that exist already (same cause, recipient, channel) are left alone, so enqueueing
    the same change twice never sends twice.
    """
    now = timezone.now()
    members = (
        Membership.objects.filter(organization__in=list(organizations), user__is_active=True)
        .select_related("user")
        .order_by("organization_id", "user_id")
    )
    rows = [
        Delivery(
            event=event,
            cause=cause,
            finding=finding,
            recipient_id=m.user_id,
            organization_id=m.organization_id,
            next_attempt_at=now,
        )
        for m in members
    ]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        Delivery.objects.filter(cause=cause, state=Delivery.State.PENDING).values_list(
            "pk", flat=True
        )
    )
    transaction.on_commit(lambda: _dispatch(ids))
    return ids


def _dispatch(ids: list[int]) -> None:
    from ..tasks import send_delivery

    for pk in ids:
        try:
            send_delivery.delay(pk)
        except Exception:  # the broker is down: the periodic sweep sends these later
            logger.exception("Could not queue delivery %s; the sweep will retry", pk)


def deliveries_due(*, limit: int = 500) -> list[int]:
    """Pending rows whose time has come, and rows whose worker died holding them."""
    now = timezone.now()
    return list(
        Delivery.objects.filter(
            Q(state=Delivery.State.PENDING, next_attempt_at__lte=now)
            | Q(state=Delivery.State.SENDING, claimed_until__lt=now)
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def _claim(pk: int) -> bool:
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(pk=pk)
        .filter(
            Q(state=Delivery.State.PENDING, next_attempt_at__lte=now)
            | Q(state=Delivery.State.SENDING, claimed_until__lt=now)
        )
        .update(
            state=Delivery.State.SENDING,
            claimed_until=now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS),
            attempts=F("attempts") + 1,
        )
    )
    return claimed == 1


def _message(delivery: Delivery) -> EmailMessage:
    finding = delivery.finding
    context = {
        "reference": finding.reference,
        "embargo_ends_at": finding.embargo_ends_at,
        "organization": delivery.organization.name,
        "state": finding.get_state_display(),
        "tlp": finding.get_tlp_display(),
        "url": settings.SITE_URL + reverse(URL_NAMES[delivery.event], args=[finding.reference]),
        "login_url": settings.SITE_URL + reverse("login"),
    }
    body = render_to_string(TEMPLATES[delivery.event], context)
    return EmailMessage(
        subject=SUBJECTS[delivery.event].format(
            ref=finding.reference, tlp=finding.get_tlp_display()
        ),
        body=body,
        to=[delivery.recipient.email],
        headers={"Message-ID": delivery.message_id, "X-Forewarn-Reference": finding.reference},
    )


def delivery_send(*, delivery_id: int) -> bool:
    """Claim the row, send it, mark it sent. Returns False when someone else has it or it failed.

    No transaction spans the network call: the claim is a short conditional UPDATE, and a worker
    that dies while holding a claim loses it when the lease runs out.
    """
    if not _claim(delivery_id):
        return False
    delivery = Delivery.objects.select_related("finding", "recipient", "organization").get(
        pk=delivery_id
    )
    try:
        _message(delivery).send()
    except Exception as exc:
        logger.warning("Delivery %s failed: %s", delivery_id, exc)
        final = delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS
        backoff = timedelta(seconds=min(3600, 30 * 2 ** (delivery.attempts - 1)))
        Delivery.objects.filter(pk=delivery_id, state=Delivery.State.SENDING).update(
            state=Delivery.State.FAILED if final else Delivery.State.PENDING,
            next_attempt_at=timezone.now() + backoff,
            claimed_until=None,
            last_error=str(exc)[:2000],
        )
        return False
    Delivery.objects.filter(pk=delivery_id, state=Delivery.State.SENDING).update(
        state=Delivery.State.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
    )
    return True
