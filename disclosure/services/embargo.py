"""Embargoes: when a finding's details may go to the public, and how that time is negotiated.

A coordinator proposes an embargo while the finding is in triage (the lab sees it and may
answer in the discussion); accepting the finding activates it (``embargo_start``). While it is
active a coordinator moves its end (``embargo_end_set``, the one function that moves it), the lab
or a notified defender asks for a later one (services.embargo_extensions), and it ends on time
or by a break (services.embargo_ending). The checks of an end and the policy per risk level are
services.embargo_policy's.

``Finding.embargo_ends_at`` and the plan's public stage stay in step with ``Embargo.ends_at``.
Every change writes an EmbargoEvent (the embargo's history) and an audit event whose data names
it (``embargo_event``), and tells the lab and every notified organization by a thin notice
(Delivery.Event.EMBARGO_CHANGED: reference, TLP label, the end in UTC, a link).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization

from .. import policies
from ..errors import Conflict, NotAllowed, ValidationFailed
from ..models import (
    AuditEvent,
    Delivery,
    Embargo,
    EmbargoEvent,
    Finding,
    FindingRecipient,
    ReleaseStage,
)
from ..timezones import format_zoned
from ..transitions import transition
from .audit import audit_record
from .embargo_policy import (
    embargo_end_validate,
    embargo_policy_check,
    end_checked,
    policy_max_days,
    reason_clean,
)
from .notify import deliveries_enqueue

State = Finding.State
Kind = EmbargoEvent.Kind
# Findings a coordinator may propose an embargo for: still being triaged.
PROPOSABLE_STATES = frozenset({State.SUBMITTED, State.IN_TRIAGE, State.NEEDS_INFO})
# Embargo states in which the end can move and extensions can be asked.
RUNNING = frozenset({Embargo.State.ACTIVE, Embargo.State.REVISING})


# --- Reading.


def embargo_for(finding: Finding) -> Embargo | None:
    """The finding's embargo (proposed, running or ended), or None."""
    return Embargo.objects.filter(finding_id=finding.pk).first()


# --- Checking an audience.


def audience_validate(organizations: list[Organization]) -> list[Organization]:
    if not organizations:
        raise ValidationFailed(
            {"defender_organizations": "Choose at least one defender organization."}
        )
    wrong = [o.slug for o in organizations if o.kind != Organization.Kind.DEFENDER]
    if wrong:
        raise ValidationFailed(
            {"defender_organizations": f"Not defender organizations: {', '.join(wrong)}."}
        )
    # Only a verified organization may receive embargoed material (accounts.registry).
    unverified = [o.slug for o in organizations if not o.is_verified]
    if unverified:
        raise ValidationFailed(
            {
                "defender_organizations": "Not verified (applied, rejected or suspended "
                f"organizations receive no embargoed material): {', '.join(unverified)}."
            }
        )
    return organizations


# --- Writing the history and telling everyone.


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def actor_user(actor: Any) -> Any:
    """The user behind ``actor``, or None for the system (an anonymous or missing actor)."""
    return actor if getattr(actor, "is_authenticated", False) else None


def event_record(
    embargo: Embargo,
    kind: str,
    *,
    actor: Any,
    finding: Finding,
    old: datetime | None = None,
    new: datetime | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    private: bool = False,
    audit_note: str | None = None,
) -> AuditEvent:
    """One EmbargoEvent and its audit event (``embargo.<kind>``), which it returns (the cause
    of the notices). ``private``: the audit event is not filed under the finding, so that a
    defender's words stay out of the lab's audit trail (like readiness reports); its data
    names the finding's reference instead. ``audit_note``: the audit event's note, if it is
    not ``reason`` (the EmbargoEvent keeps the reason; selectors_embargo shows it to whom it
    concerns)."""
    event = EmbargoEvent.objects.create(
        embargo=embargo,
        kind=kind,
        actor=actor_user(actor),
        old_ends_at=old,
        new_ends_at=new,
        reason=reason,
    )
    payload = {
        "embargo_event": event.pk,
        "old_ends_at": _iso(old),
        "new_ends_at": _iso(new),
        **(data or {}),
    }
    if private:
        payload["finding"] = finding.reference
    return audit_record(
        actor=actor,
        action=f"embargo.{kind}",
        finding=None if private else finding,
        note="" if private else (reason if audit_note is None else audit_note),
        data=payload,
    )


