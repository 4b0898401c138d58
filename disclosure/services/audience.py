"""Who is told of a finding: the proposed audience, and changes to it during the embargo.

The proposal is a suggestion for the coordinator, built from what verified defender
organizations asked for (subscriptions to a category at or above a risk level) and from the
sectors the finding names as affected. Organizations added during the embargo are told once,
as newcomers; those already notified hear nothing more. A removed organization's row is
deleted (the audit trail keeps its history), so it no longer sees the finding at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import Organization

from .. import policies
from ..errors import Conflict, NotAllowed, ValidationFailed
from ..models import Delivery, Finding, FindingRecipient, Subscription
from ..models.findings import RISK_ORDER, risk_rank
from .audit import audit_record
from .embargo import audience_validate
from .notify import deliveries_enqueue

State = Finding.State
Kind = Organization.Kind
REASON_MAX_LENGTH = 2000


@dataclass
class Proposal:
    organization: Organization
    reasons: list[str] = field(default_factory=list)


def defenders_verified() -> QuerySet[Organization]:
    """Every organization that may be chosen as audience: verified defenders."""
    return Organization.objects.filter(
        kind=Kind.DEFENDER, status=Organization.Status.VERIFIED
    ).order_by("name")


def audience_propose(finding: Finding) -> list[tuple[Organization, list[str]]]:
    """Verified defenders subscribed to the finding's category at or below its risk level, or
    working in a sector it affects, by name, each with why it is proposed. Two queries."""
    proposals: dict[int, Proposal] = {}
    at_or_below = RISK_ORDER[: risk_rank(finding.risk_level) + 1]
    subscriptions = (
        Subscription.objects.filter(
            category_id=finding.category_id,
            min_risk_level__in=at_or_below,
            organization__in=defenders_verified(),
        )
        .select_related("organization", "category")
        .order_by("organization_id")
    )
    for sub in subscriptions:
        proposals.setdefault(sub.organization_id, Proposal(sub.organization)).reasons.append(
            f"subscribed to {sub.category.label} >= {sub.min_risk_level}"
        )
    in_sectors = (
        Organization.sectors.through.objects.filter(
            sector__in=finding.affected_sectors.all(),
            organization__in=defenders_verified(),
        )
        .select_related("organization", "sector")
        .order_by("organization_id", "sector__position", "sector__name")
    )
    for row in in_sectors:
        proposals.setdefault(row.organization_id, Proposal(row.organization)).reasons.append(
            f"sector: {row.sector.name}"
        )
    ordered = sorted(proposals.values(), key=lambda p: (p.organization.name, p.organization.pk))
    return [(p.organization, p.reasons) for p in ordered]


def _require_coordinator(actor: Any, finding: Finding, what: str) -> None:
    if not policies.can_manage_audience(actor, finding):
        raise NotAllowed(f"Only coordinators can {what}.")


def _locked_embargoed(finding: Finding, what: str) -> Finding:
    finding = (
        Finding.objects.select_for_update(of=("self",))
        .select_related("developer", "category__taxonomy")
        .get(pk=finding.pk)
    )
    if finding.state != State.EMBARGOED:
        raise Conflict(
            f"Finding {finding.reference} is {finding.state}; {what} only while it is embargoed."
        )
    return finding


@transaction.atomic
def audience_add(
    *, actor: Any, finding: Finding, organizations: list[Organization]
) -> list[FindingRecipient]:
    """Notify more organizations of an embargoed finding; only the newcomers are told.

    Organizations already notified are skipped; if there is no newcomer at all, nothing is
    written and the call is refused. Returns the newcomers' rows.
    """
    _require_coordinator(actor, finding, "add organizations to the audience")
    finding = _locked_embargoed(finding, "organizations can be added")
    audience_validate(organizations)
    already = set(finding.recipients.values_list("organization_id", flat=True))
    newcomers = list({o.pk: o for o in organizations if o.pk not in already}.values())
    if not newcomers:
        names = ", ".join(sorted(o.slug for o in organizations))
        raise ValidationFailed({"defender_organizations": f"Already notified: {names}."})
    revision = finding.revisions.order_by("-number").values_list("number", flat=True).first()
    rows = FindingRecipient.objects.bulk_create(
        [
            FindingRecipient(
                finding=finding, organization=o, added_by=actor, notified_revision=revision
            )
            for o in newcomers
        ]
    )
    cause = audit_record(
        actor=actor,
        action="finding.audience_added",
        finding=finding,
        data={
            "organizations": sorted(o.slug for o in newcomers),
            "already_notified": sorted(o.slug for o in organizations if o.pk in already),
        },
    )
    deliveries_enqueue(
        finding=finding, event=Delivery.Event.NOTIFIED, organizations=newcomers, cause=cause
    )
    return rows


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@transaction.atomic
def audience_remove(
    *, actor: Any, finding: Finding, organization: Organization, reason: str
) -> None:
    """Take an organization out of an embargoed finding's audience; it no longer sees it.

    The row is deleted; the audit event keeps what it held (when it was added, acknowledged,
    first seen, reminded; its readiness history is in the readiness events). Its notifications
    not yet sent are cancelled.
    """
    _require_coordinator(actor, finding, "remove organizations from the audience")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "Say why the organization is removed."})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed({"reason": f"Keep it under {REASON_MAX_LENGTH} characters."})
    finding = _locked_embargoed(finding, "organizations can be removed")
    rows = list(finding.recipients.select_for_update().order_by("pk"))
    row = next((r for r in rows if r.organization_id == organization.pk), None)
    if row is None:
        raise ValidationFailed(
            {"organization": f"{organization.slug} is not notified of {finding.reference}."}
        )
    if len(rows) == 1:
        raise ValidationFailed(
            {"organization": "It is the only notified organization; at least one must stay."}
        )
    cancelled = Delivery.objects.filter(
        finding=finding,
        organization=organization,
        state=Delivery.State.PENDING,
    ).update(state=Delivery.State.FAILED, last_error="Removed from the audience.")
    audit_record(
        actor=actor,
        action="finding.audience_removed",
        finding=finding,
        note=reason,
        data={
            "organization": organization.slug,
            "organization_id": organization.pk,
            "added_at": row.added_at.isoformat(),
            "acknowledged_at": _iso(row.acknowledged_at),
            "first_seen_at": _iso(row.first_seen_at),
            "reminders_sent": row.reminders_sent,
            "deliveries_cancelled": cancelled,
        },
    )
    row.delete()
