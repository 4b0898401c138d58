from __future__ import annotations

from typing import Any

from ..models import AuditEvent, Finding


def audit_record(
    *,
    actor: Any,
    action: str,
    finding: Finding | None = None,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event. ``actor`` is None for the system (scheduler, sweeps)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        finding=finding,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data or {},
    )


def finding_read_record(*, actor: Any, finding: Finding, via: str) -> None:
    """Record a read of embargoed content; reads of released advisories are not audited."""
    if finding.state == Finding.State.RELEASED:
        return
    audit_record(actor=actor, action="finding.read", finding=finding, data={"via": via})
