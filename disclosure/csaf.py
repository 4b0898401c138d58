"""CSAF 2.0 (OASIS Common Security Advisory Framework) documents of released advisories.

Each released finding is one ``csaf_security_advisory``: the AI model is the product (vendor:
the lab; product name: the model; product version: the checkpoint), "known affected" by one
vulnerability entry that describes the capability: its details, capability category,
evaluations, affected sectors and deployment as notes, the risk before and after mitigations
as an impact threat, the recommended defender actions and the lab's mitigations as
remediations. ``tracking`` numbers the versions as the advisory's public revision history does
(1 is the release, each update adds one).

A document is a function of the database rows only (no clock, no request), serialized
deterministically, so that the ``.sha256``/``.sha512`` files and signatures served beside it
always match the bytes served.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.conf import settings
from django.db.models import prefetch_related_objects
from django.urls import reverse

from .models import Evaluation, Finding, Mitigation
from .selectors_publication import AdvisoryVersion, advisory_versions

CSAF_VERSION = "2.0"
CSAF_SCHEMA_URL = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"
DOCUMENT_CATEGORY = "csaf_security_advisory"
TLP_URL = "https://www.first.org/tlp/"
PRODUCT_ID = "CSAFPID-0001"
# CSAF 2.0 knows TLP 1.0 labels only; TLP 2.0's CLEAR is 1.0's WHITE and AMBER+STRICT has no
# equivalent, the nearest (less strict) being AMBER.
TLP_V1 = {
    Finding.Tlp.CLEAR: "WHITE",
    Finding.Tlp.GREEN: "GREEN",
    Finding.Tlp.AMBER: "AMBER",
    Finding.Tlp.AMBER_STRICT: "AMBER",
    Finding.Tlp.RED: "RED",
}
# What a released advisory is published as: public, TLP:CLEAR, given as CSAF's WHITE.
PUBLISHED_TLP = Finding.Tlp.CLEAR
TLP_NOTE = (
    "This advisory is TLP:CLEAR (Traffic Light Protocol 2.0): it may be shared without "
    "restriction. CSAF 2.0 knows only the labels of TLP 1.0, so it is labelled WHITE here, "
    "TLP 2.0's name for which is CLEAR (and TLP 2.0's AMBER+STRICT would be given as AMBER)."
)
ABOUT_NOTE = (
    "Forewarn coordinates the disclosure of dangerous capabilities of AI models. This advisory "
    "describes such a capability, not a software flaw: the product is the AI model, and "
    "'known affected' means the capability was found in it. Risk levels are Forewarn's scale: "
    "low, medium, high, critical."
)
MITIGATION_REMEDIATION = {
    Mitigation.Status.DEPLOYED: ("vendor_fix", "Deployed by {lab}"),
    Mitigation.Status.IN_PROGRESS: ("none_available", "In progress at {lab}"),
    Mitigation.Status.PLANNED: ("none_available", "Planned by {lab}"),
    Mitigation.Status.NOT_PLANNED: ("no_fix_planned", "Not planned by {lab}"),
}
# CSAF 6.1.31: a product version must not read as a range ("before", "prior to", "<", ...);
# such a checkpoint name goes into the product name instead.
_RANGE_LIKE = re.compile(
    r"^\s*[<>]|\b(prior\s+to|before|and\s+earlier|and\s+later|through)\b|^\s*all\s*$|\.[xX*]\b",
    re.IGNORECASE,
)


def csaf_tlp_label(tlp: str) -> str:
    """The CSAF 2.0 (TLP 1.0) label for a TLP 2.0 label."""
    return TLP_V1[Finding.Tlp(tlp)]


def csaf_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def csaf_filename(reference: str) -> str:
    """The file name CSAF 2.0 (section 5.1) derives from ``tracking.id``."""
    return re.sub(r"[^+\-a-z0-9]+", "_", reference.lower()) + ".json"


def csaf_year(finding: Finding) -> int:
    """The year folder: that of ``tracking.initial_release_date`` (the release), in UTC."""
    if finding.released_at is None:
        raise ValueError(f"{finding.reference} is not released: it has no CSAF document.")
    return finding.released_at.astimezone(dt.UTC).year


def csaf_relative_path(finding: Finding) -> str:
    """The document's path below the TLP folder (as index.txt and changes.csv list it)."""
    return f"{csaf_year(finding)}/{csaf_filename(finding.reference)}"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def csaf_path(finding: Finding) -> str:
    """The document's URL path on this site (below /.well-known/csaf/white/)."""
    return reverse("csaf-file", args=[csaf_year(finding), csaf_filename(finding.reference)])


