"""What notified defenders report back, what the app notices of them, and reminders.

- Acknowledging and reporting readiness (acknowledged, preparing, ready, not affected, with an
  optional statement) are per organization. Both are allowed after the release too: a "ready"
  or "not affected" is still worth knowing then.
- "Seen": the first time one of an organization's users opens the embargoed details.
- Reminders: an organization that has not acknowledged READINESS_REMINDER_HOURS after it was
  notified is reminded once per threshold; ``reminders_sent`` is the guard against repeats.

Readiness reports are audited without the finding link (the finding's reference is in the
data) and without the statement, like discussion posts: the lab reads the finding's audit
trail, and a defender's posture is for the coordinators.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization

from .. import policies
from ..errors import NotAllowed, ValidationFailed
from ..models import Delivery, Finding, FindingRecipient
from .audit import audit_record
from .notify import deliveries_enqueue

logger = logging.getLogger(__name__)

Readiness = FindingRecipient.Readiness
# What a defender may report: anything but going back to "not yet assessed".
REPORTABLE = tuple(r for r in Readiness.values if r != Readiness.NOT_ASSESSED)
STATEMENT_MAX_LENGTH = 2000


def _acknowledge(row: FindingRecipient, actor: Any, now: Any) -> list[str]:
    """Mark the row acknowledged (and its readiness, if not yet assessed); the changed fields."""
    row.acknowledged_at = now
    row.acknowledged_by = actor
    changed = ["acknowledged_at", "acknowledged_by"]
    if row.readiness == Readiness.NOT_ASSESSED:
        row.readiness = Readiness.ACKNOWLEDGED
        row.readiness_updated_at = now
        row.readiness_updated_by = actor
        changed += ["readiness", "readiness_updated_at", "readiness_updated_by"]
    audit_record(
        actor=actor,
        action="finding.acknowledged",
        finding=row.finding,
        data={"organization": row.organization_id},
    )
    return changed


@transaction.atomic
def finding_acknowledge(*, actor: Any, finding: Finding) -> list[FindingRecipient]:
    """Acknowledge for each of the actor's notified organizations; repeating changes nothing."""
    if not policies.can_acknowledge(actor, finding):
        raise NotAllowed("Only members of a notified defender organization can acknowledge.")
    orgs = policies.defender_orgs_for(actor, finding)
    rows = list(
        FindingRecipient.objects.select_for_update().filter(
            finding=finding, organization_id__in=orgs
        )
    )
    now = timezone.now()
    for row in rows:
        if row.acknowledged_at is None:
            row.finding = finding
            row.save(update_fields=_acknowledge(row, actor, now))
    return rows


def _statement(value: str) -> str:
    text = (value or "").strip()
    if len(text) > STATEMENT_MAX_LENGTH:
        raise ValidationFailed(
            {"statement": f"Keep the statement under {STATEMENT_MAX_LENGTH} characters."}
        )
    return text


def _row_for(actor: Any, finding: Finding, organization: Organization | None) -> FindingRecipient:
    """The actor's organization's row, locked: the one given, or the only one there is."""
    orgs = policies.defender_orgs_for(actor, finding)
    if organization is not None:
        if organization.pk not in orgs:
            raise ValidationFailed(
                {
                    "organization": f"You can report for {organization.slug} only as a member "
                    "of it, and only if it was notified of this finding."
                }
            )
        orgs = frozenset({organization.pk})
    elif len(orgs) > 1:
        raise ValidationFailed(
            {"organization": "You belong to several notified organizations; say which one."}
        )
    return (
        FindingRecipient.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(finding=finding, organization_id__in=orgs)
    )


@transaction.atomic
def readiness_report(
    *,
    actor: Any,
    finding: Finding,
    readiness: str,
    statement: str = "",
    organization: Organization | None = None,
) -> FindingRecipient:
    """Report the readiness of the actor's notified organization, with an optional statement.

    ``organization`` is needed only when the actor belongs to several notified organizations.
    The first report also acknowledges. Reporting the same again changes and audits nothing.
    """
    if not policies.can_acknowledge(actor, finding):
        raise NotAllowed(
            "Only members of a notified defender organization can report their readiness."
        )
    if readiness not in REPORTABLE:
        raise ValidationFailed({"readiness": f"Use one of: {', '.join(REPORTABLE)}."})
    statement = _statement(statement)
    row = _row_for(actor, finding, organization)
    row.finding = finding
    if row.readiness == readiness and row.readiness_statement == statement:
        return row
    now = timezone.now()
    changed = ["readiness", "readiness_statement", "readiness_updated_at", "readiness_updated_by"]
    old, old_statement = row.readiness, row.readiness_statement
    if row.acknowledged_at is None:
        changed += _acknowledge(row, actor, now)
    row.readiness = readiness
    row.readiness_statement = statement
    row.readiness_updated_at = now
    row.readiness_updated_by = actor
    row.save(update_fields=list(dict.fromkeys(changed)))
    audit_record(
        actor=actor,
        action="finding.readiness_reported",
        data={
            "finding": finding.reference,
            "organization": row.organization.slug,
            "from": old,
            "to": readiness,
            "statement_changed": statement != old_statement,
        },
    )
    return row


