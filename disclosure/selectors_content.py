"""Reads of a finding's content for a user: credits, revisions, taxonomies and sectors.

Callers have already got the finding through selectors.finding_get_for (or the advisory
selector), so the finding itself is one the user may see; these scope what is inside it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404

from . import policies
from .models import (
    CapabilityCategory,
    Credit,
    Finding,
    FindingRecipient,
    FindingRevision,
    Sector,
    Taxonomy,
)
from .selectors import findings_visible_to
from .services.revisions import revision_diff

Kind = policies.Kind


# --- Taxonomies and sectors: public reference data.


def taxonomies_with_categories() -> QuerySet[Taxonomy]:
    return Taxonomy.objects.prefetch_related(
        Prefetch("categories", queryset=CapabilityCategory.objects.order_by("position", "code"))
    ).order_by("framework", "version", "id")


def taxonomy_get(*, slug: str) -> Taxonomy:
    taxonomy = taxonomies_with_categories().filter(slug=slug).first()
    if taxonomy is None:
        raise Http404("No taxonomy with that slug.")
    return taxonomy


def sectors_all() -> QuerySet[Sector]:
    return Sector.objects.order_by("position", "name")


def category_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Categories grouped by taxonomy, as (group label, [(key, label)]) for a select's optgroups."""
    return [
        (str(taxonomy), [(f"{taxonomy.slug}:{c.code}", c.label) for c in taxonomy.categories.all()])
        for taxonomy in taxonomies_with_categories()
    ]


# --- A finding's content.


def content_prefetch(*findings: Finding) -> None:
    """Load the related content a detail shows: a query per relation, whatever the count."""
    prefetch_related_objects(list(findings), "affected_sectors", "evaluations", "mitigations")


# --- Credits.


def credits_visible_to(user: Any, finding: Finding) -> QuerySet[Credit]:
    """The lab and coordinators see every credit; others the accepted ones and their own."""
    credits = finding.credits.select_related("user").order_by("created_at", "id")
    if policies.can_manage_credits(user, finding):
        return credits
    mine = Q(user_id=user.pk) if getattr(user, "is_authenticated", False) else Q(pk__in=[])
    return credits.filter(Q(status=Credit.Status.ACCEPTED) | mine)


def credits_public(finding: Finding) -> QuerySet[Credit]:
    """What a public advisory names: accepted credits only."""
    return finding.credits.filter(status=Credit.Status.ACCEPTED).select_related("user")


def credits_of(user: Any, *, status: str | None = None) -> QuerySet[Credit]:
    """The user's own credits (of one status), on findings they may see."""
    if not getattr(user, "is_authenticated", False):
        return Credit.objects.none()
    credits = Credit.objects.filter(
        user_id=user.pk, finding__in=findings_visible_to(user).values("pk")
    )
    if status is not None:
        credits = credits.filter(status=status)
    return credits.select_related("finding").order_by("-created_at", "-id")


def credit_get_for(*, user: Any, pk: int) -> Credit:
    """A credit on a finding the user may see, else 404 (the same answer as no credit)."""
    credit = (
        Credit.objects.filter(pk=pk, finding__in=findings_visible_to(user).values("pk"))
        .select_related("finding", "user")
        .first()
    )
    if credit is None:
        raise Http404("No credit with that id.")
    return credit


# --- Revisions.


def revisions_of(finding: Finding) -> QuerySet[FindingRevision]:
    return finding.revisions.select_related("author").order_by("number")


def revision_with_previous(
    *, finding: Finding, number: int
) -> tuple[FindingRevision, FindingRevision | None]:
    """Revision ``number`` and the one before it, in one query."""
    # Two exact lookups, not number__in: Django finds nothing for an exact value out of the
    # column's range (a URL may hold any number of digits), where __in would crash on SQLite.
    rows = {
        r.number: r for r in revisions_of(finding).filter(Q(number=number) | Q(number=number - 1))
    }
    if number not in rows:
        raise Http404("No revision with that number.")
    return rows[number], rows.get(number - 1)


def notified_revision_for(user: Any, recipients: list[FindingRecipient]) -> int | None:
    """The earliest revision the user's notified organizations were told of (None if none)."""
    mine = policies.org_ids(user, Kind.DEFENDER)
    numbers = [
        r.notified_revision
        for r in recipients
        if r.organization_id in mine and r.notified_revision is not None
    ]
    return min(numbers) if numbers else None


def revision_current(finding: Finding) -> FindingRevision | None:
    return finding.revisions.order_by("-number").first()


def changes_since(
    finding: Finding, number: int | None, current: FindingRevision | None
) -> dict[str, Any] | None:
    """What changed between revision ``number`` and ``current``, for a notified defender.

    None when there is nothing to compare; ``diff`` is empty when nothing changed.
    """
    if number is None or current is None:
        return None
    if current.number == number:
        return {"since": number, "current": number, "diff": []}
    old = finding.revisions.filter(number=number).first()
    return {"since": number, "current": current.number, "diff": revision_diff(old, current)}
