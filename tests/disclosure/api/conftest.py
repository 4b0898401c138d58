"""Helpers for the API tests: a client per user, and the URLs of a finding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User

MARKERS = ("EMBARGOED-DETAIL", "EMBARGOED-ACTION")
FINDING_BODY = {
    "model_name": "Frontier-2",
    "model_version": "ckpt-7",
    "title": "Synthesis route planning",
    "summary": "The model plans multi-step routes with little help.",
    "details": "EMBARGOED-DETAIL: 12 of 20 protocols completed.",
    "category": "cbrn",
    "risk_level": "critical",
    "recommended_actions": "EMBARGOED-ACTION: screen orders.",
}


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
