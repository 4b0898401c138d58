"""Thin Celery tasks: they take ids, call a service, and are safe to run twice."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from .audit_verify import chain_verify, verification_remember
from .services.attachments import attachment_orphans_delete
from .services.audit_chain import audit_chain_seal
from .services.notify import deliveries_dispatch
from .services.readiness import reminders_send
from .services.release import finding_release, release_run_due
from .services.stages import stage_due_in, stage_fire, stages_arm_soon, stages_fire_due

logger = logging.getLogger(__name__)

# A precise trigger that arrives this early (the worker's clock ahead of the database's) waits.
EARLY_TOLERANCE_SECONDS = 2.0


@shared_task
def release_finding(finding_id: int) -> bool:
    return finding_release(finding_id=finding_id)


@shared_task
def release_due_findings() -> int:
    return release_run_due()


@shared_task
def fire_stage(stage_id: int) -> bool:
    """The precise trigger of one release stage, sent with an ETA at its time. Stale or
    repeated triggers do nothing: the firing re-checks, by the database's clock."""
    for _ in range(3):
        if stage_fire(stage_id):
            return True
        wait = stage_due_in(stage_id)
        if wait is None or wait <= 0 or wait > EARLY_TOLERANCE_SECONDS:
            return False  # fired, gone, held by another worker, or moved (re-armed then)
        time.sleep(wait)
    return False


@shared_task
def fire_due_stages() -> int:
    """The sweep (RELEASE_SWEEP_SECONDS): every due stage, and findings whose end is due."""
    return stages_fire_due()


@shared_task
def arm_stage_triggers() -> int:
    """Every STAGE_ARM_SECONDS: precise triggers again for the stages due soon."""
    return stages_arm_soon()


@worker_ready.connect
def _arm_when_a_worker_starts(**kwargs: Any) -> None:
    """A worker that died took the triggers it held (they come back only after the broker's
    visibility timeout): whichever worker starts next sends those due soon again."""
    try:
        arm_stage_triggers.delay()
    except Exception:  # the broker is down: the arm task and the sweep cover it
        logger.exception("Could not arm the release stages' triggers")


@shared_task
def dispatch_deliveries() -> int:
    """Queued a few at a time after a commit: claim and send batches until nothing is due."""
    return deliveries_dispatch()


@shared_task
def send_pending_deliveries() -> int:
    """The periodic sweep (DELIVERY_SWEEP_SECONDS): the same loop, so nothing waits on a lost
    task or a dead worker longer than the sweep interval plus the lease."""
    return deliveries_dispatch()


@shared_task
def delete_orphan_attachments() -> int:
    return attachment_orphans_delete()


@shared_task
def send_readiness_reminders() -> int:
    return reminders_send()


@shared_task
def seal_audit_chain() -> int:
    """The sweep (AUDIT_SEAL_SWEEP_SECONDS): entries whose writer died before sealing them."""
    return audit_chain_seal()


@shared_task
def verify_audit_chain() -> bool:
    """Every AUDIT_VERIFY_SECONDS: the whole chain, as ``manage.py audit_verify`` checks it."""
    result = chain_verify()
    verification_remember(result)
    return result.ok
