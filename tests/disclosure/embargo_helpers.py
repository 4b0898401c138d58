"""Helpers for the embargo tests: findings at each step of an embargo's life, and what a change
told whom."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.utils import timezone

from disclosure.models import AuditEvent, Delivery, Embargo, EmbargoEvent, Finding
from disclosure.services.embargo import embargo_propose
from disclosure.services.triage import finding_accept, finding_triage_start


def soon(days: float = 0, **more: float) -> datetime:
    """A moment ahead, to the second (what forms and the API round to)."""
    return (timezone.now() + timedelta(days=days, **more)).replace(microsecond=0)


def in_triage(world, **fields: object) -> Finding:
    return finding_triage_start(actor=world.coordinator, finding=world.submitted(**fields))


def proposed(world, *, days: float = 10, reason: str = "", **fields: object) -> Finding:
    finding = in_triage(world, **fields)
    embargo_propose(actor=world.coordinator, finding=finding, ends_at=soon(days), reason=reason)
    return finding


def embargoed(world, *, days: float = 10, organizations=None, **fields: object) -> Finding:
    """Accepted for ``organizations`` (default: Grid ISAC and Water CERT), ending in ``days``."""
    return finding_accept(
        actor=world.coordinator,
        finding=world.submitted(**fields),
        organizations=organizations or [world.defender, world.other_defender],
        embargo_ends_at=soon(days),
    )


def embargo_of(finding: Finding) -> Embargo:
    return Embargo.objects.get(finding=finding)


def kinds(finding: Finding) -> list[str]:
    return list(
        EmbargoEvent.objects.filter(embargo__finding=finding)
        .order_by("at", "id")
        .values_list("kind", flat=True)
    )


def changed_notices(finding: Finding, cause: AuditEvent | None = None) -> Counter[str]:
    """EMBARGO_CHANGED outbox rows per organization slug (every channel)."""
    rows = Delivery.objects.filter(finding=finding, event=Delivery.Event.EMBARGO_CHANGED)
    if cause is not None:
        rows = rows.filter(cause=cause)
    return Counter(rows.values_list("organization__slug", flat=True))


def writes(finding: Finding) -> tuple[int, int, int, int]:
    """What a refused call must not have written: audit (but reads), history, requests, outbox."""
    return (
        AuditEvent.objects.exclude(action__in=["finding.read", "finding.seen"]).count(),
        EmbargoEvent.objects.count(),
        finding.recipients.count() + Embargo.objects.count(),
        Delivery.objects.count(),
    )
