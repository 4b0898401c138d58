"""Filing findings: a lab creates, edits and submits them."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization

from .. import policies
from ..errors import NotAllowed, ValidationFailed
from ..models import Finding, ReferenceCounter
from ..transitions import transition
from .audit import audit_record

EDITABLE_FIELDS = (
    "model_name",
    "model_version",
    "title",
    "summary",
    "details",
    "category",
    "risk_level",
    "recommended_actions",
)
REQUIRED_FIELDS = ("model_name", "title", "summary", "details", "category", "risk_level")


def reference_next(*, year: int) -> str:
    """Hand out the next FW-<year>-<nnnn>; the counter row is locked, so numbers never repeat."""
    try:
        with transaction.atomic():
            ReferenceCounter.objects.create(year=year)
    except IntegrityError:
        pass
    counter = ReferenceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"FW-{year}-{counter.last_number:04d}"


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")
    cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()}
    errors: dict[str, str] = {}
    if "category" in cleaned and cleaned["category"] not in Finding.Category.values:
        errors["category"] = f"Choose one of: {', '.join(Finding.Category.values)}."
    if "risk_level" in cleaned and cleaned["risk_level"] not in Finding.RiskLevel.values:
        errors["risk_level"] = f"Choose one of: {', '.join(Finding.RiskLevel.values)}."
    for name in REQUIRED_FIELDS:
        if name in cleaned and not cleaned[name]:
            errors[name] = "This field may not be blank."
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def finding_create(*, actor: Any, developer: Organization, **fields: Any) -> Finding:
    if developer.kind != Organization.Kind.DEVELOPER or developer.pk not in policies.org_ids(
        actor, Organization.Kind.DEVELOPER
    ):
        raise NotAllowed("Only members of an AI developer organization can file its findings.")
    cleaned = _clean(fields)
    missing = [name for name in REQUIRED_FIELDS if not cleaned.get(name)]
    if missing:
        raise ValidationFailed({name: "This field is required." for name in missing})
    finding = Finding.objects.create(
        reference=reference_next(year=timezone.now().year),
        developer=developer,
        created_by=actor,
        **cleaned,
    )
    audit_record(actor=actor, action="finding.created", finding=finding, to_state=finding.state)
    return finding


@transaction.atomic
def finding_update(*, actor: Any, finding: Finding, **fields: Any) -> Finding:
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if not policies.can_edit_finding(actor, finding):
        raise NotAllowed("Only the lab can edit its finding, and only while it is a draft.")
    cleaned = _clean(fields)
    changed = {k: v for k, v in cleaned.items() if getattr(finding, k) != v}
    for name, value in changed.items():
        setattr(finding, name, value)
    if changed:
        finding.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=actor, action="finding.updated", finding=finding, data={"fields": sorted(changed)}
        )
    return finding


@transaction.atomic
def finding_submit(*, actor: Any, finding: Finding) -> Finding:
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if not policies.can_submit_finding(actor, finding):
        raise NotAllowed("Only the lab that filed the finding can submit it.")
    finding.submitted_at = timezone.now()
    transition(finding, Finding.State.SUBMITTED, actor=actor, update_fields=("submitted_at",))
    return finding
