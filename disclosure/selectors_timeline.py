"""A finding's timeline: filed, submitted, triaged, accepted, notified (per organization),
acknowledged, readiness reports, the embargo's history, release stages fired, released; each
with its time and, where the viewer may know, who.

Built in a fixed number of queries whatever its length: the finding's audit events (and the
readiness reports and withdrawn extension requests of defenders, which are not filed under the
finding: services.readiness, services.embargo_extensions), its recipients, the embargo's
events and requests, and the fired stages. The audience rules are selectors_embargo's: a
defender never sees another organization's name, the lab sees who was notified but not how
ready they are, anyone else only the milestones.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from .models import AuditEvent, Finding, FindingRecipient, ReleaseStage
from .selectors_embargo import (
    COORDINATOR,
    DEFENDER,
    LAB,
    SYSTEM,
    Entry,
    Viewer,
    actor_shown,
    embargo_of,
    extension_requests_of,
    history_entries,
    viewer_for,
)

State = Finding.State
READINESS = "finding.readiness_reported"
WITHDRAWN = "embargo.extension_withdrawn"
# Audit actions the timeline shows: (title, role of the actor, who sees it). "all" is anyone
# who may see the finding; "inner" the coordinators and the lab.
MILESTONES: dict[str, tuple[str, str, str]] = {
    "finding.created": ("Filed", LAB, "all"),
    f"finding.{State.SUBMITTED}": ("Submitted for coordination", LAB, "all"),
    f"finding.{State.IN_TRIAGE}": ("Triage started", COORDINATOR, "inner"),
    f"finding.{State.NEEDS_INFO}": ("Information requested from the lab", COORDINATOR, "inner"),
    f"finding.{State.ACCEPTED}": ("Accepted", COORDINATOR, "all"),
    f"finding.{State.REJECTED}": ("Rejected", COORDINATOR, "inner"),
    f"finding.{State.DUPLICATE}": ("Closed as a duplicate", COORDINATOR, "inner"),
    f"finding.{State.WITHDRAWN}": ("Withdrawn by the lab", LAB, "inner"),
    f"finding.{State.RELEASED}": ("Released: the advisory is public", SYSTEM, "all"),
    "finding.audience_removed": ("Removed from the audience", COORDINATOR, "coordinators"),
}
EMBARGOED = f"finding.{State.EMBARGOED}"


def _audit_events(finding: Finding) -> list[AuditEvent]:
    """The finding's milestones, and the defenders' own events that name it in their data."""
    filed_under = Q(finding=finding, action__in=[*MILESTONES, EMBARGOED, WITHDRAWN])
    # Not filed under the finding (so not in the lab's audit trail): found by reference, from
    # the finding's creation on (an index range on created_at).
    named = Q(
        finding__isnull=True,
        action__in=[READINESS, WITHDRAWN],
        created_at__gte=finding.created_at,
        data__finding=finding.reference,
    )
    return list(
        AuditEvent.objects.filter(filed_under | named)
        .select_related("actor")
        .order_by("created_at", "id")
    )


def _recipients(finding: Finding) -> list[FindingRecipient]:
    return list(
        FindingRecipient.objects.filter(finding=finding).select_related(
            "organization", "acknowledged_by", "stage"
        )
    )


def _visible(viewer: Viewer, audience: str) -> bool:
    if audience == "all":
        return True
    if audience == "inner":
        return viewer.coordinator or viewer.lab
    return viewer.coordinator


def _milestone_entries(viewer: Viewer, finding: Finding, events: list[AuditEvent]) -> list[Entry]:
    entries = []
    for event in events:
        spec = MILESTONES.get(event.action)
        if spec is None:
            continue
        title, role, audience = spec
        if not _visible(viewer, audience):
            continue
        if event.action == f"finding.{State.RELEASED}" and event.actor is not None:
            role = COORDINATOR  # a break: the coordinator released it
        org = finding.developer_id if role == LAB else None
        actor, role = actor_shown(viewer, event.actor, org, role)
        entry = Entry(
            at=event.created_at, kind=event.action, title=title, actor=actor, actor_role=role
        )
        if event.action == "finding.audience_removed":
            entry.organization = str(event.data.get("organization", ""))
            entry.reason = event.note
        elif event.note and (viewer.coordinator or viewer.lab) and audience != "all":
            entry.reason = event.note  # triage notes: the lab's and the coordinators' messages
        entries.append(entry)
    return entries


def _audience_entries(
    viewer: Viewer, finding: Finding, recipients: list[FindingRecipient], events: list[AuditEvent]
) -> list[Entry]:
    """Notified and acknowledged, per organization; readiness reports. The lab and coordinators
    see every organization notified; a defender its own; the lab sees readiness unnamed."""
    entries = []
    by_slug = {r.organization.slug: r for r in recipients}
    for row in recipients:
        own = row.organization_id in viewer.notified
        if not (viewer.coordinator or viewer.lab or own):
            continue
        name = row.organization.name
        stage = f" (release stage {row.stage.position})" if row.stage is not None else ""
        entries.append(
            Entry(
                at=row.added_at,
                kind="notified",
                title=f"Notified{stage}",
                actor_role=COORDINATOR if row.stage_id is None else SYSTEM,
                organization=name,
            )
        )
        if row.acknowledged_at is not None:
            actor, role = actor_shown(viewer, row.acknowledged_by, row.organization_id, DEFENDER)
            entries.append(
                Entry(
                    at=row.acknowledged_at,
                    kind="acknowledged",
                    title="Acknowledged",
                    actor=actor,
                    actor_role=role,
                    organization=name,
                )
            )
    for event in events:
        if event.action != READINESS:
            continue
        reporter = by_slug.get(str(event.data.get("organization", "")))
        org_id = reporter.organization_id if reporter is not None else None
        named = viewer.names(org_id)
        if not (named or viewer.lab):
            continue
        state = FindingRecipient.Readiness(event.data.get("to", "not_assessed")).label
        actor, role = actor_shown(viewer, event.actor, org_id, DEFENDER)
        entries.append(
            Entry(
                at=event.created_at,
                kind="readiness",
                title=f"Readiness reported: {state}",
                actor=actor if named else None,
                actor_role=role,
                organization=reporter.organization.name if named and reporter else None,
            )
        )
    return entries


def _withdrawn_entries(
    viewer: Viewer, events: list[AuditEvent], names: dict[int, str]
) -> list[Entry]:
    entries = []
    for event in events:
        org_id = event.data.get("organization")
        if event.action != WITHDRAWN or not viewer.names(org_id):
            continue
        actor, role = actor_shown(viewer, event.actor, org_id, DEFENDER)
        entries.append(
            Entry(
                at=event.created_at,
                kind=WITHDRAWN,
                title="Extension request withdrawn",
                actor=actor,
                actor_role=role,
                organization=names.get(org_id),
            )
        )
    return entries


def _stage_entries(viewer: Viewer, finding: Finding, events: list[AuditEvent]) -> list[Entry]:
    """Release stages fired, but the first audience (told at acceptance: "Notified") and the
    public stage (the release)."""
    acceptance = {e.pk for e in events if e.action == EMBARGOED}
    stages = (
        ReleaseStage.objects.filter(finding=finding, fired_at__isnull=False)
        .exclude(audience=ReleaseStage.Audience.PUBLIC)
        .order_by("position")
    )
    if viewer.coordinator:
        stages = stages.prefetch_related("organizations")
    entries = []
    for stage in stages:
        if stage.fired_cause_id in acceptance:
            continue
        entry = Entry(
            at=stage.fired_at,  # type: ignore[arg-type]
            kind="stage_fired",
            title=f"Release stage {stage.position} fired: {stage.get_audience_display()}, "
            f"{finding.Tlp(stage.tlp).label}",
            extra={"stage": stage.position, "audience": stage.audience, "tlp": stage.tlp},
        )
        if viewer.coordinator:
            entry.organization = ", ".join(o.name for o in stage.organizations.all()) or None
        entries.append(entry)
    return entries


def timeline_for(user: Any, finding: Finding) -> list[Entry]:
    """The finding's timeline as ``user`` may see it, oldest first. The caller has the finding
    from selectors.finding_get_for. Six queries whatever its length (and the user's
    memberships, once per request)."""
    recipients = _recipients(finding)
    viewer = viewer_for(user, finding, recipients=recipients)
    events = _audit_events(finding)
    embargo = embargo_of(finding)
    embargo_events = (
        list(embargo.events.select_related("actor").order_by("at", "id")) if embargo else []
    )
    requests = extension_requests_of(embargo)
    names = {r.organization_id: r.organization.name for r in requests}
    entries = [
        *_milestone_entries(viewer, finding, events),
        *_audience_entries(viewer, finding, recipients, events),
        *history_entries(viewer, finding, embargo, embargo_events, requests),
        *_withdrawn_entries(viewer, events, names),
        *_stage_entries(viewer, finding, events),
    ]
    return sorted(entries, key=lambda e: e.at)
