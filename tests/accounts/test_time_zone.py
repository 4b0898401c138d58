"""Your time zone: set by PATCH /api/me/ (and the account page: tests/disclosure/
test_embargo_pages.py); unknown zones are a 400; each change is audited."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from disclosure.models import AuditEvent


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_get_me_says_the_time_zone(world):
    world.lab_user.time_zone = "Europe/Berlin"
    world.lab_user.save()
    assert _client(world.lab_user).get("/api/me/").json()["time_zone"] == "Europe/Berlin"


def test_patch_me_sets_it_and_audits_the_change(world):
    response = _client(world.lab_user).patch(
        "/api/me/", {"time_zone": "America/Sao_Paulo"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["time_zone"] == "America/Sao_Paulo"
    world.lab_user.refresh_from_db()
    assert world.lab_user.time_zone == "America/Sao_Paulo"
    event = AuditEvent.objects.get(action="user.time_zone_changed")
    assert (event.actor, event.data) == (
        world.lab_user,
        {"user": world.lab_user.pk, "from": "", "to": "America/Sao_Paulo"},
    )


@pytest.mark.parametrize("value", ["", "UTC"])
def test_empty_or_utc_means_utc_only(world, value):
    world.lab_user.time_zone = "Asia/Tokyo"
    world.lab_user.save()
    response = _client(world.lab_user).patch("/api/me/", {"time_zone": value}, format="json")
    assert response.json()["time_zone"] == ""


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"time_zone": "Atlantis/Capital"}, "time_zone", "Unknown time zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone", "Unknown time zone"),
        ({"email": "x@example.org"}, "email", "Unknown field"),
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(world, body, field, words):
    response = _client(world.lab_user).patch("/api/me/", body, format="json")
    assert response.status_code == 400
    assert words in response.json()["detail"][field]
    world.lab_user.refresh_from_db()
    assert world.lab_user.time_zone == ""
    assert not AuditEvent.objects.filter(action="user.time_zone_changed").exists()


def test_anonymous_callers_cannot_patch(db):
    assert APIClient().patch("/api/me/", {"time_zone": "UTC"}, format="json").status_code in (
        401,
        403,
    )
