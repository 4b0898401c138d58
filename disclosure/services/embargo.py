"""Embargoes: when a finding's details may go to the public."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization

from ..errors import ValidationFailed
from ..models import Delivery, Finding, FindingRecipient
from ..transitions import transition
from .notify import deliveries_enqueue

# An embargo ending sooner than this also gets a precise trigger, not just the periodic sweep.
PRECISE_TRIGGER_HORIZON = timedelta(hours=1)


def embargo_end_validate(ends_at: datetime) -> datetime:
    if timezone.is_naive(ends_at):
        raise ValidationFailed({"embargo_ends_at": "Give a time zone (e.g. 2026-12-01T12:00:00Z)."})
    now = timezone.now()
    if ends_at <= now:
        raise ValidationFailed({"embargo_ends_at": "The embargo end must be in the future."})
    if ends_at > now + timedelta(days=settings.EMBARGO_MAX_DAYS):
        raise ValidationFailed(
            {"embargo_ends_at": (f"The embargo may last at most {settings.EMBARGO_MAX_DAYS} days.")}
        )
    return ends_at


def audience_validate(organizations: list[Organization]) -> list[Organization]:
    if not organizations:
        raise ValidationFailed(
            {"defender_organizations": "Choose at least one defender organization."}
        )
    wrong = [o.slug for o in organizations if o.kind != Organization.Kind.DEFENDER]
    if wrong:
        raise ValidationFailed(
            {"defender_organizations": f"Not defender organizations: {', '.join(wrong)}."}
        )
    # Only a verified organization may receive embargoed material (accounts.registry).
    unverified = [o.slug for o in organizations if not o.is_verified]
    if unverified:
        raise ValidationFailed(
            {
                "defender_organizations": "Not verified (applied, rejected or suspended "
                f"organizations receive no embargoed material): {', '.join(unverified)}."
            }
        )
    return organizations


def embargo_start(
    *, actor: Any, finding: Finding, organizations: list[Organization], ends_at: datetime
) -> Finding:
    """Notify the audience and start the embargo. Call inside a transaction, the row locked."""
    # The revision they are told of, so that they can later see what changed since.
    revision = finding.revisions.order_by("-number").values_list("number", flat=True).first()
    FindingRecipient.objects.bulk_create(
        [
            FindingRecipient(
                finding=finding, organization=o, added_by=actor, notified_revision=revision
            )
            for o in organizations
        ],
        ignore_conflicts=True,
    )
    finding.embargo_ends_at = ends_at
    cause = transition(
        finding,
        Finding.State.EMBARGOED,
        actor=actor,
        data={
            "embargo_ends_at": ends_at.isoformat(),
            "audience": sorted(o.slug for o in organizations),
        },
        update_fields=("embargo_ends_at",),
    )
    deliveries_enqueue(
        finding=finding, event=Delivery.Event.NOTIFIED, organizations=organizations, cause=cause
    )
    if ends_at - timezone.now() <= PRECISE_TRIGGER_HORIZON:
        transaction.on_commit(lambda: _schedule_release(finding.pk, ends_at))
    return finding


def _schedule_release(finding_id: int, ends_at: datetime) -> None:
    from ..tasks import release_finding

    try:
        release_finding.apply_async((finding_id,), eta=ends_at)
    except Exception:  # the broker is down: the periodic sweep releases it on time anyway
        import logging

        logging.getLogger(__name__).exception("Could not schedule release of %s", finding_id)
