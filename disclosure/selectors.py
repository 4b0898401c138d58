"""Reads on behalf of a user: every query is scoped to what that user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.http import Http404

from accounts.models import Organization, User

from . import policies
from .models import AuditEvent, Comment, Finding, FindingRecipient, Thread
from .models.attachments import Attachment
from .models.findings import RISK_ORDER
from .policies import (
    DEFENDER_VISIBLE_STATES,
    Kind,
    can_read_thread,
    coordinators_see,
    defender_orgs_for,
    org_ids,
)

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


TRIAGE_STATES = (State.SUBMITTED, State.IN_TRIAGE, State.NEEDS_INFO)
QUEUE_FILTERS = ("me", "none")


def triage_queue_for(user: Any, *, assigned: str | None = None) -> QuerySet[Finding]:
    """What waits for coordinators: critical first, then the longest waiting.

    ``assigned``: "me" (assigned to the user), "none" (to nobody), or None for everything.
    """
    if not org_ids(user, Kind.COORDINATOR):
        return Finding.objects.none()
    findings = Finding.objects.filter(state__in=TRIAGE_STATES)
    if assigned == "me":
        findings = findings.filter(assignee=user)
    elif assigned == "none":
        findings = findings.filter(assignee__isnull=True)
    elif assigned is not None:
        raise ValueError(f"Unknown queue filter {assigned!r}.")
    risk = Case(
        *(When(risk_level=level, then=Value(rank)) for rank, level in enumerate(RISK_ORDER)),
        default=Value(-1),
        output_field=IntegerField(),
    )
    return (
        findings.select_related("developer", "category__taxonomy", "assignee")
        .annotate(risk_rank=risk)
        .order_by("-risk_rank", "submitted_at", "id")
    )


def coordinators_all() -> QuerySet[User]:
    """Everyone a finding can be assigned to: active members of a coordination center."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__organization__kind=Kind.COORDINATOR,
        )
        .distinct()
        .order_by("email")
    )


# Triage moves whose note is a message between the coordinators and the lab.
TRIAGE_MESSAGE_ACTIONS = tuple(
    f"finding.{state}"
    for state in (
        State.IN_TRIAGE,
        State.NEEDS_INFO,
        State.ACCEPTED,
        State.REJECTED,
        State.DUPLICATE,
        State.WITHDRAWN,
    )
)


def triage_messages_for(finding: Finding) -> list[AuditEvent]:
    """The notes of triage moves (requests, answers, reasons), oldest first.

    For the lab and coordinators only: callers check policies first. Notes are encrypted, so
    the empty ones are left out here rather than by the query.
    """
    events = (
        finding.audit_events.filter(action__in=TRIAGE_MESSAGE_ACTIONS)
        .select_related("actor")
        .order_by("created_at", "id")
    )
    return [event for event in events if event.note]


# --- Discussion threads.


def threads_visible_to(
    user: Any, finding: Finding, *, recipients: list[FindingRecipient] | None = None
) -> QuerySet[Thread]:
    """The finding's threads the user may read; mirrors policies.can_read_thread as one query.

    The caller has the finding from finding_get_for (so the user may see it) and may pass its
    recipient rows to save a query.
    """
    if not getattr(user, "is_authenticated", False):
        return Thread.objects.none()
    threads = Thread.objects.filter(finding=finding).select_related(
        "created_by", "organization", "finding"
    )
    if org_ids(user, Kind.COORDINATOR) and coordinators_see(finding):
        return threads
    readable = Q(pk__in=[])
    if finding.developer_id in org_ids(user, Kind.DEVELOPER):
        readable |= Q(scope=Thread.Scope.LAB)
    if finding.state in DEFENDER_VISIBLE_STATES:
        notified = _notified_orgs(user, finding, recipients)
        if notified:
            readable |= Q(scope=Thread.Scope.DEFENDERS)
            readable |= Q(scope=Thread.Scope.ORGANIZATION, organization_id__in=notified)
    return threads.filter(readable)


def _notified_orgs(
    user: Any, finding: Finding, recipients: list[FindingRecipient] | None
) -> frozenset[int]:
    if recipients is None:
        return defender_orgs_for(user, finding)
    mine = org_ids(user, Kind.DEFENDER)
    return frozenset(r.organization_id for r in recipients if r.organization_id in mine)


def thread_get_for(*, user: Any, pk: int) -> Thread:
    """The thread, or 404 when it does not exist or the user may not read it."""
    thread = (
        Thread.objects.select_related("finding", "organization", "created_by")
        .filter(pk=pk, finding__in=findings_visible_to(user).values("pk"))
        .first()
    )
    if thread is None or not can_read_thread(user, thread):
        raise Http404("No thread with that id.")
    return thread


def comments_of(thread: Thread) -> QuerySet[Comment]:
    return thread.comments.select_related("author").order_by("created_at", "id")


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
    return finding.recipients.select_related(
        "organization", "acknowledged_by", "readiness_updated_by", "first_seen_by", "stage"
    )


def audit_events_for(finding: Finding) -> QuerySet[AuditEvent]:
    return finding.audit_events.select_related("actor").order_by("created_at", "id")


def attachments_for(*, user: Any, finding: Finding) -> QuerySet[Attachment]:
    """A finding's evidence files, or 404 for anyone who may not have them (even after release)."""
    if not policies.can_view_attachments(user, finding):
        raise Http404("No finding with that reference.")
    return Attachment.objects.filter(finding=finding).select_related("uploaded_by")


def attachment_get_for(*, user: Any, reference: str, pk: int) -> Attachment:
    """One attachment of a finding the user may see, with its finding; 404 otherwise."""
    finding = finding_get_for(user=user, reference=reference)
    attachment = attachments_for(user=user, finding=finding).filter(pk=pk).first()
    if attachment is None:
        raise Http404("No attachment with that id.")
    attachment.finding = finding  # already read and access-checked; saves a query
    return attachment
