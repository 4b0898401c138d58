"""Revisions: a snapshot of a finding's content after each edit, and diffs between them."""

from __future__ import annotations

import difflib
import json
from typing import Any

from ..models import Finding, FindingRevision

# The content a revision records, in the order a diff shows it.
CONTENT_FIELDS = (
    "title",
    "summary",
    "model_name",
    "model_version",
    "deployment_surfaces",
    "planned_availability",
    "category",
    "risk_level",
    "residual_risk_level",
    "tlp",
    "affected_sectors",
    "details",
    "evaluations",
    "mitigations",
    "recommended_actions",
)
EVALUATION_FIELDS = (
    "name",
    "method",
    "checkpoint",
    "modifications",
    "metric",
    "result",
    "baseline",
    "uplift",
    "evaluated_on",
)
MITIGATION_FIELDS = ("description", "status")


def finding_content(finding: Finding) -> dict[str, Any]:
    """The finding's content as plain JSON values (what a revision stores)."""
    return {
        "title": finding.title,
        "summary": finding.summary,
        "model_name": finding.model_name,
        "model_version": finding.model_version,
        "deployment_surfaces": list(finding.deployment_surfaces),
        "planned_availability": (
            finding.planned_availability.isoformat() if finding.planned_availability else None
        ),
        "category": finding.category.key,
        "risk_level": finding.risk_level,
        "residual_risk_level": finding.residual_risk_level,
        "tlp": finding.tlp,
        "affected_sectors": sorted(s.slug for s in finding.affected_sectors.all()),
        "details": finding.details,
        "evaluations": [
            {
                f: (getattr(e, f).isoformat() if f == "evaluated_on" else getattr(e, f))
                for f in EVALUATION_FIELDS
            }
            for e in finding.evaluations.all()
        ],
        "mitigations": [
            {f: getattr(m, f) for f in MITIGATION_FIELDS} for m in finding.mitigations.all()
        ],
        "recommended_actions": finding.recommended_actions,
    }


def revision_record(
    *, actor: Any, finding: Finding, previous: dict[str, Any] | None
) -> FindingRevision | None:
    """Store a revision if the content differs from ``previous``; None when nothing changed."""
    content = finding_content(finding)
    changed = [f for f in CONTENT_FIELDS if previous is None or previous.get(f) != content[f]]
    if previous is not None and not changed:
        return None
    last = finding.revisions.order_by("-number").values_list("number", flat=True).first() or 0
    return FindingRevision.objects.create(
        finding=finding, number=last + 1, author=actor, content=content, changed_fields=changed
    )


def _lines(value: Any) -> list[str]:
    if value is None:  # no such field before (the first revision): nothing, not "null"
        return []
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)
    return (text or "").splitlines()


def revision_diff(old: FindingRevision | None, new: FindingRevision) -> list[dict[str, Any]]:
    """Per changed field, a unified diff of the old and new values (for pages and the API)."""
    before = old.content if old else {}
    diffs = []
    for field in CONTENT_FIELDS:
        a, b = before.get(field), new.content.get(field)
        if a == b:
            continue
        lines = list(
            difflib.unified_diff(_lines(a), _lines(b), "before", "after", lineterm="", n=2)
        )
        if lines:  # None and "" (or []) differ, but read the same: no diff to show
            diffs.append({"field": field, "diff": lines[2:]})
    return diffs
