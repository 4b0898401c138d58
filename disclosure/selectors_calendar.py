"""Reading calendar feeds: an organization's feeds for its admins, and the dated entries of one
organization's feed.

The organization is looked up by accounts.selectors.organization_get_for (a 404 for outsiders);
the callers then ask policies.can_manage_calendar_feeds. The entries are built for a feed whose
token was checked (services.calendar.calendar_feed_authenticate): the token is the credential.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import Organization

from .models import AuditEvent, CalendarFeed, EmbargoEvent, Finding, ReleaseStage
from .services.calendar import creator_still_member

# Released findings stay in the feed this long after their release.
RELEASED_WINDOW = timedelta(days=30)
# EmbargoEvent kinds that can move the end; a row counts when its end really changed.
END_MOVE_KINDS = (
    EmbargoEvent.Kind.CHANGED,
    EmbargoEvent.Kind.EXTENSION_APPROVED,
    EmbargoEvent.Kind.BROKEN,
)
# The audit action of each version of a release plan (services.stages: the default plan and
# every change): each counts as a revision of the finding's stage events.
PLAN_ACTIONS = ("finding.release_planned",)


def calendar_feeds_of(organization: Organization) -> QuerySet[CalendarFeed]:
    """Every feed of the organization, newest first, with ``works``: not revoked and its
    creator still an active member."""
    return (
        CalendarFeed.objects.filter(organization=organization)
        .select_related("organization", "created_by")
        .annotate(creator_member=creator_still_member())
        .order_by("-created_at", "-id")
    )


def calendar_feed_get(organization: Organization, pk: int) -> CalendarFeed:
    feed = calendar_feeds_of(organization).filter(pk=pk).first()
    if feed is None:
        raise Http404("No such calendar feed.")
    return feed


@dataclass(frozen=True)
class CalendarEntry:
    """One dated event of a feed: what a VEVENT says, nothing embargoed."""

    key: str  # stable per (finding, kind, stage): the UID before "@<host>"
    reference: str
    summary: str
    starts_at: datetime
    sequence: int
    last_modified: datetime


def _end_moves() -> QuerySet[EmbargoEvent]:
    moved = (
        Q(old_ends_at__isnull=True)
        | Q(new_ends_at__isnull=True)
        | Q(old_ends_at__lt=F("new_ends_at"))
        | Q(old_ends_at__gt=F("new_ends_at"))
    )
    return EmbargoEvent.objects.filter(
        moved, embargo__finding=OuterRef("pk"), kind__in=END_MOVE_KINDS
    )


def _notified(organization: Organization, now: datetime) -> QuerySet[Finding]:
    """The findings the organization was notified of, still embargoed or recently released."""
    return Finding.objects.filter(recipients__organization=organization).filter(
        Q(state=Finding.State.EMBARGOED)
        | Q(state=Finding.State.RELEASED, released_at__gte=now - RELEASED_WINDOW)
    )


def _findings(notified: QuerySet[Finding]) -> QuerySet[Finding]:
    """Those findings, each with ``end_moves`` (how often its end moved) and ``end_moved_at``
    (the last time)."""
    count = _end_moves().values("embargo").annotate(n=Count("pk")).values("n")
    last = _end_moves().order_by("-at").values("at")[:1]
    return (
        notified.only(
            "id",
            "reference",
            "state",
            "embargo_ends_at",
            "created_at",
            "accepted_at",
            "released_at",
        )
        .annotate(
            end_moves=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
            end_moved_at=Subquery(last),
        )
        .order_by("embargo_ends_at", "reference")
    )


def _plan_history(notified: QuerySet[Finding]) -> dict[int, tuple[int, datetime | None]]:
    """Per finding: how many changes its release plan has had, and the last one's time."""
    rows = (
        AuditEvent.objects.filter(action__in=PLAN_ACTIONS, finding__in=notified.values("pk"))
        .values("finding_id")
        .annotate(n=Count("pk"), last=Max("created_at"))
        .order_by()
    )
    return {row["finding_id"]: (row["n"], row["last"]) for row in rows}


def _latest(first: datetime, *times: datetime | None) -> datetime:
    return max([first, *(t for t in times if t is not None)])


def _end_entry(finding: Finding, plan: tuple[int, datetime | None]) -> CalendarEntry | None:
    """The end moves with the embargo's history and with the plan's public stage: both count,
    so the SEQUENCE rises however the end was moved (counting a plan change that left the end
    alone as well does no harm)."""
    # An embargoed finding has its end, a released one its release (database constraints).
    starts_at = finding.embargo_ends_at or finding.released_at
    if starts_at is None:
        return None
    released_at = finding.released_at
    if released_at is not None and released_at < starts_at:
        starts_at = released_at  # broken early: the actual release
    return CalendarEntry(
        key=f"{finding.reference}-embargo-end",
        reference=finding.reference,
        summary=f"{finding.reference}: embargo ends",
        starts_at=starts_at,
        sequence=finding.end_moves + plan[0],  # type: ignore[attr-defined]
        last_modified=_latest(
            finding.accepted_at or finding.created_at,
            finding.end_moved_at,  # type: ignore[attr-defined]
            plan[1],
            released_at if starts_at == released_at else None,
        ),
    )


def _stage_entry(
    finding: Finding, stage: ReleaseStage, history: tuple[int, datetime | None]
) -> CalendarEntry:
    starts_at = stage.scheduled_at
    if stage.fired_at is not None and stage.fired_at < starts_at:
        starts_at = stage.fired_at  # fired early (the embargo was broken): when it happened
    changes, changed_at = history
    tlp = Finding.Tlp(stage.tlp).label
    return CalendarEntry(
        key=f"{finding.reference}-stage-{stage.position}",
        reference=finding.reference,
        summary=f"{finding.reference}: release stage {stage.position} ({stage.audience}, {tlp})",
        starts_at=starts_at,
        sequence=changes + (starts_at != stage.scheduled_at),
        last_modified=_latest(
            finding.accepted_at or finding.created_at,
            changed_at,
            stage.fired_at if starts_at != stage.scheduled_at else None,
        ),
    )


def calendar_entries_for(organization: Organization, *, now: datetime) -> list[CalendarEntry]:
    """The organization's events, in time order: for every finding it was notified of that is
    embargoed or was released within RELEASED_WINDOW, the embargo's end (the public release)
    and the time of each release stage before the public one (which is that same end).

    Three queries, however many findings.
    """
    notified = _notified(organization, now)
    findings = list(_findings(notified))
    if not findings:
        return []
    stages: dict[int, list[ReleaseStage]] = defaultdict(list)
    for stage in (
        ReleaseStage.objects.filter(finding__in=notified.values("pk"))
        .exclude(audience=ReleaseStage.Audience.PUBLIC)
        .only("id", "finding_id", "position", "audience", "tlp", "scheduled_at", "fired_at")
        .order_by("finding_id", "position")
    ):
        stages[stage.finding_id].append(stage)
    history = _plan_history(notified)
    entries: list[CalendarEntry] = []
    for finding in findings:
        plan = history.get(finding.pk, (0, None))
        end = _end_entry(finding, plan)
        if end is not None:
            entries.append(end)
        for stage in stages[finding.pk]:
            entries.append(_stage_entry(finding, stage, plan))
    entries.sort(key=lambda e: (e.starts_at, e.key))
    return entries
