"""The embargo on the finding page: each role's controls, proposing with a time zone, asking
for and deciding an extension, breaking; refusals re-render with their 4xx; forms need CSRF;
embargo times shown in UTC and the viewer's zone on the finding page and the home lists."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from disclosure.models import Embargo, ExtensionRequest, Finding
from disclosure.timezones import zoned_parts
from tests.disclosure.embargo_helpers import (
    embargo_of,
    embargoed,
    in_triage,
    proposed,
    soon,
    writes,
)

State = Finding.State


def _as(client, user):
    client.force_login(user)
    return client


def _page(client, user, finding) -> str:
    response = _as(client, user).get(reverse("finding-detail", args=[finding.reference]))
    assert response.status_code == 200
    return response.content.decode()


def _url(finding, name, *args):
    return reverse(f"finding-embargo-{name}", args=[finding.reference, *args])


# --- What each role is offered.


def test_a_coordinator_is_offered_to_propose_during_triage(client, world):
    page = _page(client, world.coordinator, in_triage(world))
    assert "Propose embargo" in page
    assert 'id="time-zones"' in page and "Europe/Berlin" in page
    assert "Break the embargo" not in page


def test_a_coordinator_is_offered_to_change_decide_and_break_a_running_embargo(client, world):
    finding = embargoed(world)
    ExtensionRequest.objects.create(
        embargo=embargo_of(finding),
        requested_by=world.defender_user,
        organization=world.defender,
        requested_ends_at=soon(20),
        reason="REQUEST-REASON",
    )
    page = _page(client, world.coordinator, finding)
    for text in ("Change the end", "Break the embargo", "Approve", "Deny", "REQUEST-REASON"):
        assert text in page
    assert "Request an extension" not in page


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_the_lab_and_a_notified_defender_may_ask_for_more_time(client, world, who):
    page = _page(client, getattr(world, who), embargoed(world))
    assert "Request an extension" in page
    assert "Break the embargo" not in page and "Change the end" not in page


def test_a_defender_does_not_see_another_organizations_request(client, world):
    finding = embargoed(world)
    ExtensionRequest.objects.create(
        embargo=embargo_of(finding),
        requested_by=world.other_defender_user,
        organization=world.other_defender,
        requested_ends_at=soon(20),
        reason="WATER-REASON",
    )
    page = _page(client, world.defender_user, finding)
    assert "WATER-REASON" not in page and "Water CERT" not in page


def test_embargo_times_show_the_viewers_zone_on_the_finding_page_and_home(client, world):
    world.lab_user.time_zone = "Europe/Berlin"
    world.lab_user.save()
    finding = embargoed(world)
    end = finding.embargo_ends_at
    utc, local = zoned_parts(end, ZoneInfo("Europe/Berlin"))  # its cases: test_timezones
    assert utc == f"{end.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    shown = f"<span>{utc}</span> <span>{local}</span>"
    assert shown in _page(client, world.lab_user, finding)
    home = client.get(reverse("home")).content.decode()
    assert shown in home


# --- Acting through the page.


def test_proposing_in_the_coordinators_zone(client, world):
    finding = in_triage(world)
    target = soon(9).replace(second=0)
    local = target.astimezone(ZoneInfo("America/Chicago"))
    response = _as(client, world.coordinator).post(
        _url(finding, "propose"),
        {"ends_at": local.strftime("%Y-%m-%dT%H:%M"), "time_zone": "America/Chicago"},
    )
    assert response.status_code == 302
    assert embargo_of(finding).ends_at == target


def test_a_proposal_with_an_unknown_zone_is_shown_again_with_the_error(client, world):
    finding = in_triage(world)
    before = writes(finding)
    response = _as(client, world.coordinator).post(
        _url(finding, "propose"), {"ends_at": "2099-01-01T10:00", "time_zone": "Moon/Base"}
    )
    assert response.status_code == 400
    assert "Unknown time zone" in response.content.decode()
    assert writes(finding) == before


def test_a_proposal_beyond_the_policy_is_shown_again_naming_the_maximum(client, world):
    finding = in_triage(world)
    response = _as(client, world.coordinator).post(
        _url(finding, "propose"),
        {"ends_at": soon(60).strftime("%Y-%m-%dT%H:%M"), "time_zone": "UTC"},
    )
    assert response.status_code == 400
    assert "policy maximum of 45 days" in response.content.decode()
    assert not Embargo.objects.exists()


def test_accepting_on_the_page_without_an_end_takes_the_proposal(client, world):
    finding = proposed(world, days=11)
    ends = embargo_of(finding).ends_at
    response = _as(client, world.coordinator).post(
        reverse("finding-accept", args=[finding.reference]),
        {"defender_organizations": [world.defender.pk]},
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert (finding.state, finding.embargo_ends_at) == (State.EMBARGOED, ends)


def test_the_full_round_on_the_page(client, world):
    finding = embargoed(world, days=10)
    target = soon(20).replace(second=0)
    lab = Client()
    response = _as(lab, world.lab_user).post(
        _url(finding, "extensions"),
        {
            "ends_at": target.strftime("%Y-%m-%dT%H:%M"),
            "time_zone": "UTC",
            "reason": "Our fix ships later",
        },
    )
    assert response.status_code == 302
    request = ExtensionRequest.objects.get()
    assert embargo_of(finding).state == Embargo.State.REVISING
    coordinator = _as(Client(), world.coordinator)
    response = coordinator.post(_url(finding, "extension-approve", request.pk), {"note": ""})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.embargo_ends_at == target
    response = coordinator.post(_url(finding, "break"), {"kind": "published", "reason": ""})
    assert response.status_code == 400
    assert "Break the embargo" in response.content.decode()
    response = coordinator.post(
        _url(finding, "break"), {"kind": "published", "reason": "A blog post"}
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.state == State.RELEASED
    assert client.get(reverse("advisory-detail", args=[finding.reference])).status_code == 200


def test_deny_needs_a_note_and_withdraw_is_the_requesters(client, world):
    finding = embargoed(world)
    request = ExtensionRequest.objects.create(
        embargo=embargo_of(finding),
        requested_by=world.defender_user,
        organization=world.defender,
        requested_ends_at=soon(20),
        reason="r",
    )
    coordinator = _as(Client(), world.coordinator)
    response = coordinator.post(_url(finding, "extension-deny", request.pk), {"note": ""})
    assert response.status_code == 400
    response = coordinator.post(_url(finding, "extension-withdraw", request.pk))
    assert response.status_code == 403
    defender = _as(client, world.defender_user)
    assert defender.post(_url(finding, "extension-withdraw", request.pk)).status_code == 302
    request.refresh_from_db()
    assert request.state == "withdrawn"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("propose", {"ends_at": "2099-01-01T10:00"}),
        ("end", {"ends_at": "2099-01-01T10:00"}),
        ("break", {"kind": "leaked", "reason": "x"}),
    ],
)
def test_the_lab_cannot_act_for_the_coordinators_403(client, world, name, data):
    finding = embargoed(world) if name != "propose" else in_triage(world)
    before = writes(finding)
    response = _as(client, world.lab_user).post(_url(finding, name), data)
    assert response.status_code == 403
    assert writes(finding) == before


def test_a_defender_not_notified_gets_404(client, world):
    finding = embargoed(world, organizations=[world.defender])
    response = _as(client, world.other_defender_user).post(
        _url(finding, "extensions"), {"ends_at": "2099-01-01T10:00", "reason": "x"}
    )
    assert response.status_code == 404


def test_the_forms_need_the_csrf_token(world):
    finding = embargoed(world)
    client = _as(Client(enforce_csrf_checks=True), world.coordinator)
    response = client.post(_url(finding, "break"), {"kind": "leaked", "reason": "x"})
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.state == State.EMBARGOED


# --- The account's time zone.


def test_the_account_page_sets_the_time_zone(client, world):
    _as(client, world.defender_user)
    page = client.get(reverse("account")).content.decode()
    assert 'name="time_zone"' in page and "csrfmiddlewaretoken" in page
    response = client.post(reverse("account"), {"time_zone": "Australia/Sydney"})
    assert response.status_code == 302
    world.defender_user.refresh_from_db()
    assert world.defender_user.time_zone == "Australia/Sydney"
    response = client.post(reverse("account"), {"time_zone": "Narnia/Cair_Paravel"})
    assert response.status_code == 400
    assert "Unknown time zone" in response.content.decode()
    world.defender_user.refresh_from_db()
    assert world.defender_user.time_zone == "Australia/Sydney"
