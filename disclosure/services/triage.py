"""Coordinators decide what happens to a submitted finding; the lab answers and may withdraw.

Every move goes through transitions.transition (which enforces transitions.RULES and audits).
Outcomes the lab must hear of (information requested, accepted, rejected, duplicate) also write
thin TRIAGED emails to the lab's members through the outbox, in the same transaction. Messages
and reasons live in the audit note, read on the finding page, never in an email.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization

from .. import policies
from ..errors import Conflict, NotAllowed, ValidationFailed
from ..models import AuditEvent, Delivery, Finding
from ..transitions import transition, transition_check
from .audit import audit_record
from .embargo import audience_validate, embargo_accept_end, embargo_start
from .notify import deliveries_enqueue

State = Finding.State
MESSAGE_MAX_LENGTH = 10_000


def _locked(finding: Finding) -> Finding:
    # The relations the finding is shown with afterwards, loaded in the same query.
    return (
        Finding.objects.select_for_update(of=("self",))
        .select_related("developer", "category__taxonomy")
        .get(pk=finding.pk)
    )


def _text(value: str, *, field: str, missing: str, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed({field: missing})
    if len(text) > MESSAGE_MAX_LENGTH:
        raise ValidationFailed({field: f"Keep it under {MESSAGE_MAX_LENGTH} characters."})
    return text


def _tell_lab(finding: Finding, cause: AuditEvent) -> None:
    deliveries_enqueue(
        finding=finding,
        event=Delivery.Event.TRIAGED,
        organizations=[finding.developer],
        cause=cause,
    )


def _require_coordinator(actor: Any, what: str) -> None:
    if not policies.can_triage(actor):
        raise NotAllowed(f"Only coordinators can {what}.")


def _require_lab(actor: Any, finding: Finding, what: str) -> None:
    if not policies.is_lab_member(actor, finding):
        raise NotAllowed(f"Only the lab that filed the finding can {what}.")


@transaction.atomic
def finding_triage_start(*, actor: Any, finding: Finding) -> Finding:
    """A coordinator takes up a submitted finding (or resumes one waiting for the lab)."""
    _require_coordinator(actor, "triage findings")
    finding = _locked(finding)
    transition(finding, State.IN_TRIAGE, actor=actor)
    return finding


@transaction.atomic
def finding_request_info(*, actor: Any, finding: Finding, message: str) -> Finding:
    _require_coordinator(actor, "ask the lab for information")
    message = _text(message, field="message", missing="Say what the lab should tell you.")
    finding = _locked(finding)
    event = transition(finding, State.NEEDS_INFO, actor=actor, note=message)
    _tell_lab(finding, event)
    return finding


@transaction.atomic
def finding_provide_info(*, actor: Any, finding: Finding, response: str) -> Finding:
    """The lab answers a request for information; the finding goes back into triage.

    Edits to the finding's content go through intake.finding_update, separately.
    """
    _require_lab(actor, finding, "answer the coordinators")
    response = _text(response, field="response", missing="Write your answer to the coordinators.")
    finding = _locked(finding)
    if finding.state != State.NEEDS_INFO:
        raise Conflict(
            f"Finding {finding.reference} is {finding.state}; the coordinators have not asked "
            "for information."
        )
    transition(finding, State.IN_TRIAGE, actor=actor, note=response)
    return finding


@transaction.atomic
def finding_accept(
    *,
    actor: Any,
    finding: Finding,
    organizations: list[Organization],
    embargo_ends_at: datetime | None = None,
    note: str = "",
    over_policy_reason: str = "",
) -> Finding:
    """Accept, choose the defenders and start the embargo, all in one transaction.

    Without ``embargo_ends_at`` the proposed embargo's end is taken (services.embargo); past
    the policy's maximum for the risk level ``over_policy_reason`` is required.
    """
    _require_coordinator(actor, "accept findings")
    finding = _locked(finding)
    transition_check(finding, State.ACCEPTED)
    audience_validate(organizations)
    ends_at, over_policy_reason = embargo_accept_end(finding, embargo_ends_at, over_policy_reason)
    finding.accepted_at = timezone.now()
    event = transition(
        finding, State.ACCEPTED, actor=actor, note=note, update_fields=("accepted_at",)
    )
    _tell_lab(finding, event)
    return embargo_start(
        actor=actor,
        finding=finding,
        organizations=organizations,
        ends_at=ends_at,
        over_policy_reason=over_policy_reason,
    )


@transaction.atomic
def finding_reject(*, actor: Any, finding: Finding, reason: str) -> Finding:
    _require_coordinator(actor, "reject findings")
    reason = _text(reason, field="reason", missing="Say why the finding is rejected.")
    finding = _locked(finding)
    event = transition(finding, State.REJECTED, actor=actor, note=reason)
    _tell_lab(finding, event)
    return finding


def _original_for(finding: Finding, reference: str) -> Finding:
    """The finding this one duplicates: one coordinators see, never itself, never a duplicate
    (a duplicate's own original is taken instead, so chains stay one step long)."""
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed({"duplicate_of": "Give the reference of the original finding."})
    original = Finding.objects.select_related("duplicate_of").filter(reference=reference).first()
    if original is None or not policies.coordinators_see(original):
        raise ValidationFailed({"duplicate_of": f"No submitted finding {reference} exists."})
    if original.state == State.DUPLICATE and original.duplicate_of is not None:
        original = original.duplicate_of
    if original.pk == finding.pk:
        raise ValidationFailed({"duplicate_of": "A finding cannot be a duplicate of itself."})
    return original


@transaction.atomic
def finding_mark_duplicate(
    *, actor: Any, finding: Finding, duplicate_of: str, reason: str = ""
) -> Finding:
    """Close the finding as a duplicate of the finding with reference ``duplicate_of``."""
    _require_coordinator(actor, "mark findings as duplicates")
    reason = _text(reason, field="reason", missing="", required=False)
    finding = _locked(finding)
    transition_check(finding, State.DUPLICATE)
    original = _original_for(finding, duplicate_of)
    finding.duplicate_of = original
    event = transition(
        finding,
        State.DUPLICATE,
        actor=actor,
        note=reason,
        data={"duplicate_of": original.reference},
        update_fields=("duplicate_of",),
    )
    # Findings that named this one as their original now name its original instead.
    for earlier in Finding.objects.select_for_update().filter(duplicate_of=finding):
        earlier.duplicate_of = original
        earlier.save(update_fields=["duplicate_of", "updated_at"])
        audit_record(
            actor=actor,
            action="finding.duplicate_of_changed",
            finding=earlier,
            data={"from": finding.reference, "to": original.reference},
        )
    _tell_lab(finding, event)
    return finding


@transaction.atomic
def finding_withdraw(*, actor: Any, finding: Finding, reason: str) -> Finding:
    _require_lab(actor, finding, "withdraw it")
    reason = _text(reason, field="reason", missing="Say why the finding is withdrawn.")
    finding = _locked(finding)
    transition(finding, State.WITHDRAWN, actor=actor, note=reason)
    return finding


def _who(user: Any) -> str | None:
    return user.email if user is not None else None


@transaction.atomic
def finding_assign(*, actor: Any, finding: Finding, assignee: Any | None) -> Finding:
    """Give the finding to a coordinator, or to nobody (``assignee=None``)."""
    _require_coordinator(actor, "assign findings")
    if assignee is not None and not policies.can_be_assignee(assignee):
        raise ValidationFailed(
            {"assignee": f"{assignee.email} is not an active member of a coordination center."}
        )
    finding = (
        Finding.objects.select_for_update(of=("self",))
        .select_related("assignee")
        .get(pk=finding.pk)
    )
    if not policies.can_assign(actor, finding):
        raise Conflict(f"Finding {finding.reference} is {finding.state}; it cannot be assigned.")
    previous = finding.assignee
    if (previous.pk if previous else None) == (assignee.pk if assignee else None):
        return finding  # nothing changes, nothing to audit
    finding.assignee = assignee
    finding.save(update_fields=["assignee", "updated_at"])
    audit_record(
        actor=actor,
        action="finding.assigned",
        finding=finding,
        note=f"Assigned to {_who(assignee) or 'nobody'}.",
        data={"from": _who(previous), "to": _who(assignee)},
    )
    return finding
