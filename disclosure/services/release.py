"""Release: an embargoed finding becomes public at its end, exactly once."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection, transaction
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import Organization

from ..models import Delivery, Finding
from ..transitions import transition
from .notify import deliveries_enqueue

logger = logging.getLogger(__name__)


def _due() -> Any:
    # The database's clock decides what is due, so workers with skewed clocks agree.
    return Finding.objects.filter(state=Finding.State.EMBARGOED, embargo_ends_at__lte=Now())


@transaction.atomic
def finding_release(*, finding_id: int, actor: Any = None) -> bool:
    """Release the finding if it is due; True only for the one call that released it.

    Safe to call any number of times, from any number of workers: the row is locked (rows
    another worker holds are skipped) and its state re-checked under the lock.
    """
    qs = _due().filter(pk=finding_id)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    finding = qs.first()
    if finding is None:
        return False
    finding.released_at = timezone.now()
    cause = transition(finding, Finding.State.RELEASED, actor=actor, update_fields=("released_at",))
    audience = list(Organization.objects.filter(recipient_of__finding=finding))
    deliveries_enqueue(
        finding=finding,
        event=Delivery.Event.RELEASED,
        organizations=[*audience, finding.developer],
        cause=cause,
    )
    logger.info("Released %s", finding.reference)
    return True


def release_run_due(*, limit: int = 200) -> int:
    """Release every finding whose embargo has ended; each in its own transaction."""
    released = 0
    for pk in _due().order_by("embargo_ends_at", "pk").values_list("pk", flat=True)[:limit]:
        released += finding_release(finding_id=pk)
    return released
