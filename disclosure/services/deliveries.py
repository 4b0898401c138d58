"""What people and the dispatcher change about deliveries besides sending them: a
coordinator's manual retry, and the bounce flag on a contact whose mail is refused."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from .. import policies
from ..errors import Conflict, NotAllowed
from ..models import Delivery, FindingRecipient
from .audit import audit_record

State = Delivery.State
RETRYABLE = frozenset({State.FAILED, State.PENDING})
BOUNCE_REASON_MAX_LENGTH = 500


# Notices meant for the finding's audience only: not to be retried for an organization removed
# from it meanwhile.
AUDIENCE_EVENTS = frozenset({Delivery.Event.NOTIFIED, Delivery.Event.REMINDER})


@transaction.atomic
def delivery_retry(*, actor: Any, delivery: Delivery) -> Delivery:
    """Send a failed (or waiting) delivery again now, with a fresh retry schedule.

    Refused (409) for one that is being sent or was sent, for an inbox row (always delivered)
    and for a webhook whose endpoint is disabled (re-enable or replace the endpoint first).
    """
    if not policies.can_manage_deliveries(actor):
        raise NotAllowed("Only coordinators can retry deliveries.")
    row = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .get(pk=delivery.pk)
    )
    if row.channel == Delivery.Channel.INBOX:
        raise Conflict("In-app inbox notifications are delivered when written; nothing to retry.")
    if row.state not in RETRYABLE:
        raise Conflict(
            f"This delivery is {row.get_state_display().lower()}; only failed or waiting "
            "deliveries can be retried."
        )
    if row.endpoint is not None and not row.endpoint.is_active:
        raise Conflict(
            "The webhook endpoint is disabled; its organization must enable or replace it first."
        )
    if (
        row.event in AUDIENCE_EVENTS
        and not FindingRecipient.objects.filter(
            finding_id=row.finding_id, organization_id=row.organization_id
        ).exists()
    ):
        raise Conflict("The organization was removed from the finding's audience since.")
    old_state, old_attempts = row.state, row.attempts
    row.state = State.PENDING
    row.attempts = 0
    row.next_attempt_at = timezone.now()
    row.claimed_until = None
    row.save(update_fields=["state", "attempts", "next_attempt_at", "claimed_until"])
    # The finding stays out of it: the lab reads the finding's trail, and who is told what is
    # not the lab's to know.
    audit_record(
        actor=actor,
        action="delivery.retried",
        from_state=old_state,
        to_state=row.state,
        data={
            "delivery": row.pk,
            "finding": row.finding_id,
            "channel": row.channel,
            "attempts_before": old_attempts,
        },
    )
    from .notify import deliveries_kick

    transaction.on_commit(deliveries_kick)
    return row


@transaction.atomic
def email_bounce_flag(*, actor: Any, user: User, reason: str) -> bool:
    """Flag the user's address as bouncing (a permanent SMTP refusal). True if newly flagged.

    Coordinators see the flag on the deliveries page; a later successful send clears it.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.email_bouncing_at is not None:
        return False
    locked.email_bouncing_at = timezone.now()
    locked.email_bounce_reason = reason[:BOUNCE_REASON_MAX_LENGTH]
    locked.save(update_fields=["email_bouncing_at", "email_bounce_reason"])
    user.email_bouncing_at, user.email_bounce_reason = (
        locked.email_bouncing_at,
        locked.email_bounce_reason,
    )
    audit_record(
        actor=actor,
        action="user.email_bouncing",
        note=locked.email_bounce_reason,
        data={"user": locked.pk},
    )
    return True


@transaction.atomic
def email_bounce_clear(*, actor: Any, user: User) -> bool:
    """Clear the bounce flag (mail to the address was accepted again). True if it was set."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.email_bouncing_at is None:
        return False
    old_reason = locked.email_bounce_reason
    locked.email_bouncing_at = None
    locked.email_bounce_reason = ""
    locked.save(update_fields=["email_bouncing_at", "email_bounce_reason"])
    user.email_bouncing_at, user.email_bounce_reason = None, ""
    audit_record(
        actor=actor,
        action="user.email_delivered",
        note=f"Mail was accepted again (it bounced before: {old_reason})"[:500],
        data={"user": locked.pk},
    )
    return True
