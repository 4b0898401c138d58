"""How an embargo ends: broken early by a coordinator, which releases the finding at once, or
on time, when services.release makes the finding public.

Either way requests still pending are denied (there is nothing left to extend). A break
writes the history and tells everyone (services.embargo); the release on time is told by the
"released" notice.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from ..errors import ValidationFailed
from ..models import Embargo, ExtensionRequest, Finding
from .embargo import (
    Kind,
    actor_user,
    embargo_locked,
    embargo_tell,
    event_record,
    finding_locked,
    require_coordinator,
    running_embargo,
)
from .embargo_policy import reason_clean


def _close_pending(embargo: Embargo, *, actor: Any, note: str) -> int:
    """Requests still pending when the embargo ends are denied: there is nothing to extend."""
    return ExtensionRequest.objects.filter(
        embargo=embargo, state=ExtensionRequest.State.PENDING
    ).update(
        state=ExtensionRequest.State.DENIED,
        decided_by=actor_user(actor),
        decided_at=timezone.now(),
        decision_note=note,
    )


@transaction.atomic
def embargo_break(*, actor: Any, finding: Finding, kind: str, reason: str) -> Embargo:
    """A coordinator ends the embargo early (details leaked, exploitation seen, published
    elsewhere): the embargo ends now, BROKEN, and the finding is released at once, in this
    transaction (every stage not yet fired fires first; services.stages)."""
    require_coordinator(actor, finding, "break an embargo")
    if kind not in Embargo.BreakKind.values:
        raise ValidationFailed({"kind": f"Choose one of: {', '.join(Embargo.BreakKind.values)}."})
    reason = reason_clean(
        reason, field="reason", missing="Say why the embargo is broken; everyone told reads it."
    )
    finding = finding_locked(finding)
    embargo = running_embargo(finding, "it cannot be broken")
    now = timezone.now()
    old = embargo.ends_at
    embargo.state = Embargo.State.ENDED
    embargo.end_kind = Embargo.EndKind.BROKEN
    embargo.break_kind = kind
    embargo.break_reason = reason
    embargo.ended_at = now
    embargo.ends_at = now
    embargo.save()
    finding.embargo_ends_at = now
    finding.save(update_fields=["embargo_ends_at", "updated_at"])
    _close_pending(embargo, actor=actor, note="The embargo was broken.")
    cause = event_record(
        embargo,
        Kind.BROKEN,
        actor=actor,
        finding=finding,
        old=old,
        new=now,
        reason=reason,
        data={"kind": kind},
    )
    embargo_tell(finding, cause)
    from .stages import stages_fire_all_now  # stages imports this module's neighbours

    stages_fire_all_now(
        actor=actor, finding=finding, data={"embargo": "broken", "break_kind": kind}
    )
    return embargo


def embargo_released_locked(finding: Finding, *, actor: Any = None) -> None:
    """The finding has just been released (services.release): a running embargo ended on time.
    A broken one has ended already. Inside the release's transaction, the finding locked."""
    embargo = embargo_locked(finding)
    if embargo is None or embargo.state == Embargo.State.ENDED:
        return
    embargo.state = Embargo.State.ENDED
    embargo.end_kind = Embargo.EndKind.RELEASED
    embargo.ended_at = finding.released_at or timezone.now()
    embargo.save(update_fields=["state", "end_kind", "ended_at", "updated_at"])
    _close_pending(embargo, actor=None, note="The embargo ended: the finding was released.")
    event_record(
        embargo, Kind.ENDED, actor=actor, finding=finding, old=embargo.ends_at, new=embargo.ended_at
    )
