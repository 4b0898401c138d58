"""Filing findings: a lab creates and submits them; the lab and coordinators edit them.

Every edit of content makes a revision (services.revisions).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization

from .. import policies
from ..errors import NotAllowed, ValidationFailed
from ..models import (
    CapabilityCategory,
    Evaluation,
    Finding,
    FindingRevision,
    Mitigation,
    ReferenceCounter,
    Sector,
)
from ..models.findings import risk_rank
from ..transitions import transition
from .audit import audit_record
from .revisions import finding_content, revision_record

SCALAR_FIELDS = (
    "model_name",
    "model_version",
    "deployment_surfaces",
    "planned_availability",
    "title",
    "summary",
    "details",
    "category",
    "risk_level",
    "residual_risk_level",
    "tlp",
    "recommended_actions",
)
RELATED_FIELDS = ("affected_sectors", "evaluations", "mitigations")
EDITABLE_FIELDS = SCALAR_FIELDS + RELATED_FIELDS
REQUIRED_FIELDS = ("model_name", "title", "summary", "details", "category", "risk_level")
EVALUATION_REQUIRED = ("name", "method", "checkpoint", "metric", "result", "evaluated_on")
EVALUATION_OPTIONAL = ("baseline", "uplift", "modifications")


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


def category_resolve(value: Any) -> CapabilityCategory:
    """A category from its key '<taxonomy slug>:<code>' (or the object itself)."""
    if isinstance(value, CapabilityCategory):
        return value
    slug, _, code = str(value).partition(":")
    category = (
        CapabilityCategory.objects.select_related("taxonomy")
        .filter(taxonomy__slug=slug, code=code)
        .first()
    )
    if category is None:
        raise ValidationFailed(
            {
                "category": (
                    f"Unknown taxonomy code {value!r}. Use '<taxonomy>:<code>', "
                    "e.g. 'openai-pf-v2:cybersecurity'; GET /api/taxonomies/ lists them."
                )
            }
        )
    return category


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationFailed({field: "Give a date as YYYY-MM-DD."}) from exc


def _choice_list(value: Any, choices: list[str], field: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed({field: "Give a list of strings."})
    unknown = [v for v in value if v not in choices]
    if unknown:
        raise ValidationFailed(
            {field: f"Unknown: {', '.join(unknown)}. Choose from: {', '.join(choices)}."}
        )
    return list(dict.fromkeys(value))


def _tlp(value: Any) -> str:
    label = str(value).strip().upper().removeprefix("TLP:")
    if label not in Finding.Tlp.values:
        raise ValidationFailed(
            {"tlp": f"Unknown TLP label {value!r}. Choose one of: {', '.join(Finding.Tlp.labels)}."}
        )
    return label


def _evaluations(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValidationFailed({"evaluations": "Give a list of evaluations."})
    cleaned = []
    for i, item in enumerate(value):
        where = f"evaluations[{i}]"
        if not isinstance(item, dict):
            raise ValidationFailed({where: "Each evaluation is an object."})
        unknown = set(item) - set(EVALUATION_REQUIRED) - set(EVALUATION_OPTIONAL)
        missing = [k for k in EVALUATION_REQUIRED if not str(item.get(k) or "").strip()]
        if unknown or missing:
            problems = [f"missing {', '.join(missing)}"] if missing else []
            problems += [f"unknown {', '.join(sorted(unknown))}"] if unknown else []
            raise ValidationFailed({where: "; ".join(problems) + "."})
        if item["checkpoint"] not in Evaluation.Checkpoint.values:
            choices = ", ".join(Evaluation.Checkpoint.values)
            raise ValidationFailed({f"{where}.checkpoint": f"Choose one of: {choices}."})
        mods = _choice_list(
            item.get("modifications", []), Evaluation.Modification.values, f"{where}.modifications"
        )
        if "none" in mods and len(mods) > 1:
            raise ValidationFailed({f"{where}.modifications": "'none' excludes the others."})
        cleaned.append(
            {
                **{k: str(item[k]).strip() for k in EVALUATION_REQUIRED if k != "evaluated_on"},
                "baseline": str(item.get("baseline") or "").strip(),
                "uplift": str(item.get("uplift") or "").strip(),
                "modifications": mods,
                "evaluated_on": _date(item["evaluated_on"], f"{where}.evaluated_on"),
            }
        )
    return cleaned


def _mitigations(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise ValidationFailed({"mitigations": "Give a list of mitigations."})
    cleaned = []
    for i, item in enumerate(value):
        where = f"mitigations[{i}]"
        if not isinstance(item, dict) or set(item) - {"description", "status"}:
            raise ValidationFailed({where: "Each mitigation is {description, status}."})
        if not str(item.get("description") or "").strip():
            raise ValidationFailed({f"{where}.description": "Describe the mitigation."})
        if item.get("status") not in Mitigation.Status.values:
            raise ValidationFailed(
                {f"{where}.status": f"Choose one of: {', '.join(Mitigation.Status.values)}."}
            )
        cleaned.append({"description": item["description"].strip(), "status": item["status"]})
    return cleaned


def _sectors(value: Any) -> list[Sector]:
    slugs = [s.slug if isinstance(s, Sector) else s for s in (value or [])]
    if not all(isinstance(s, str) for s in slugs):
        raise ValidationFailed({"affected_sectors": "Give a list of sector slugs."})
    sectors = list(Sector.objects.filter(slug__in=slugs))
    unknown = sorted(set(slugs) - {s.slug for s in sectors})
    if unknown:
        raise ValidationFailed(
            {"affected_sectors": f"Unknown sectors: {', '.join(unknown)}. GET /api/sectors/."}
        )
    return sectors


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate every given field; raise one error naming each bad field."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")
    cleaners = {
        "category": category_resolve,
        "tlp": _tlp,
        "planned_availability": lambda v: _date(v, "planned_availability"),
        "deployment_surfaces": lambda v: _choice_list(
            v, Finding.Surface.values, "deployment_surfaces"
        ),
        "evaluations": _evaluations,
        "mitigations": _mitigations,
        "affected_sectors": _sectors,
    }
    cleaned: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for name, value in fields.items():
        try:
            if name in cleaners:
                cleaned[name] = cleaners[name](value)
            elif value is None:
                cleaned[name] = ""
            elif not isinstance(value, str):
                raise ValidationFailed({name: "Give text."})
            else:
                cleaned[name] = value.strip()
        except ValidationFailed as exc:
            errors.update(exc.detail if isinstance(exc.detail, dict) else {name: exc.detail})
    for name in ("risk_level", "residual_risk_level"):
        value = cleaned.get(name)
        if value and value not in Finding.RiskLevel.values:
            errors[name] = f"Choose one of: {', '.join(Finding.RiskLevel.values)}."
    for name in REQUIRED_FIELDS:
        if name in cleaned and not cleaned[name]:
            errors[name] = "This field may not be blank."
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _check_risk(finding: Finding) -> None:
    if finding.residual_risk_level and risk_rank(finding.residual_risk_level) > risk_rank(
        finding.risk_level
    ):
        raise ValidationFailed(
            {
                "residual_risk_level": (
                    f"The risk after mitigations ({finding.residual_risk_level}) cannot exceed "
                    f"the risk before them ({finding.risk_level})."
                )
            }
        )


def _apply(finding: Finding, cleaned: dict[str, Any]) -> None:
    """Write the cleaned fields to the finding and its related rows (replace-all for lists)."""
    for name in SCALAR_FIELDS:
        if name in cleaned:
            setattr(finding, name, cleaned[name])
    _check_risk(finding)
    finding.save()
    if "affected_sectors" in cleaned:
        finding.affected_sectors.set(cleaned["affected_sectors"])
    if "evaluations" in cleaned:
        finding.evaluations.all().delete()
        Evaluation.objects.bulk_create(
            Evaluation(finding=finding, position=i, **item)
            for i, item in enumerate(cleaned["evaluations"])
        )
    if "mitigations" in cleaned:
        finding.mitigations.all().delete()
        Mitigation.objects.bulk_create(
            Mitigation(finding=finding, position=i, **item)
            for i, item in enumerate(cleaned["mitigations"])
        )


@transaction.atomic
def finding_create(*, actor: Any, developer: Organization, **fields: Any) -> Finding:
    if developer.kind != Organization.Kind.DEVELOPER or developer.pk not in policies.org_ids(
        actor, Organization.Kind.DEVELOPER
    ):
        raise NotAllowed("Only members of an AI developer organization can file its findings.")
    missing = [name for name in REQUIRED_FIELDS if fields.get(name) in (None, "")]
    if missing:
        raise ValidationFailed({name: "This field is required." for name in missing})
    cleaned = _clean(fields)
    finding = Finding(
        reference=reference_next(year=timezone.now().year), developer=developer, created_by=actor
    )
    _apply(finding, cleaned)
    audit_record(actor=actor, action="finding.created", finding=finding, to_state=finding.state)
    revision_record(actor=actor, finding=finding, previous=None)
    return finding


def content_write(
    *, actor: Any, finding: Finding, fields: dict[str, Any]
) -> FindingRevision | None:
    """Validate ``fields``, write them and record a revision; None when nothing changed.

    The caller holds the finding's row lock and has decided that ``actor`` may write
    (finding_update for open findings, services.advisories for released ones).
    """
    cleaned = _clean(fields)
    previous = finding_content(finding)
    _apply(finding, cleaned)
    return revision_record(actor=actor, finding=finding, previous=previous)


@transaction.atomic
def finding_update(*, actor: Any, finding: Finding, **fields: Any) -> Finding:
    finding = (
        Finding.objects.select_for_update().select_related("category__taxonomy").get(pk=finding.pk)
    )
    if not policies.can_edit_finding(actor, finding):
        raise NotAllowed(
            "Only the lab and coordinators can edit a finding, and not once it is released, "
            "rejected, a duplicate or withdrawn."
        )
    revision = content_write(actor=actor, finding=finding, fields=fields)
    if revision is not None:
        audit_record(
            actor=actor,
            action="finding.updated",
            finding=finding,
            data={"fields": revision.changed_fields, "revision": revision.number},
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