def embargo_tell(finding: Finding, cause: AuditEvent, *, only: Iterable[Organization] = ()) -> None:
    """The thin EMBARGO_CHANGED notice: to the lab and every notified organization (or only
    to ``only``)."""
    organizations = list(only) or [
        *Organization.objects.filter(recipient_of__finding=finding),
        finding.developer,
    ]
    deliveries_enqueue(
        finding=finding,
        event=Delivery.Event.EMBARGO_CHANGED,
        organizations=organizations,
        cause=cause,
    )


# --- Locks and checks shared by the services.


def finding_locked(finding: Finding) -> Finding:
    return (
        Finding.objects.select_for_update(of=("self",))
        .select_related("developer", "category__taxonomy")
        .get(pk=finding.pk)
    )


def embargo_locked(finding: Finding) -> Embargo | None:
    return Embargo.objects.select_for_update().filter(finding_id=finding.pk).first()


def running_embargo(finding: Finding, what: str) -> Embargo:
    """The finding's embargo, locked, if it is running (active or being revised); else 409."""
    if finding.state == State.RELEASED:
        raise Conflict(
            f"Finding {finding.reference} is released; its embargo has ended, so {what}."
        )
    embargo = embargo_locked(finding)
    if finding.state != State.EMBARGOED or embargo is None or embargo.state not in RUNNING:
        raise Conflict(
            f"Finding {finding.reference} is {finding.state} and has no running embargo, so {what}."
        )
    return embargo


def require_coordinator(actor: Any, finding: Finding, what: str) -> None:
    if not policies.can_manage_embargo(actor, finding):
        raise NotAllowed(f"Only coordinators can {what}.")


# --- Proposing and starting.


@transaction.atomic
def embargo_propose(
    *, actor: Any, finding: Finding, ends_at: datetime, reason: str = ""
) -> Embargo:
    """Propose an embargo end while the finding is in triage; proposing again replaces it.

    The lab sees the proposal (and is told by a thin notice) and may answer in the discussion;
    accepting the finding without an end of its own takes it.
    """
    require_coordinator(actor, finding, "propose an embargo")
    reason = reason_clean(reason, field="reason", required=False)
    finding = finding_locked(finding)
    if finding.state not in PROPOSABLE_STATES:
        raise Conflict(
            f"Finding {finding.reference} is {finding.state}; an embargo is proposed while it is "
            "submitted, in triage or waiting for information."
        )
    embargo_end_validate(ends_at, field="ends_at")
    over = embargo_policy_check(finding, ends_at, reason=reason)
    embargo = embargo_locked(finding)
    old = embargo.ends_at if embargo is not None else None
    if embargo is None:
        embargo = Embargo(finding=finding, created_by=actor)
    elif embargo.state != Embargo.State.PROPOSED:  # cannot happen before acceptance
        raise Conflict(f"The embargo of {finding.reference} is {embargo.state} already.")
    embargo.ends_at = ends_at
    embargo.policy_max_days = policy_max_days(finding)
    embargo.over_policy_reason = over
    embargo.save()
    cause = event_record(
        embargo, Kind.PROPOSED, actor=actor, finding=finding, old=old, new=ends_at, reason=reason
    )
    embargo_tell(finding, cause, only=[finding.developer])
    return embargo


def embargo_accept_end(
    finding: Finding, ends_at: datetime | None, over_policy_reason: str = ""
) -> tuple[datetime, str]:
    """The end an acceptance starts the embargo with, checked, and its over-policy reason.

    Without an end of its own, the proposed one (and its reason, unless one is given)."""
    if ends_at is None:
        proposal = embargo_for(finding)
        if proposal is None or proposal.state != Embargo.State.PROPOSED:
            raise ValidationFailed(
                {"embargo_ends_at": "Give the embargo end: no embargo was proposed."}
            )
        ends_at = proposal.ends_at
        over_policy_reason = over_policy_reason or proposal.over_policy_reason
    embargo_end_validate(ends_at)
    over = embargo_policy_check(
        finding,
        ends_at,
        reason=over_policy_reason,
        field="embargo_ends_at",
        reason_field="over_policy_reason",
    )
    return ends_at, over


