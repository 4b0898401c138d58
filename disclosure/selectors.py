"""Reads on behalf of a user: every query is scoped to what that user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from accounts.models import Organization

from .models import AuditEvent, Finding, FindingRecipient
from .policies import DEFENDER_VISIBLE_STATES, Kind, org_ids

State = Finding.State


def findings_visible_to(user: Any) -> QuerySet[Finding]:
    """Findings the user may see; mirrors policies.can_view_finding as one query."""
    visible = Q(state=State.RELEASED)
    labs = org_ids(user, Kind.DEVELOPER)
    if labs:
        visible |= Q(developer_id__in=labs)
    if org_ids(user, Kind.COORDINATOR):
        visible |= Q(submitted_at__isnull=False)  # policies.coordinators_see
    defenders = org_ids(user, Kind.DEFENDER)
    if defenders:
        notified = FindingRecipient.objects.filter(
            finding_id=OuterRef("pk"), organization_id__in=defenders
        )
        visible |= Q(Q(state__in=DEFENDER_VISIBLE_STATES), Exists(notified))
    return Finding.objects.filter(visible).select_related("developer", "category__taxonomy")


def finding_get_for(*, user: Any, reference: str) -> Finding:
    """The finding, or 404 when it does not exist or the user may not see it (the same answer)."""
    finding = findings_visible_to(user).filter(reference=reference).first()
    if finding is None:
        raise Http404("No finding with that reference.")
    return finding


def advisories_public() -> QuerySet[Finding]:
    return (
        Finding.objects.filter(state=State.RELEASED)
        .select_related("developer", "category__taxonomy")
        .order_by("-released_at", "-id")
    )


def advisory_get(*, reference: str) -> Finding:
    finding = advisories_public().filter(reference=reference).first()
    if finding is None:
        raise Http404("No advisory with that reference.")
    return finding


def triage_queue_for(user: Any) -> QuerySet[Finding]:
    if not org_ids(user, Kind.COORDINATOR):
        return Finding.objects.none()
    return (
        Finding.objects.filter(state=State.SUBMITTED)
        .select_related("developer", "category__taxonomy")
        .order_by("submitted_at", "id")
    )


def defender_inbox_for(user: Any) -> QuerySet[FindingRecipient]:
    defenders = org_ids(user, Kind.DEFENDER)
    return (
        FindingRecipient.objects.filter(
            organization_id__in=defenders, finding__state__in=DEFENDER_VISIBLE_STATES
        )
        .select_related("finding", "organization", "acknowledged_by")
        .order_by("-added_at", "-id")
    )


def defender_organizations() -> QuerySet[Organization]:
    return Organization.objects.filter(kind=Kind.DEFENDER).order_by("name")


def recipients_of(finding: Finding) -> QuerySet[FindingRecipient]:
    return finding.recipients.select_related("organization", "acknowledged_by")


def audit_events_for(finding: Finding) -> QuerySet[AuditEvent]:
    return finding.audit_events.select_related("actor").order_by("created_at", "id")
