"""Findings in each triage state, made through the services, for triage and discussion tests."""

from __future__ import annotations

from disclosure.models import Finding
from disclosure.services import triage

State = Finding.State


def in_triage(world, **overrides) -> Finding:
    return triage.finding_triage_start(
        actor=world.coordinator, finding=world.submitted(**overrides)
    )


def needs_info(world, message: str = "Which checkpoint did you evaluate?") -> Finding:
    return triage.finding_request_info(
        actor=world.coordinator, finding=in_triage(world), message=message
    )


def duplicate(world) -> Finding:
    original = world.submitted()
    return triage.finding_mark_duplicate(
        actor=world.coordinator, finding=world.submitted(), duplicate_of=original.reference
    )


def withdrawn(world) -> Finding:
    return triage.finding_withdraw(
        actor=world.lab_user, finding=world.submitted(), reason="Filed against the wrong model."
    )


def finding_in(world, state: str) -> Finding:
    """A finding of world.lab in ``state``, reached the way users reach it."""
    makers = {
        State.IN_TRIAGE: lambda: in_triage(world),
        State.NEEDS_INFO: lambda: needs_info(world),
        State.DUPLICATE: lambda: duplicate(world),
        State.WITHDRAWN: lambda: withdrawn(world),
    }
    if state in makers:
        return makers[state]()
    return world.in_state(state)
