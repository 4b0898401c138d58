"""Coordinators decide what happens to a submitted finding."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization

from .. import policies
from ..errors import NotAllowed, ValidationFailed
from ..models import Finding
from ..transitions import transition, transition_check
from .embargo import audience_validate, embargo_end_validate, embargo_start


@transaction.atomic
def finding_accept(
    *,
    actor: Any,
    finding: Finding,
    organizations: list[Organization],
    embargo_ends_at: datetime,
    note: str = "",
) -> Finding:
    """Accept, choose the defenders and start the embargo, all in one transaction."""
    if not policies.can_triage(actor):
        raise NotAllowed("Only coordinators can accept findings.")
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    transition_check(finding, Finding.State.ACCEPTED)
    audience_validate(organizations)
    embargo_end_validate(embargo_ends_at)
    finding.accepted_at = timezone.now()
    transition(
        finding, Finding.State.ACCEPTED, actor=actor, note=note, update_fields=("accepted_at",)
    )
    return embargo_start(
        actor=actor, finding=finding, organizations=organizations, ends_at=embargo_ends_at
    )


@transaction.atomic
def finding_reject(*, actor: Any, finding: Finding, reason: str) -> Finding:
    if not policies.can_triage(actor):
        raise NotAllowed("Only coordinators can reject findings.")
    if not reason.strip():
        raise ValidationFailed({"reason": "Say why the finding is rejected."})
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    transition(finding, Finding.State.REJECTED, actor=actor, note=reason.strip())
    return finding