def csaf_url(finding: Finding) -> str:
    return absolute(csaf_path(finding))


def publisher() -> dict[str, str]:
    data = {
        "category": "coordinator",
        "name": getattr(settings, "CSAF_PUBLISHER_NAME", "") or "Forewarn",
        "namespace": settings.SITE_URL,
    }
    contact = getattr(settings, "CSAF_PUBLISHER_CONTACT", "")
    if contact:
        data["contact_details"] = contact
    return data


def _risk(level: str) -> str:
    return str(Finding.RiskLevel(level).label) if level else ""


def _risk_text(finding: Finding) -> str:
    text = f"Risk before mitigations: {_risk(finding.risk_level)}."
    if finding.residual_risk_level:
        text += f" Risk after mitigations: {_risk(finding.residual_risk_level)}."
    return text


def _product_tree(finding: Finding) -> dict[str, Any]:
    version = finding.model_version.strip()
    full_name = " ".join(p for p in (finding.developer.name, finding.model_name, version) if p)
    product = {"name": full_name, "product_id": PRODUCT_ID}
    model: dict[str, Any]
    if version and not _RANGE_LIKE.search(version):
        leaf = {"category": "product_version", "name": version, "product": product}
        model = {"category": "product_name", "name": finding.model_name, "branches": [leaf]}
    else:
        name = f"{finding.model_name} ({version})" if version else finding.model_name
        model = {"category": "product_name", "name": name, "product": product}
    vendor = {"category": "vendor", "name": finding.developer.name, "branches": [model]}
    return {"branches": [vendor]}


def _evaluation_line(evaluation: Evaluation) -> str:
    modifications = dict(Evaluation.Modification.choices)
    parts = [
        f"{evaluation.name} ({evaluation.method})",
        f"checkpoint: {Evaluation.Checkpoint(evaluation.checkpoint).label}",
    ]
    if evaluation.modifications:
        mods = ", ".join(str(modifications.get(m, m)) for m in evaluation.modifications)
        parts.append(f"modification testing: {mods}")
    result = f"{evaluation.metric}: {evaluation.result}"
    if evaluation.baseline:
        result += f" (baseline {evaluation.baseline})"
    if evaluation.uplift:
        result += f", uplift {evaluation.uplift}"
    parts += [result, f"evaluated on {evaluation.evaluated_on.isoformat()}"]
    return "- " + "; ".join(parts) + "."


def _vulnerability_notes(finding: Finding) -> list[dict[str, str]]:
    category = finding.category
    taxonomy = category.taxonomy
    notes = [
        {"category": "description", "title": "Details", "text": finding.details},
        {
            "category": "general",
            "title": "Capability category",
            "text": f"{category.label} ({taxonomy.framework} {taxonomy.version}; {category.key}).",
        },
    ]
    evaluations = list(finding.evaluations.all())
    if evaluations:
        text = "\n".join(_evaluation_line(e) for e in evaluations)
        notes.append({"category": "details", "title": "Evaluations", "text": text})
    sectors = [s.name for s in finding.affected_sectors.all()]
    if sectors:
        notes.append(
            {"category": "general", "title": "Affected sectors", "text": ", ".join(sectors)}
        )
    deployment = [str(Finding.Surface(s).label) for s in finding.deployment_surfaces]
    if deployment or finding.planned_availability:
        text = f"Available through: {', '.join(deployment)}." if deployment else ""
        if finding.planned_availability:
            text += f" Planned availability: {finding.planned_availability.isoformat()}."
        notes.append({"category": "general", "title": "Deployment", "text": text.strip()})
    return notes


