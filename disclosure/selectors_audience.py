"""Reads about a finding's notified organizations: their readiness at a glance, and which of
them are overdue (not acknowledged after the first reminder threshold)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db.models import Count, IntegerField, Q, QuerySet, Value
from django.utils import timezone

from . import policies
from .models import Finding, FindingRecipient
from .services.readiness import reminder_thresholds

Readiness = FindingRecipient.Readiness


def _overdue_since(now: datetime) -> datetime | None:
    thresholds = reminder_thresholds()
    return now - thresholds[0] if thresholds else None


def recipient_is_overdue(row: FindingRecipient, finding: Finding, now: datetime) -> bool:
    """Flagged to coordinators: under embargo and still not acknowledged after the first
    reminder threshold."""
    since = _overdue_since(now)
    return (
        since is not None
        and finding.state == Finding.State.EMBARGOED
        and row.acknowledged_at is None
        and row.added_at <= since
    )


def recipients_for(
    user: Any, finding: Finding, rows: list[FindingRecipient]
) -> tuple[str, list[FindingRecipient]]:
    """What of the audience's readiness the user sees (policies.recipients_access) and the rows
    to show: every row for coordinators, the user's own organizations' for a defender, none
    for the lab (counts only). ``rows``: all the finding's rows (selectors.recipients_of)."""
    mine = policies.org_ids(user, policies.Kind.DEFENDER)
    own = [r for r in rows if r.organization_id in mine]
    notified = frozenset(r.organization_id for r in own)
    access = policies.recipients_access(user, finding, notified=notified)
    if access == policies.RECIPIENTS_ALL:
        shown = rows
    elif access == policies.RECIPIENTS_OWN:
        shown = own
    else:
        shown = []
    now = timezone.now()
    for row in shown:
        row.overdue = recipient_is_overdue(row, finding, now)  # type: ignore[attr-defined]
    return access, shown


def readiness_summary(finding: Finding, rows: list[FindingRecipient]) -> dict[str, Any]:
    """Counts over the rows: how many in each readiness, acknowledged, seen and overdue."""
    now = timezone.now()
    by_state = Counter(r.readiness for r in rows)
    total = len(rows)
    ready = by_state[Readiness.READY]
    return {
        "total": total,
        "readiness": {value: by_state[value] for value in Readiness.values},
        "acknowledged": sum(1 for r in rows if r.acknowledged_at is not None),
        "seen": sum(1 for r in rows if r.first_seen_at is not None),
        "overdue": sum(1 for r in rows if recipient_is_overdue(r, finding, now)),
        "text": f"{ready} of {total} ready",
    }


def findings_with_overdue(findings: QuerySet[Finding]) -> QuerySet[Finding]:
    """Annotate ``overdue_count``: notified organizations not acknowledged after the first
    reminder threshold (one aggregate in the same query)."""
    since = _overdue_since(timezone.now())
    if since is None:
        return findings.annotate(overdue_count=Value(0, output_field=IntegerField()))
    return findings.annotate(
        overdue_count=Count(
            "recipients",
            filter=Q(recipients__acknowledged_at__isnull=True, recipients__added_at__lte=since),
        )
    )
