"""Helpers for the API tests: a client per user, and the URLs of a finding."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from disclosure.models import Credit, Evaluation, Finding, Mitigation

MARKERS = ("EMBARGOED-DETAIL", "EMBARGOED-ACTION")
# Embargoed content beyond the two texts: what content_markers_add puts on a finding.
CONTENT_MARKERS = (
    "EMBARGOED-VERSION",
    "open_weights",
    "2031-07-04",
    "EMBARGOED-EVALUATION",
    "EMBARGOED-MITIGATION",
    "EMBARGOED-CREDITEE",
)
FINDING_BODY = {
    "model_name": "Frontier-2",
    "model_version": "ckpt-7",
    "title": "Synthesis route planning",
    "summary": "The model plans multi-step routes with little help.",
    "details": "EMBARGOED-DETAIL: 12 of 20 protocols completed.",
    "category": "openai-pf-v2:biological-chemical",
    "risk_level": "critical",
    "recommended_actions": "EMBARGOED-ACTION: screen orders.",
}


def content_markers_add(finding: Finding, credited: User) -> None:
    """Give the finding embargoed content of every kind, each carrying a marker.

    Written straight to the rows (not through intake), so that it works in any state. The
    credit is accepted, so every viewer who may see the finding sees it too.
    """
    Finding.objects.filter(pk=finding.pk).update(
        model_version="EMBARGOED-VERSION",
        deployment_surfaces=["open_weights"],
        planned_availability=dt.date(2031, 7, 4),
    )
    Evaluation.objects.create(
        finding=finding,
        name="EMBARGOED-EVALUATION",
        method="Agentic runs",
        checkpoint="base",
        modifications=["jailbreaks"],
        metric="Success rate",
        result="41%",
        evaluated_on=dt.date(2026, 10, 1),
    )
    Mitigation.objects.create(finding=finding, description="EMBARGOED-MITIGATION", status="planned")
    credited.full_name = "EMBARGOED-CREDITEE"
    credited.save(update_fields=["full_name"])
    Credit.objects.create(
        finding=finding, user=credited, type="finder", status="accepted", created_by=credited
    )
    finding.refresh_from_db()


def finding_url(reference: str, action: str = "") -> str:
    return f"/api/findings/{reference}/" + (f"{action}/" if action else "")


def in_days(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


def accept_body(*slugs: str, days: float = 7) -> dict[str, object]:
    return {"defender_organizations": list(slugs), "embargo_ends_at": in_days(days)}


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    """``api(user)``: a client logged in (by session) as ``user``; ``api(None)`` is anonymous."""

    def client_for(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return client_for
