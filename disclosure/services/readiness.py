"""What notified defenders report back."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import policies
from ..errors import NotAllowed
from ..models import Finding, FindingRecipient
from .audit import audit_record


@transaction.atomic
def finding_acknowledge(*, actor: Any, finding: Finding) -> list[FindingRecipient]:
    """Acknowledge for each of the actor's notified organizations; repeating changes nothing."""
    if not policies.can_acknowledge(actor, finding):
        raise NotAllowed("Only members of a notified defender organization can acknowledge.")
    orgs = policies.defender_orgs_for(actor, finding)
    rows = list(
        FindingRecipient.objects.select_for_update().filter(
            finding=finding, organization_id__in=orgs
        )
    )
    now = timezone.now()
    for row in rows:
        if row.acknowledged_at is None:
            row.acknowledged_at = now
            row.acknowledged_by = actor
            row.save(update_fields=["acknowledged_at", "acknowledged_by"])
            audit_record(
                actor=actor,
                action="finding.acknowledged",
                finding=finding,
                data={"organization": row.organization_id},
            )
    return rows
