"""Thin Celery tasks: they take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .services.attachments import attachment_orphans_delete
from .services.notify import deliveries_due, delivery_send
from .services.release import finding_release, release_run_due


@shared_task
def release_finding(finding_id: int) -> bool:
    return finding_release(finding_id=finding_id)


@shared_task
def release_due_findings() -> int:
    return release_run_due()


@shared_task
def send_delivery(delivery_id: int) -> bool:
    return delivery_send(delivery_id=delivery_id)


@shared_task
def send_pending_deliveries() -> int:
    sent = 0
    for pk in deliveries_due():
        sent += delivery_send(delivery_id=pk)
    return sent


@shared_task
def delete_orphan_attachments() -> int:
    return attachment_orphans_delete()
