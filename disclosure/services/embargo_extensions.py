"""Extension requests: the lab or a notified defender asks for a later embargo end, with a
reason; a coordinator approves (the end moves: services.embargo.end_move) or denies, with a
note; the requester may withdraw. One pending request per organization.

While any request is pending the embargo is REVISING; it is ACTIVE again when none is. Every
change of the embargo's state or end tells the lab and every notified organization (thin
notice); a denial that changes neither is told to the requesting organization only.

A defender's request and its words stay between that organization and the coordinators: its
audit events are not filed under the finding (which the lab's audit trail lists), and others
see only that an extension was asked for (selectors_embargo).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization

from .. import policies
from ..errors import Conflict, NotAllowed, ValidationFailed
from ..models import Embargo, ExtensionRequest, Finding, FindingRecipient
from .embargo import (
    Kind,
    embargo_tell,
    end_move,
    event_record,
    finding_locked,
    require_coordinator,
    running_embargo,
)
from .embargo_policy import embargo_end_validate, embargo_policy_check, reason_clean

Pending = ExtensionRequest.State.PENDING


def requester_organizations(
    actor: Any, finding: Finding, *, recipients: list[FindingRecipient] | None = None
) -> list[int]:
    """The organizations the actor may ask for: the finding's lab, its notified defenders.
    ``recipients``: the finding's rows, if the caller has them (saves a query)."""
    orgs = []
    if policies.is_lab_member(actor, finding):
        orgs.append(finding.developer_id)
    if recipients is None:
        orgs += sorted(policies.defender_orgs_for(actor, finding))
    else:
        mine = policies.org_ids(actor, Organization.Kind.DEFENDER)
        orgs += sorted(r.organization_id for r in recipients if r.organization_id in mine)
    return orgs


def _requesting_org(actor: Any, finding: Finding, organization: Organization | None) -> int:
    mine = requester_organizations(actor, finding)
    if not mine:
        raise NotAllowed(
            "Only the lab and notified defender organizations can ask for an extension; "
            "coordinators change the end directly."
        )
    if organization is not None:
        if organization.pk not in mine:
            raise ValidationFailed(
                {"organization": f"You cannot ask on behalf of {organization.slug}."}
            )
        return organization.pk
    if len(mine) > 1:
        slugs = (
            Organization.objects.filter(pk__in=mine).order_by("slug").values_list("slug", flat=True)
        )
        raise ValidationFailed(
            {"organization": f"Say which organization asks: {', '.join(slugs)}."}
        )
    return mine[0]


def _is_private(finding: Finding, organization_id: int) -> bool:
    """A defender's request is not the lab's to read (its audit events stay off the finding)."""
    return organization_id != finding.developer_id


@transaction.atomic
def extension_request(
    *,
    actor: Any,
    finding: Finding,
    ends_at: datetime,
    reason: str,
    organization: Organization | None = None,
) -> ExtensionRequest:
    """Ask for a later end: the lab, or a member of a notified defender organization.

    ``organization`` is needed only when the actor may ask for several. The end must be later
    than the current one and within EMBARGO_MAX_DAYS of the start; the policy's maximum is for
    the coordinator deciding.
    """
    org_id = _requesting_org(actor, finding, organization)
    reason = reason_clean(reason, field="reason", missing="Say why the embargo should last longer.")
    finding = finding_locked(finding)
    embargo = running_embargo(finding, "it cannot be extended")
    embargo_end_validate(ends_at, starts_at=embargo.starts_at, field="ends_at")
    if ends_at <= embargo.ends_at:
        raise ValidationFailed(
            {
                "ends_at": "An extension must end later than the current end, "
                f"{embargo.ends_at:%Y-%m-%d %H:%M} UTC."
            }
        )
    if ExtensionRequest.objects.filter(
        embargo=embargo, organization_id=org_id, state=Pending
    ).exists():
        raise Conflict(
            "Your organization has a pending extension request already; withdraw it first."
        )
    request = ExtensionRequest.objects.create(
        embargo=embargo,
        requested_by=actor,
        organization_id=org_id,
        requested_ends_at=ends_at,
        reason=reason,
    )
    was = embargo.state
    _state_follow(embargo)
    cause = event_record(
        embargo,
        Kind.EXTENSION_REQUESTED,
        actor=actor,
        finding=finding,
        old=embargo.ends_at,
        new=ends_at,
        reason=reason,
        data={"extension": request.pk, "organization": org_id},
        private=_is_private(finding, org_id),
    )
    if embargo.state != was:
        embargo_tell(finding, cause)
    return request


