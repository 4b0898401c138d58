"""The allowed state changes of a finding and who may make each, as data; one function
enforces them."""

from __future__ import annotations

from typing import Any

from . import policies
from .errors import Conflict, NotAllowed
from .models import AuditEvent, Finding

State = Finding.State
LAB, COORDINATOR, SYSTEM = "lab", "coordinator", "system"

# (from, to) -> who may make that change. SYSTEM is the scheduler (no user).
RULES: dict[tuple[str, str], frozenset[str]] = {
    (State.DRAFT, State.SUBMITTED): frozenset({LAB}),
    (State.DRAFT, State.WITHDRAWN): frozenset({LAB}),
    (State.SUBMITTED, State.IN_TRIAGE): frozenset({COORDINATOR}),
    (State.SUBMITTED, State.ACCEPTED): frozenset({COORDINATOR}),
    (State.SUBMITTED, State.REJECTED): frozenset({COORDINATOR}),
    (State.SUBMITTED, State.DUPLICATE): frozenset({COORDINATOR}),
    (State.SUBMITTED, State.WITHDRAWN): frozenset({LAB}),
    (State.IN_TRIAGE, State.NEEDS_INFO): frozenset({COORDINATOR}),
    (State.IN_TRIAGE, State.ACCEPTED): frozenset({COORDINATOR}),
    (State.IN_TRIAGE, State.REJECTED): frozenset({COORDINATOR}),
    (State.IN_TRIAGE, State.DUPLICATE): frozenset({COORDINATOR}),
    (State.IN_TRIAGE, State.WITHDRAWN): frozenset({LAB}),
    (State.NEEDS_INFO, State.IN_TRIAGE): frozenset({LAB, COORDINATOR}),
    (State.NEEDS_INFO, State.REJECTED): frozenset({COORDINATOR}),
    (State.NEEDS_INFO, State.DUPLICATE): frozenset({COORDINATOR}),
    (State.NEEDS_INFO, State.WITHDRAWN): frozenset({LAB}),
    (State.ACCEPTED, State.EMBARGOED): frozenset({COORDINATOR}),
    # A coordinator ends an embargo early (a break); the scheduler ends it on time.
    (State.EMBARGOED, State.RELEASED): frozenset({SYSTEM, COORDINATOR}),
}

ALLOWED: dict[str, frozenset[str]] = {
    state: frozenset(to for (src, to) in RULES if src == state) for state in State.values
}
# States a finding is never edited or moved out of by people: the end of the road.
FINAL_STATES = frozenset(s for s, targets in ALLOWED.items() if not targets)


def roles_of(actor: Any, finding: Finding) -> frozenset[str]:
    if actor is None:
        return frozenset({SYSTEM})
    roles = set()
    if policies.is_lab_member(actor, finding):
        roles.add(LAB)
    if policies.is_coordinator(actor):
        roles.add(COORDINATOR)
    return frozenset(roles)


def transition_check(
    finding: Finding, to: str, *, actor: Any = None, check_actor: bool = False
) -> None:
    if (finding.state, to) not in RULES:
        allowed = ", ".join(sorted(ALLOWED[finding.state])) or "none"
        raise Conflict(
            f"Finding {finding.reference} is {finding.state}; it cannot become {to}. "
            f"Allowed from {finding.state}: {allowed}."
        )
    if check_actor and not (RULES[(finding.state, to)] & roles_of(actor, finding)):
        who = " or ".join(sorted(RULES[(finding.state, to)]))
        raise NotAllowed(f"Only the {who} can move a {finding.state} finding to {to}.")


def transition(
    finding: Finding,
    to: str,
    *,
    actor: Any,
    note: str = "",
    data: dict[str, Any] | None = None,
    update_fields: tuple[str, ...] = (),
) -> AuditEvent:
    """Move the finding to ``to`` and audit it. Call inside a transaction, the row locked."""
    from .services.audit import audit_record

    transition_check(finding, to, actor=actor, check_actor=True)
    old = finding.state
    finding.state = to
    finding.save(update_fields=["state", "updated_at", *update_fields])
    return audit_record(
        actor=actor,
        action=f"finding.{to}",
        finding=finding,
        from_state=old,
        to_state=to,
        note=note,
        data=data,
    )
