"""The embargo API: reading the embargo, proposing, accepting without an end, extension
requests and decisions, moving the end, breaking; every bad input a clear 4xx that writes
nothing; who may do what."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.utils.dateparse import parse_datetime

from disclosure.models import Embargo, ExtensionRequest, Finding
from tests.disclosure.api.conftest import finding_url
from tests.disclosure.embargo_helpers import (
    embargo_of,
    embargoed,
    in_triage,
    proposed,
    soon,
    writes,
)
from tests.factories import MembershipFactory

State = Finding.State


def _embargo(reference: str, action: str = "") -> str:
    return finding_url(reference, "embargo" + (f"/{action}" if action else ""))


def _at(days: float) -> str:
    return soon(days).isoformat().replace("+00:00", "Z")


# --- Reading.


def test_the_embargo_in_utc_with_its_policy_and_history(world, api):
    finding = embargoed(world, days=10)
    body = api(world.coordinator).get(_embargo(finding.reference)).json()
    assert body["reference"] == finding.reference
    assert body["state"] == "active"
    assert body["ends_at"].endswith("Z")
    assert parse_datetime(body["ends_at"]) == finding.embargo_ends_at
    assert body["policy_max_days"] == 45
    assert [e["kind"] for e in body["history"]] == ["embargo.activated"]
    assert body["history"][0]["actor"] == world.coordinator.email
    assert body["actions"] == ["end", "break", "decide"]


def test_before_any_proposal_the_state_is_null_and_the_policy_is_given(world, api):
    finding = in_triage(world, risk_level="medium")
    body = api(world.coordinator).get(_embargo(finding.reference)).json()
    assert (body["state"], body["ends_at"], body["policy_max_days"]) == (None, None, 14)
    assert body["actions"] == ["propose"]


# --- Proposing and accepting.


def test_propose_then_accept_without_an_end(world, api):
    finding = in_triage(world)
    coordinator = api(world.coordinator)
    response = coordinator.post(
        _embargo(finding.reference, "propose"), {"ends_at": _at(12)}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "proposed"
    lab_view = api(world.lab_user).get(_embargo(finding.reference)).json()
    assert [e["kind"] for e in lab_view["history"]] == ["embargo.proposed"]
    response = coordinator.post(
        finding_url(finding.reference, "accept"),
        {"defender_organizations": ["grid-isac"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == State.EMBARGOED
    assert embargo_of(finding).state == Embargo.State.ACTIVE


def test_a_local_time_with_a_zone_is_stored_and_returned_in_utc(world, api):
    finding = in_triage(world)
    target = soon(5)
    local = target.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%dT%H:%M:%S")
    response = api(world.coordinator).post(
        _embargo(finding.reference, "propose"),
        {"ends_at": local, "time_zone": "Asia/Tokyo"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert embargo_of(finding).ends_at == target
    assert response.json()["ends_at"] == target.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_accept_still_takes_an_iso_end_with_an_offset(world, api):
    finding = world.submitted()
    response = api(world.coordinator).post(
        finding_url(finding.reference, "accept"),
        {"defender_organizations": ["grid-isac"], "embargo_ends_at": _at(5)},
        format="json",
    )
    assert response.status_code == 200


def test_accept_beyond_the_policy_with_a_reason_stores_it(world, api):
    finding = world.submitted(risk_level="medium")
    url = finding_url(finding.reference, "accept")
    body = {"defender_organizations": ["grid-isac"], "embargo_ends_at": _at(20)}
    refused = api(world.coordinator).post(url, body, format="json")
    assert refused.status_code == 400
    assert "policy maximum of 14 days" in refused.json()["detail"]["embargo_ends_at"]
    body["over_policy_reason"] = "Screening vendors ship monthly"
    assert api(world.coordinator).post(url, body, format="json").status_code == 200
    shown = api(world.lab_user).get(_embargo(finding.reference)).json()
    assert shown["over_policy_reason"] == "Screening vendors ship monthly"


# --- Extensions.


def test_the_lab_asks_the_coordinator_approves_everyone_sees_the_new_end(world, api):
    finding = embargoed(world, days=10)
    asked = api(world.lab_user).post(
        _embargo(finding.reference, "extensions"),
        {"ends_at": _at(20), "reason": "The fix ships later"},
        format="json",
    )
    assert asked.status_code == 201, asked.json()
    assert asked.json()["state"] == "revising"
    (request,) = asked.json()["extension_requests"]
    assert (request["organization"], request["state"]) == ("example-lab", "pending")
    approved = api(world.coordinator).post(
        _embargo(finding.reference, f"extensions/{request['id']}/approve"),
        {"note": "Granted"},
        format="json",
    )
    assert approved.status_code == 200, approved.json()
    assert approved.json()["state"] == "active"
    defender = api(world.defender_user).get(_embargo(finding.reference)).json()
    assert defender["ends_at"] == request["requested_ends_at"]
    assert defender["extension_requests"] == []  # the lab's request is not the defender's


def test_a_defender_sees_its_own_requests_only_and_others_unnamed(world, api):
    finding = embargoed(world)
    for user, days in ((world.defender_user, 20), (world.other_defender_user, 25)):
        response = api(user).post(
            _embargo(finding.reference, "extensions"),
            {"ends_at": _at(days), "reason": f"Reason of {user.email}"},
            format="json",
        )
        assert response.status_code == 201
    body = api(world.defender_user).get(_embargo(finding.reference)).json()
    assert [r["organization"] for r in body["extension_requests"]] == ["grid-isac"]
    text = str(body)
    assert "Water CERT" not in text and "water-cert" not in text
    assert "Reason of analyst@water.example" not in text
    others = [e for e in body["history"] if e["kind"] == "embargo.extension_requested"]
    assert len(others) == 2
    assert sum(1 for e in others if e["organization"] is None and e["actor"] is None) == 1
    coordinator = api(world.coordinator).get(_embargo(finding.reference)).json()
    assert len(coordinator["extension_requests"]) == 2
    lab = api(world.lab_user).get(_embargo(finding.reference)).json()
    assert lab["extension_requests"] == []
    assert "Reason of" not in str(lab)


def test_deny_and_withdraw(world, api):
    finding = embargoed(world)
    first = api(world.defender_user).post(
        _embargo(finding.reference, "extensions"), {"ends_at": _at(20), "reason": "r"}, "json"
    )
    request_id = first.json()["extension_requests"][0]["id"]
    no_note = api(world.coordinator).post(
        _embargo(finding.reference, f"extensions/{request_id}/deny"), {}, format="json"
    )
    assert no_note.status_code == 400
    assert "note" in no_note.json()["detail"]
    denied = api(world.coordinator).post(
        _embargo(finding.reference, f"extensions/{request_id}/deny"),
        {"note": "The end stays"},
        format="json",
    )
    assert denied.json()["extension_requests"][0]["state"] == "denied"
    again = api(world.defender_user).post(
        _embargo(finding.reference, "extensions"), {"ends_at": _at(21), "reason": "r"}, "json"
    )
    second = next(r for r in again.json()["extension_requests"] if r["state"] == "pending")
    withdrawn = api(world.defender_user).post(
        _embargo(finding.reference, f"extensions/{second['id']}/withdraw"), format="json"
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"] == "active"


# --- Moving the end and breaking.


def test_a_coordinator_moves_the_end(world, api):
    finding = embargoed(world, days=10)
    response = api(world.coordinator).post(
        _embargo(finding.reference, "end"), {"ends_at": _at(15), "reason": "Later"}, "json"
    )
    assert response.status_code == 200
    assert [e["kind"] for e in response.json()["history"]][-1] == "embargo.changed"


def test_breaking_releases_and_the_advisory_is_public(world, api):
    finding = embargoed(world)
    response = api(world.coordinator).post(
        _embargo(finding.reference, "break"),
        {"kind": "exploited", "reason": "Seen in the wild"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["end_kind"], body["break_kind"]) == (
        "ended",
        "broken",
        "exploited",
    )
    assert body["break_reason"] == "Seen in the wild"
    assert api(None).get(f"/api/advisories/{finding.reference}/").status_code == 200
    # Someone who took no part (another lab) sees the public advisory's embargo: its dates.
    public = api(world.other_lab_user).get(_embargo(finding.reference)).json()
    assert public["break_kind"] == "exploited"
    assert public["break_reason"] == ""  # only those who took part read the reason
    assert all(e["actor"] is None and e["reason"] == "" for e in public["history"])


# --- Bad input: a clear 4xx, nothing written.


def _bad(world, api, finding, user, action, body, status):
    before = writes(finding)
    response = api(user).post(_embargo(finding.reference, action), body, format="json")
    assert response.status_code == status, response.json()
    assert writes(finding) == before
    return response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"ends_at": "2020-01-01T00:00:00Z"}, "ends_at", "in the future"),
        ({"ends_at": "tomorrow"}, "ends_at", "ISO 8601"),
        ({"ends_at": "2026-12-01T12:00"}, "ends_at", "time zone"),
        ({"ends_at": "2026-12-01T12:00", "time_zone": "Europe/Atlantis"}, "time_zone", "Unknown"),
        ({"ends_at": "2099-03-29T02:30", "time_zone": "Europe/Berlin"}, "ends_at", "not exist"),
        ({"ends_at": "2099-10-25T02:30", "time_zone": "Europe/Berlin"}, "ends_at", "ambiguous"),
        ({"ends_at": "2099-01-01T00:00:00Z"}, "ends_at", "at most 365 days"),
        ({"ends_at": None, "state": "active"}, "state", "Unknown field"),
    ],
    ids=["past", "garbage", "naive", "unknown-zone", "dst-gap", "dst-fold", "cap", "extra"],
)
def test_proposals_with_bad_times_are_400(world, api, body, field, words):
    finding = in_triage(world)
    detail = _bad(world, api, finding, world.coordinator, "propose", body, 400)
    assert words in detail[field]


def test_beyond_the_policy_without_a_reason_is_400_naming_the_maximum(world, api):
    finding = in_triage(world, risk_level="critical")
    detail = _bad(world, api, finding, world.coordinator, "propose", {"ends_at": _at(100)}, 400)
    assert "policy maximum of 90 days" in detail["ends_at"]


def test_an_extension_of_a_released_finding_is_409(world, api):
    finding = world.released()
    detail = _bad(
        world, api, finding, world.lab_user, "extensions", {"ends_at": _at(5), "reason": "r"}, 409
    )
    assert "released" in detail


def test_an_extension_without_a_reason_or_not_later_is_400(world, api):
    finding = embargoed(world, days=10)
    assert "reason" in _bad(
        world, api, finding, world.defender_user, "extensions", {"ends_at": _at(20)}, 400
    )
    detail = _bad(
        world,
        api,
        finding,
        world.defender_user,
        "extensions",
        {"ends_at": _at(3), "reason": "r"},
        400,
    )
    assert "later than the current end" in detail["ends_at"]


def test_a_break_without_a_reason_is_400(world, api):
    finding = embargoed(world)
    detail = _bad(world, api, finding, world.coordinator, "break", {"kind": "leaked"}, 400)
    assert "reason" in detail
    detail = _bad(
        world, api, finding, world.coordinator, "break", {"kind": "bored", "reason": "x"}, 400
    )
    assert "leaked, exploited, published, other" in detail["kind"]
    finding.refresh_from_db()
    assert finding.state == State.EMBARGOED


def test_a_second_pending_request_of_one_organization_is_409(world, api):
    finding = embargoed(world)
    body = {"ends_at": _at(20), "reason": "r"}
    assert (
        api(world.defender_user)
        .post(_embargo(finding.reference, "extensions"), body, format="json")
        .status_code
        == 201
    )
    _bad(world, api, finding, world.defender_user, "extensions", body, 409)


# --- Who may do what.

ACTIONS = [
    ("propose", {"ends_at": "2099-01-01T00:00:00Z"}),
    ("end", {"ends_at": "2099-01-01T00:00:00Z"}),
    ("break", {"kind": "leaked", "reason": "x"}),
    ("extensions/{id}/approve", {}),
    ("extensions/{id}/deny", {"note": "no"}),
]


@pytest.mark.parametrize(("action", "body"), ACTIONS, ids=[a for a, _ in ACTIONS])
@pytest.mark.parametrize("role", ["lab_user", "defender_user"])
def test_the_lab_and_defenders_may_not_act_for_coordinators_403(world, api, role, action, body):
    finding = embargoed(world)
    request = ExtensionRequest.objects.create(
        embargo=embargo_of(finding),
        requested_by=world.defender_user,
        organization=world.defender,
        requested_ends_at=soon(30),
        reason="r",
    )
    before = writes(finding)
    url = _embargo(finding.reference, action.format(id=request.pk))
    response = api(getattr(world, role)).post(url, body, format="json")
    assert response.status_code == 403
    assert writes(finding) == before


ROUTES = [
    ("get", "", None),
    *(("post", a, b) for a, b in ACTIONS),
    ("post", "extensions", {"ends_at": "2099-01-01T00:00:00Z", "reason": "r"}),
    ("post", "extensions/{id}/withdraw", None),
]


@pytest.mark.parametrize(("method", "action", "body"), ROUTES, ids=[r[1] or "get" for r in ROUTES])
@pytest.mark.parametrize("role", ["other_defender_user", "other_lab_user", None])
def test_those_who_may_not_see_the_finding_get_404_everywhere(
    world, api, role, method, action, body
):
    finding = embargoed(world, organizations=[world.defender])
    request = ExtensionRequest.objects.create(
        embargo=embargo_of(finding),
        requested_by=world.defender_user,
        organization=world.defender,
        requested_ends_at=soon(30),
        reason="r",
    )
    before = writes(finding)
    client = api(getattr(world, role) if role else None)
    url = _embargo(finding.reference, action.format(id=request.pk))
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code == 404
    assert writes(finding) == before
    timeline = client.get(finding_url(finding.reference, "timeline"))
    assert timeline.status_code == 404


def test_another_organizations_request_is_404_for_a_defender(world, api):
    finding = embargoed(world)
    request = ExtensionRequest.objects.create(
        embargo=embargo_of(finding),
        requested_by=world.other_defender_user,
        organization=world.other_defender,
        requested_ends_at=soon(30),
        reason="r",
    )
    response = api(world.defender_user).post(
        _embargo(finding.reference, f"extensions/{request.pk}/withdraw")
    )
    assert response.status_code == 404


def test_a_colleague_cannot_withdraw_a_request_403(world, api):
    finding = embargoed(world)
    request = ExtensionRequest.objects.create(
        embargo=embargo_of(finding),
        requested_by=world.defender_user,
        organization=world.defender,
        requested_ends_at=soon(30),
        reason="r",
    )
    colleague = MembershipFactory(organization=world.defender).user
    response = api(colleague).post(_embargo(finding.reference, f"extensions/{request.pk}/withdraw"))
    assert response.status_code == 403


def test_the_proposal_is_the_labs_and_coordinators_business(world, api):
    finding = proposed(world, reason="Lab asked for two weeks")
    lab = api(world.lab_user).get(_embargo(finding.reference)).json()
    assert lab["history"][0]["reason"] == "Lab asked for two weeks"
    finding = embargoed(world)  # another finding, accepted: the defender sees no proposals
    body = api(world.defender_user).get(_embargo(finding.reference)).json()
    assert all(e["kind"] != "embargo.proposed" for e in body["history"])