def embargo_start(
    *,
    actor: Any,
    finding: Finding,
    organizations: list[Organization],
    ends_at: datetime,
    over_policy_reason: str = "",
) -> Finding:
    """Notify the audience and start the embargo. Call inside a transaction, the row locked,
    the end checked (embargo_accept_end)."""
    # The revision they are told of, so that they can later see what changed since.
    revision = finding.revisions.order_by("-number").values_list("number", flat=True).first()
    FindingRecipient.objects.bulk_create(
        [
            FindingRecipient(
                finding=finding, organization=o, added_by=actor, notified_revision=revision
            )
            for o in organizations
        ],
        ignore_conflicts=True,
    )
    finding.embargo_ends_at = ends_at
    cause = transition(
        finding,
        Finding.State.EMBARGOED,
        actor=actor,
        data={
            "embargo_ends_at": ends_at.isoformat(),
            "audience": sorted(o.slug for o in organizations),
        },
        update_fields=("embargo_ends_at",),
    )
    deliveries_enqueue(
        finding=finding, event=Delivery.Event.NOTIFIED, organizations=organizations, cause=cause
    )
    _activate(actor=actor, finding=finding, ends_at=ends_at, reason=over_policy_reason)
    from .stages import plan_default  # stages imports this module's neighbours

    plan_default(actor=actor, finding=finding, cause=cause)
    return finding


def _activate(*, actor: Any, finding: Finding, ends_at: datetime, reason: str) -> Embargo:
    """The proposal (or a new embargo) becomes active now. Those told of the acceptance (the
    lab, the audience) need no other notice."""
    embargo = embargo_locked(finding) or Embargo(finding=finding, created_by=actor)
    old = embargo.ends_at if embargo.pk is not None else None
    embargo.state = Embargo.State.ACTIVE
    embargo.starts_at = timezone.now()
    embargo.ends_at = ends_at
    embargo.policy_max_days = policy_max_days(finding)
    embargo.over_policy_reason = reason
    embargo.save()
    event_record(
        embargo, Kind.ACTIVATED, actor=actor, finding=finding, old=old, new=ends_at, reason=reason
    )
    return embargo


# --- Moving the end.


def end_move(
    *,
    actor: Any,
    finding: Finding,
    embargo: Embargo,
    ends_at: datetime,
    reason: str,
    over_policy_reason: str,
    kind: str = Kind.CHANGED,
    data: dict[str, Any] | None = None,
    audit_note: str | None = None,
) -> AuditEvent:
    """Move a running embargo's end, checked already: the embargo, the finding and the plan's
    public stage, the history, the notice and the precise trigger. Inside a transaction, the
    finding and the embargo locked. Returns the audit event."""
    later = (
        ReleaseStage.objects.filter(
            finding=finding, fired_at__isnull=True, scheduled_at__gte=ends_at
        )
        .exclude(audience=ReleaseStage.Audience.PUBLIC)
        .order_by("position")
        .first()
    )
    if later is not None:
        raise ValidationFailed(
            {
                "ends_at": f"Stage {later.position} of the release plan is at "
                f"{format_zoned(later.scheduled_at, None)}, not before the new end; change "
                "the plan first."
            }
        )
    old = embargo.ends_at
    embargo.ends_at = ends_at
    embargo.policy_max_days = policy_max_days(finding)
    embargo.over_policy_reason = over_policy_reason
    embargo.save(update_fields=["ends_at", "policy_max_days", "over_policy_reason", "updated_at"])
    finding.embargo_ends_at = ends_at
    finding.save(update_fields=["embargo_ends_at", "updated_at"])
    ReleaseStage.objects.filter(
        finding=finding, audience=ReleaseStage.Audience.PUBLIC, fired_at__isnull=True
    ).update(scheduled_at=ends_at)
    cause = event_record(
        embargo,
        kind,
        actor=actor,
        finding=finding,
        old=old,
        new=ends_at,
        reason=reason,
        data=data,
        audit_note=audit_note,
    )
    embargo_tell(finding, cause)
    from .stages import stages_trigger_arm

    stages_trigger_arm(finding=finding)
    return cause


@transaction.atomic
def embargo_end_set(
    *, actor: Any, finding: Finding, ends_at: datetime, reason: str = ""
) -> Embargo:
    """A coordinator moves the end of a running embargo (the one function that moves it).

    Updates Embargo.ends_at, Finding.embargo_ends_at and the plan's public stage, writes the
    history, tells the lab and every notified organization, and re-arms the precise trigger.
    Past the policy's maximum ``reason`` is required and stored. The same end changes nothing.
    """
    require_coordinator(actor, finding, "change an embargo's end")
    reason = reason_clean(reason, field="reason", required=False)
    finding = finding_locked(finding)
    embargo = running_embargo(finding, "its end cannot change")
    if ends_at == embargo.ends_at:
        return embargo
    over = end_checked(finding, embargo, ends_at, reason=reason)
    end_move(
        actor=actor,
        finding=finding,
        embargo=embargo,
        ends_at=ends_at,
        reason=reason,
        over_policy_reason=over,
    )
    return embargo
