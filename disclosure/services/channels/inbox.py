"""The in-app inbox: a notification a user reads after logging in.

The outbox row is the message: services.notify writes inbox rows already SENT, so ``send``
has nothing to do. What changes later is whether the user has read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from ...errors import ValidationFailed
from ...models import Delivery
from ...selectors import findings_visible_to
from ..audit import audit_record
from . import DeliveryFailed


def send(delivery: Delivery) -> None:
    """Nothing leaves the database: the row is already in the recipient's inbox."""


def send_many(deliveries: Sequence[Delivery]) -> dict[int, DeliveryFailed | None]:
    return {delivery.pk: None for delivery in deliveries}


def _own_unread(actor: Any) -> Any:
    """The actor's unread items about findings the actor may still see (as the inbox shows
    them: selectors_delivery.inbox_of), so that the count marked read tells nothing more."""
    return Delivery.objects.filter(
        recipient_id=actor.pk,
        channel=Delivery.Channel.INBOX,
        read_at__isnull=True,
        finding__in=findings_visible_to(actor).values("pk"),
    )


@transaction.atomic
def inbox_mark_read(*, actor: Any, delivery: Delivery) -> Delivery:
    """Mark one of the actor's inbox items read (again is a no-op, not an error)."""
    if delivery.channel != Delivery.Channel.INBOX or delivery.recipient_id != actor.pk:
        # Callers look items up through selectors_delivery, which already 404s someone else's.
        raise ValidationFailed({"id": "Not an item of your inbox."})
    if delivery.read_at is not None:
        return delivery
    now = timezone.now()
    if _own_unread(actor).filter(pk=delivery.pk).update(read_at=now):
        audit_record(actor=actor, action="inbox.read", data={"delivery": delivery.pk})
    delivery.read_at = now
    return delivery


@transaction.atomic
def inbox_mark_all_read(*, actor: Any) -> int:
    """Mark every unread item of the actor's inbox read; returns how many."""
    marked = _own_unread(actor).update(read_at=timezone.now())
    if marked:
        audit_record(actor=actor, action="inbox.read_all", data={"items": marked})
    return marked