def _state_follow(embargo: Embargo) -> None:
    """REVISING while a request is pending, ACTIVE when none is."""
    pending = ExtensionRequest.objects.filter(embargo=embargo, state=Pending).exists()
    state = Embargo.State.REVISING if pending else Embargo.State.ACTIVE
    if embargo.state != state:
        embargo.state = state
        embargo.save(update_fields=["state", "updated_at"])


def _request_locked(request: ExtensionRequest) -> tuple[Finding, Embargo, ExtensionRequest]:
    """The finding, its embargo and the request, locked in that order (as every writer does)."""
    finding = finding_locked(request.embargo.finding)
    embargo = Embargo.objects.select_for_update().get(pk=request.embargo_id)
    row = ExtensionRequest.objects.select_for_update().get(pk=request.pk)
    if row.state != Pending:
        raise Conflict(f"This extension request is {row.state} already.")
    return finding, embargo, row


def _decided(row: ExtensionRequest, state: str, actor: Any, note: str) -> None:
    row.state = state
    row.decided_by = actor
    row.decided_at = timezone.now()
    row.decision_note = note
    row.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])


@transaction.atomic
def extension_decide(
    *, actor: Any, request: ExtensionRequest, approve: bool, note: str = ""
) -> ExtensionRequest:
    """A coordinator approves (the end moves to the requested one) or denies (``note``
    required). Approving past the policy's maximum needs ``note`` as the written reason."""
    require_coordinator(actor, request.embargo.finding, "decide extension requests")
    note = reason_clean(
        note,
        field="note",
        missing="Say why the extension is denied; the requester reads it.",
        required=not approve,
    )
    finding, embargo, row = _request_locked(request)
    running_embargo(finding, "its extension requests cannot be decided")
    private = _is_private(finding, row.organization_id)
    data = {"extension": row.pk, "organization": row.organization_id}
    if not approve:
        _decided(row, ExtensionRequest.State.DENIED, actor, note)
        was = embargo.state
        _state_follow(embargo)
        cause = event_record(
            embargo,
            Kind.EXTENSION_DENIED,
            actor=actor,
            finding=finding,
            old=embargo.ends_at,
            new=row.requested_ends_at,
            reason=note,
            data=data,
            private=private,
        )
        embargo_tell(finding, cause, only=() if embargo.state != was else [row.organization])
        return row
    ends_at = row.requested_ends_at
    if ends_at <= embargo.ends_at:
        raise Conflict(
            "The embargo ends at or after the requested time already; deny the request instead."
        )
    embargo_end_validate(ends_at, starts_at=embargo.starts_at, field="ends_at")
    over = embargo_policy_check(
        finding,
        ends_at,
        starts_at=embargo.starts_at,
        reason=note,
        field="ends_at",
        reason_field="note",
    )
    _decided(row, ExtensionRequest.State.APPROVED, actor, note)
    _state_follow(embargo)
    end_move(
        actor=actor,
        finding=finding,
        embargo=embargo,
        ends_at=ends_at,
        reason=note,
        over_policy_reason=over,
        kind=Kind.EXTENSION_APPROVED,
        data=data,
        # The lab reads the finding's audit trail: a note to a defender stays with the request.
        audit_note="" if private else None,
    )
    return row


@transaction.atomic
def extension_withdraw(*, actor: Any, request: ExtensionRequest) -> ExtensionRequest:
    """The requester takes back a pending request."""
    if getattr(actor, "pk", None) != request.requested_by_id:
        raise NotAllowed("Only the person who asked can withdraw an extension request.")
    finding, embargo, row = _request_locked(request)
    _decided(row, ExtensionRequest.State.WITHDRAWN, actor, "")
    was = embargo.state
    _state_follow(embargo)
    from .audit import audit_record

    private = _is_private(finding, row.organization_id)
    cause = audit_record(
        actor=actor,
        action="embargo.extension_withdrawn",
        finding=None if private else finding,
        data={
            "extension": row.pk,
            "organization": row.organization_id,
            **({"finding": finding.reference} if private else {}),
        },
    )
    if embargo.state != was:
        embargo_tell(finding, cause)
    return row
