"""Reads for publication: released advisories with their public revision history.

Everything here is public, and only ever released findings: the Atom feed, the CSAF provider
files and the advisory pages all start from ``advisories_published``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import DateTimeField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from .models import AuditEvent, Finding
from .selectors import advisories_public
from .services.advisories import ADVISORY_UPDATED

INITIAL_RELEASE_SUMMARY = "Initial public release."


@dataclass(frozen=True)
class AdvisoryVersion:
    """One public version of an advisory: 1 is the release, each update adds one."""

    number: int
    date: dt.datetime
    summary: str
    changed_fields: tuple[str, ...] = ()


def _updates() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(action=ADVISORY_UPDATED).order_by("created_at", "id")


def advisory_updates_prefetch() -> Prefetch:
    """Prefetch each advisory's updates (to ``advisory_updates``): one query for any count."""
    return Prefetch("audit_events", queryset=_updates(), to_attr="advisory_updates")


def advisories_published() -> QuerySet[Finding]:
    """Released findings, newest release first, each annotated with ``last_updated``: the
    time of its latest version (its last update, or its release)."""
    last_update = (
        _updates()
        .filter(finding_id=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    return advisories_public().annotate(
        last_updated=Coalesce(Subquery(last_update, output_field=DateTimeField()), "released_at")
    )


def advisory_versions(finding: Finding) -> list[AdvisoryVersion]:
    """The advisory's public versions, oldest first. Dates never go backwards (a clock that
    lagged the release's worker cannot make an update look older than the release)."""
    if finding.released_at is None:
        return []
    updates = getattr(finding, "advisory_updates", None)
    if updates is None:
        updates = list(_updates().filter(finding=finding))
    versions = [AdvisoryVersion(1, finding.released_at, INITIAL_RELEASE_SUMMARY)]
    for number, event in enumerate(updates, start=2):
        date = max(event.created_at, versions[-1].date)
        fields = tuple(event.data.get("fields", ()))
        versions.append(AdvisoryVersion(number, date, event.note, fields))
    return versions


def advisory_published_get(*, reference: str) -> Finding:
    """A released finding with its updates, or 404 (the same answer for anything else)."""
    finding = (
        advisories_published()
        .filter(reference=reference)
        .prefetch_related(advisory_updates_prefetch())
        .first()
    )
    if finding is None:
        raise Http404("No advisory with that reference.")
    return finding
