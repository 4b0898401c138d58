"""Thin Celery tasks: they take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .services.attachments import attachment_orphans_delete
from .services.notify import deliveries_dispatch
from .services.readiness import reminders_send
from .services.release import finding_release, release_run_due


@shared_task
def release_finding(finding_id: int) -> bool:
    return finding_release(finding_id=finding_id)


@shared_task
def release_due_findings() -> int:
    return release_run_due()


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
