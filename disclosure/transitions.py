"""The allowed state changes of a finding, as data, and the one function that makes them."""

from __future__ import annotations

from typing import Any

from .errors import Conflict
from .models import Finding

State = Finding.State

ALLOWED: dict[str, frozenset[str]] = {
    State.DRAFT: frozenset({State.SUBMITTED}),
    State.SUBMITTED: frozenset({State.ACCEPTED, State.REJECTED}),
    State.ACCEPTED: frozenset({State.EMBARGOED, State.REJECTED}),
    State.EMBARGOED: frozenset({State.RELEASED}),
    State.RELEASED: frozenset(),
    State.REJECTED: frozenset(),
}


def transition_check(finding: Finding, to: str) -> None:
    if to not in ALLOWED[finding.state]:
        raise Conflict(
            f"Finding {finding.reference} is {finding.state}; it cannot become {to}. "
            f"Allowed from {finding.state}: {', '.join(sorted(ALLOWED[finding.state])) or 'none'}."
        )


def transition(
    finding: Finding,
    to: str,
    *,
    actor: Any,
    note: str = "",
    data: dict[str, Any] | None = None,
    update_fields: tuple[str, ...] = (),
) -> None:
    """Move the finding to ``to`` and audit it. Call inside a transaction, the row locked."""
    from .services.audit import audit_record

    transition_check(finding, to)
    old = finding.state
    finding.state = to
    finding.save(update_fields=["state", "updated_at", *update_fields])
    audit_record(
        actor=actor,
        action=f"finding.{to}",
        finding=finding,
        from_state=old,
        to_state=to,
        note=note,
        data=data,
    )
