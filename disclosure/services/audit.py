from __future__ import annotations

from typing import Any

from ..models import AuditEvent, Finding
from .audit_chain import audit_chain_seal_on_commit


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
    """Append an audit event. ``actor`` is None for the system (scheduler, sweeps).

    The model tags it; it is sealed into the hash chain once this transaction commits.
    """
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    event = AuditEvent.objects.create(
        actor=actor,
        action=action,
        finding=finding,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data or {},
    )
    audit_chain_seal_on_commit(event)
    return event


def finding_read_record(*, actor: Any, finding: Finding, via: str) -> None:
    """Record a read of embargoed content; reads of released advisories are not audited."""
    if finding.state == Finding.State.RELEASED:
        return
    audit_record(actor=actor, action="finding.read", finding=finding, data={"via": via})


def audit_export_record(*, actor: Any, fmt: str, filters: dict[str, str], rows: int) -> None:
    """Record an export of the audit trail: its format, the filters given and how many rows."""
    audit_record(
        actor=actor,
        action="audit.exported",
        data={"format": fmt, "filters": filters, "rows": rows},
    )