def _remediations(finding: Finding) -> list[dict[str, Any]]:
    remediations = []
    if finding.recommended_actions.strip():
        remediations.append(
            {
                "category": "mitigation",
                "details": f"Recommended defender actions: {finding.recommended_actions}",
                "product_ids": [PRODUCT_ID],
            }
        )
    for mitigation in finding.mitigations.all():
        category, prefix = MITIGATION_REMEDIATION[Mitigation.Status(mitigation.status)]
        details = f"{prefix.format(lab=finding.developer.name)}: {mitigation.description}"
        remediations.append({"category": category, "details": details, "product_ids": [PRODUCT_ID]})
    return remediations


def _tracking(finding: Finding, versions: list[AdvisoryVersion]) -> dict[str, Any]:
    current = csaf_datetime(versions[-1].date)
    return {
        "current_release_date": current,
        "generator": {"date": current, "engine": {"name": "Forewarn"}},
        "id": finding.reference,
        "initial_release_date": csaf_datetime(versions[0].date),
        "revision_history": [
            {"date": csaf_datetime(v.date), "number": str(v.number), "summary": v.summary}
            for v in versions
        ],
        "status": "final",
        "version": str(versions[-1].number),
    }


def _references(finding: Finding) -> list[dict[str, str]]:
    references = [
        {"category": "self", "summary": "This advisory (CSAF 2.0)", "url": csaf_url(finding)},
        {
            "category": "self",
            "summary": "This advisory (web page)",
            "url": absolute(reverse("advisory-detail", args=[finding.reference])),
        },
    ]
    taxonomy = finding.category.taxonomy
    if taxonomy.source_url:
        summary = f"{taxonomy.framework} {taxonomy.version}"
        references.append({"category": "external", "summary": summary, "url": taxonomy.source_url})
    return references


def csaf_document(finding: Finding, versions: list[AdvisoryVersion]) -> dict[str, Any]:
    """The CSAF 2.0 document of a released finding at its latest version.

    The finding's developer and category (with its taxonomy) should be selected, and its
    sectors, evaluations and mitigations prefetched (``csaf_render`` does both).
    """
    if not finding.is_public or not versions:
        raise ValueError(f"{finding.reference} is not released: it has no CSAF document.")
    label = csaf_tlp_label(PUBLISHED_TLP)
    document = {
        "acknowledgments": [
            {
                "organization": finding.developer.name,
                "summary": "found the capability and reported it to the coordinators",
            }
        ],
        "aggregate_severity": {"text": _risk(finding.risk_level)},
        "category": DOCUMENT_CATEGORY,
        "csaf_version": CSAF_VERSION,
        "distribution": {
            "text": "TLP:CLEAR (TLP 2.0), given as TLP:WHITE (TLP 1.0) in CSAF 2.0.",
            "tlp": {"label": label, "url": TLP_URL},
        },
        "lang": "en",
        "notes": [
            {"category": "summary", "title": "Summary", "text": finding.summary},
            {"category": "general", "title": "Risk", "text": _risk_text(finding)},
            {"category": "general", "title": "About this advisory", "text": ABOUT_NOTE},
            {"category": "general", "title": "Traffic Light Protocol", "text": TLP_NOTE},
        ],
        "publisher": publisher(),
        "references": _references(finding),
        "title": finding.title,
        "tracking": _tracking(finding, versions),
    }
    vulnerability = {
        "ids": [{"system_name": "Forewarn", "text": finding.reference}],
        "notes": _vulnerability_notes(finding),
        "product_status": {"known_affected": [PRODUCT_ID]},
        "release_date": csaf_datetime(versions[0].date),
        "remediations": _remediations(finding),
        "threats": [
            {"category": "impact", "details": _risk_text(finding), "product_ids": [PRODUCT_ID]}
        ],
        "title": finding.title,
    }
    if not vulnerability["remediations"]:
        del vulnerability["remediations"]
    return {
        "document": document,
        "product_tree": _product_tree(finding),
        "vulnerabilities": [vulnerability],
    }


def csaf_bytes(document: dict[str, Any]) -> bytes:
    """The one serialization served (and hashed, and signed): UTF-8, two-space indent, keys
    sorted (as CSAF's recommended test 6.2.13 asks)."""
    return (json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def csaf_render(finding: Finding) -> bytes:
    """The served bytes of a released finding's CSAF document."""
    prefetch_related_objects([finding], "affected_sectors", "evaluations", "mitigations")
    return csaf_bytes(csaf_document(finding, advisory_versions(finding)))
