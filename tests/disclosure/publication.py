"""Helpers for the publication tests: released findings made by factories, and the CSAF
validator of the ``csaf`` package (JSON schema and the mandatory tests 6.1.x)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from csaf.csaf.v20 import validate
from django.test import Client
from django.utils import timezone

from disclosure.csaf import csaf_filename
from disclosure.models import CapabilityCategory, Evaluation, Finding, Mitigation, Sector
from tests.factories import FindingFactory

State = Finding.State


def csaf_problems(document: dict[str, Any]) -> list[str]:
    """What the validator's basic preset (schema + mandatory tests) finds wrong; [] if valid."""
    report = validate(document, preset="basic")
    problems = [
        f"{result.id}: {error.instance_path}: {error.message}"
        for result in report.results
        if not result.passed and not result.skipped
        for error in result.errors
    ]
    assert report.overall_valid == (not problems)
    return problems


def ran_tests(document: dict[str, Any]) -> set[str]:
    """The ids of the tests the validator ran (so a test can check the mandatory ones ran)."""
    return {r.id for r in validate(document, preset="basic").results if not r.skipped}


def released_factory(
    *,
    released_at: dt.datetime | None = None,
    category: str = "openai-pf-v2:cybersecurity",
    rich: bool = True,
    **fields: Any,
) -> Finding:
    """A released finding straight from the factory (no services, no revisions), with content
    of every kind when ``rich``."""
    slug, _, code = category.partition(":")
    finding = FindingFactory(
        state=State.RELEASED,
        submitted_at=timezone.now() - dt.timedelta(days=20),
        accepted_at=timezone.now() - dt.timedelta(days=19),
        embargo_ends_at=released_at or timezone.now() - dt.timedelta(minutes=1),
        released_at=released_at or timezone.now() - dt.timedelta(minutes=1),
        category=CapabilityCategory.objects.get(taxonomy__slug=slug, code=code),
        **fields,
    )
    if rich:
        Finding.objects.filter(pk=finding.pk).update(
            residual_risk_level=Finding.RiskLevel.MEDIUM,
            deployment_surfaces=["api", "open_weights"],
            planned_availability=dt.date(2026, 12, 1),
        )
        finding.affected_sectors.set(Sector.objects.order_by("position")[:2])
        Evaluation.objects.create(
            finding=finding,
            name="Cyber range",
            method="Agentic runs against patched targets",
            checkpoint="base",
            modifications=["jailbreaks", "tool_access"],
            metric="Success rate",
            result="31%",
            baseline="4%",
            uplift="7x",
            evaluated_on=dt.date(2026, 10, 1),
        )
        Evaluation.objects.create(
            finding=finding,
            name="CTF suite",
            method="Capture the flag",
            checkpoint="deployed",
            modifications=["none"],
            metric="Flags",
            result="12/40",
            evaluated_on=dt.date(2026, 10, 2),
        )
        for position, status in enumerate(Mitigation.Status.values):
            Mitigation.objects.create(
                finding=finding, position=position, description=f"Safeguard {status}", status=status
            )
        finding.refresh_from_db()
    return finding


def csaf_path(finding: Finding, suffix: str = "") -> str:
    year = finding.released_at.year if finding.released_at else timezone.now().year
    return f"/.well-known/csaf/white/{year}/{csaf_filename(finding.reference)}{suffix}"


def served_csaf(client: Client, finding: Finding) -> dict[str, Any]:
    response = client.get(csaf_path(finding))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)
