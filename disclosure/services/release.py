"""Release: an embargoed finding becomes public at its end, exactly once.

``release_locked`` is the one place that makes a finding public. Two paths lead to it, both
with the finding's row locked: the plan's public stage firing (services.stages.stage_fire,
at the stage's time) and ``finding_release`` (the finding's ``embargo_ends_at`` is due: the
sweep's safety net, and findings embargoed before there were plans). Either way the earlier
stages that have not fired fire first, the release's audit event is the public stage's cause,
and the public stage is marked fired in the release's transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection, transaction
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import Organization

from ..models import AuditEvent, Delivery, Finding, ReleaseStage
from ..transitions import transition
from .embargo_ending import embargo_released_locked
from .notify import deliveries_enqueue

logger = logging.getLogger(__name__)


def _due() -> Any:
    # The database's clock decides what is due, so workers with skewed clocks agree.
    return Finding.objects.filter(state=Finding.State.EMBARGOED, embargo_ends_at__lte=Now())


def release_locked(
    finding: Finding, *, actor: Any = None, data: dict[str, Any] | None = None
) -> AuditEvent:
    """Make the embargoed finding public: state, audit event, "released" outbox rows to the
    lab and every notified organization, the embargo ended, and the plan's remaining stages
    marked fired with this release as their cause. Call inside a transaction, the finding's
    row locked and its earlier stages fired (services.stages does both)."""
    finding.released_at = timezone.now()
    cause = transition(
        finding,
        Finding.State.RELEASED,
        actor=actor,
        data=data,
        update_fields=("released_at",),
    )
    audience = list(Organization.objects.filter(recipient_of__finding=finding))
    deliveries_enqueue(
        finding=finding,
        event=Delivery.Event.RELEASED,
        organizations=[*audience, finding.developer],
        cause=cause,
    )
    embargo_released_locked(finding, actor=actor)  # a running embargo ended on time
    # Last, so that fired_at is when the release and its outbox rows were written.
    ReleaseStage.objects.filter(finding=finding, fired_at__isnull=True).update(
        fired_at=Now(), fired_cause=cause
    )
    logger.info("Released %s", finding.reference)
    return cause


@transaction.atomic
def finding_release(*, finding_id: int, actor: Any = None) -> bool:
    """Release the finding if its embargo end is due; True only for the call that released it.

    Safe to call any number of times, from any number of workers: the row is locked (rows
    another worker holds are skipped) and its state re-checked under the lock. Stages of its
    plan that have not fired fire first, in order, the public one being this release.
    """
    from .stages import stages_fire_all_locked  # stages fires the public stage through here

    qs = _due().filter(pk=finding_id).select_related("developer")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    finding = qs.first()
    if finding is None:
        return False
    stages_fire_all_locked(finding, actor=actor)
    return True


def release_run_due(*, limit: int = 200) -> int:
    """Release every finding whose embargo has ended; each in its own transaction."""
    released = 0
    for pk in _due().order_by("embargo_ends_at", "pk").values_list("pk", flat=True)[:limit]:
        released += finding_release(finding_id=pk)
    return released