def finding_seen_record(*, actor: Any, finding: Finding) -> None:
    """The first time a member of a notified organization opens the embargoed details.

    One conditional UPDATE per read by a defender (nothing for anyone else); the rare read that
    sets it also audits "finding.seen", once per organization however many read at once.
    """
    if finding.state != Finding.State.EMBARGOED:
        return
    mine = policies.org_ids(actor, Organization.Kind.DEFENDER)
    if not mine:
        return
    now = timezone.now()
    # No savepoint: the common read costs exactly the one UPDATE below.
    with transaction.atomic(savepoint=False):
        updated = FindingRecipient.objects.filter(
            finding=finding, organization_id__in=mine, first_seen_at__isnull=True
        ).update(first_seen_at=now, first_seen_by=actor)
        if not updated:
            return
        seen: Any = mine  # one organization (the usual case): no need to ask which
        if len(mine) > 1:
            seen = FindingRecipient.objects.filter(
                finding=finding, organization_id__in=mine, first_seen_at=now, first_seen_by=actor
            ).values_list("organization_id", flat=True)
        for org_id in seen:
            audit_record(
                actor=actor,
                action="finding.seen",
                finding=finding,
                data={"organization": org_id},
            )


# --- Reminders to acknowledge.


def reminder_thresholds() -> list[timedelta]:
    return [timedelta(hours=h) for h in sorted(settings.READINESS_REMINDER_HOURS)]


def _reminders_due_filter(now: Any) -> Q:
    """Rows whose next reminder is due: reminders_sent == k and added at least threshold[k] ago."""
    due = Q(pk__in=[])
    for k, threshold in enumerate(reminder_thresholds()):
        due |= Q(reminders_sent=k, added_at__lte=now - threshold)
    return due


def reminders_due(*, limit: int = 500) -> list[int]:
    """Recipients of embargoed findings, not acknowledged, whose next reminder is due."""
    now = timezone.now()
    return list(
        FindingRecipient.objects.filter(
            _reminders_due_filter(now),
            finding__state=Finding.State.EMBARGOED,
            acknowledged_at__isnull=True,
        )
        .order_by("added_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def reminder_send(*, recipient_id: int) -> bool:
    """Remind one organization, if still due; True if this call sent the reminder.

    The row is locked and re-checked, and ``reminders_sent`` moves on in the same transaction
    as the audit event and the outbox rows, so repeated or concurrent runs never send twice.
    When several thresholds have passed (the scheduler was down), one reminder covers them all.
    """
    now = timezone.now()
    row = (
        FindingRecipient.objects.select_for_update(of=("self",))
        .select_related("finding", "organization")
        .filter(
            _reminders_due_filter(now),
            pk=recipient_id,
            finding__state=Finding.State.EMBARGOED,
            acknowledged_at__isnull=True,
        )
        .first()
    )
    if row is None:
        return False
    passed = sum(1 for t in reminder_thresholds() if now - row.added_at >= t)
    row.reminders_sent = passed
    row.last_reminded_at = now
    row.save(update_fields=["reminders_sent", "last_reminded_at"])
    cause = audit_record(
        actor=None,
        action="finding.reminded",
        finding=row.finding,
        data={"organization": row.organization_id, "reminder": passed},
    )
    deliveries_enqueue(
        finding=row.finding,
        event=Delivery.Event.REMINDER,
        organizations=[row.organization],
        cause=cause,
    )
    return True


def reminders_send(*, limit: int = 500) -> int:
    """Send every reminder that is due, each in its own transaction; how many were sent."""
    sent = 0
    for pk in reminders_due(limit=limit):
        sent += reminder_send(recipient_id=pk)
    return sent
