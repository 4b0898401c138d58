"""A finding's timeline (page and API): every milestone with its time and, where the viewer
may know it, who; the audience rules of the finding page; the same queries for 1 and 50
events."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from disclosure.models import (
    Embargo,
    EmbargoEvent,
    ExtensionRequest,
    Finding,
    FindingRecipient,
    ReleaseStage,
)
from disclosure.services.audit import audit_record
from disclosure.services.embargo import embargo_end_set
from disclosure.services.embargo_ending import embargo_break
from disclosure.services.embargo_extensions import extension_decide, extension_request
from disclosure.services.readiness import finding_acknowledge, readiness_report
from disclosure.services.triage import finding_accept
from tests.disclosure.api.conftest import finding_url
from tests.disclosure.embargo_helpers import embargo_of, proposed, soon
from tests.factories import OrganizationFactory

State = Finding.State


def _story(world) -> Finding:
    """Proposed, accepted for both defenders, acknowledged, ready, extended at Grid ISAC's
    request (with a note), then broken."""
    finding = proposed(world, days=10, reason="Two weeks for the lab")
    finding = finding_accept(
        actor=world.coordinator,
        finding=finding,
        organizations=[world.defender, world.other_defender],
    )
    finding_acknowledge(actor=world.defender_user, finding=finding)
    readiness_report(
        actor=world.other_defender_user, finding=finding, readiness="ready", statement="Done"
    )
    request = extension_request(
        actor=world.defender_user, finding=finding, ends_at=soon(20), reason="GRID-SECRET-REASON"
    )
    extension_decide(actor=world.coordinator, request=request, approve=True, note="GRID-NOTE")
    embargo_break(
        actor=world.coordinator, finding=finding, kind="leaked", reason="Posted on a forum"
    )
    finding.refresh_from_db()
    return finding


def _entries(api, user, finding):
    response = api(user).get(finding_url(finding.reference, "timeline"))
    assert response.status_code == 200
    return response.json()["entries"]


def test_the_coordinator_sees_everything_in_order_with_who(world, api):
    finding = _story(world)
    entries = _entries(api, world.coordinator, finding)
    kinds = [e["kind"] for e in entries]
    for expected in (
        "finding.created",
        "finding.submitted",
        "finding.in_triage",
        "embargo.proposed",
        "finding.accepted",
        "notified",
        "embargo.activated",
        "acknowledged",
        "readiness",
        "embargo.extension_requested",
        "embargo.extension_approved",
        "embargo.broken",
        "finding.released",
    ):
        assert expected in kinds, expected
    times = [e["at"] for e in entries]
    assert times == sorted(times)
    assert all(t.endswith("Z") for t in times)
    assert kinds.index("embargo.proposed") < kinds.index("embargo.activated")
    assert kinds.index("embargo.broken") < kinds.index("finding.released")
    notified = {e["organization"] for e in entries if e["kind"] == "notified"}
    assert notified == {"Grid ISAC", "Water CERT"}
    broken = next(e for e in entries if e["kind"] == "embargo.broken")
    assert broken["title"] == "Embargo broken: Details leaked"
    assert (broken["actor"], broken["reason"]) == (world.coordinator.email, "Posted on a forum")
    asked = next(e for e in entries if e["kind"] == "embargo.extension_requested")
    assert (asked["organization"], asked["actor"], asked["reason"]) == (
        "Grid ISAC",
        world.defender_user.email,
        "GRID-SECRET-REASON",
    )


def test_a_defender_never_sees_another_organizations_name(world, api):
    finding = _story(world)
    entries = _entries(api, world.other_defender_user, finding)
    text = str(entries)
    assert "Grid ISAC" not in text
    assert "grid" not in text.lower()
    assert "GRID-SECRET-REASON" not in text and "GRID-NOTE" not in text
    assert world.defender_user.email not in text
    assert world.coordinator.email not in text  # coordinators by role only
    kinds = [e["kind"] for e in entries]
    assert "embargo.proposed" not in kinds  # the negotiation before it was told
    assert "embargo.extension_requested" in kinds  # that the embargo was revised
    assert {e["organization"] for e in entries if e["kind"] == "notified"} == {"Water CERT"}
    ready = next(e for e in entries if e["kind"] == "readiness")
    assert (ready["organization"], ready["actor"]) == (
        "Water CERT",
        world.other_defender_user.email,
    )
    broken = next(e for e in entries if e["kind"] == "embargo.broken")
    assert broken["reason"] == "Posted on a forum"  # those told read why it broke


def test_the_lab_sees_who_was_notified_but_not_how_ready_they_are(world, api):
    finding = _story(world)
    entries = _entries(api, world.lab_user, finding)
    assert {e["organization"] for e in entries if e["kind"] == "notified"} == {
        "Grid ISAC",
        "Water CERT",
    }
    ready = next(e for e in entries if e["kind"] == "readiness")
    assert (ready["organization"], ready["actor"]) == (None, None)
    assert "GRID-SECRET-REASON" not in str(entries)
    proposal = next(e for e in entries if e["kind"] == "embargo.proposed")
    assert proposal["reason"] == "Two weeks for the lab"


def test_anyone_else_sees_the_milestones_of_a_released_finding_without_names(world, api):
    finding = _story(world)
    entries = _entries(api, world.other_lab_user, finding)
    kinds = {e["kind"] for e in entries}
    assert {"notified", "acknowledged", "readiness", "embargo.proposed"}.isdisjoint(kinds)
    assert "finding.released" in kinds and "embargo.broken" in kinds
    assert all(e["actor"] is None and e["reason"] == "" for e in entries)
    assert all(e["organization"] is None for e in entries)


def test_stages_fired_appear_but_not_the_first_audience_or_the_public_stage(world, api):
    finding = _story(world)
    ReleaseStage.objects.filter(finding=finding, audience="public").update(position=3)
    ReleaseStage.objects.create(
        finding=finding,
        position=2,
        audience=ReleaseStage.Audience.COMMUNITY,
        tlp=Finding.Tlp.GREEN,
        scheduled_at=timezone.now(),
        fired_at=timezone.now(),
        created_by=world.coordinator,
    )
    entries = _entries(api, world.defender_user, finding)
    fired = [e for e in entries if e["kind"] == "stage_fired"]
    assert [e["extra"]["stage"] for e in fired] == [2]
    assert "TLP:GREEN" in fired[0]["title"]


def test_the_over_policy_reason_shows_on_the_timeline(world, client):
    finding = proposed(world, days=10)
    finding_accept(actor=world.coordinator, finding=finding, organizations=[world.defender])
    embargo_end_set(
        actor=world.coordinator, finding=finding, ends_at=soon(60), reason="Patch cycle of Q3"
    )
    client.force_login(world.lab_user)
    page = client.get(reverse("finding-timeline", args=[finding.reference])).content.decode()
    assert "Patch cycle of Q3" in page
    assert "beyond the policy maximum" in page


# --- The page.


def test_the_page_shows_times_in_utc_and_the_viewers_zone(world, client):
    finding = _story(world)
    world.defender_user.time_zone = "Asia/Kolkata"
    world.defender_user.save()
    client.force_login(world.defender_user)
    response = client.get(reverse("finding-timeline", args=[finding.reference]))
    assert response.status_code == 200
    page = response.content.decode()
    released = finding.released_at.astimezone(dt.UTC)
    local = finding.released_at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert f"<span>{released:%Y-%m-%d %H:%M} UTC</span> <span>(" in page
    assert f"{local:%H:%M} Asia/Kolkata)</span>" in page
    assert "Embargo broken: Details leaked" in page
    assert "Water CERT" not in page


def test_the_page_is_a_404_for_those_who_may_not_see_the_finding(world, client):
    finding = proposed(world)
    client.force_login(world.defender_user)
    assert client.get(reverse("finding-timeline", args=[finding.reference])).status_code == 404


# --- Query budget: the same for 1 event of each kind and for 50.


def _busy(world, n: int) -> Finding:
    finding = world.embargoed()
    embargo = embargo_of(finding)
    orgs = [OrganizationFactory() for _ in range(n)]
    FindingRecipient.objects.bulk_create(
        FindingRecipient(
            finding=finding,
            organization=org,
            added_by=world.coordinator,
            acknowledged_at=timezone.now(),
            acknowledged_by=world.defender_user,
        )
        for org in orgs
    )
    for org in orgs:
        audit_record(
            actor=world.defender_user,
            action="finding.readiness_reported",
            data={"finding": finding.reference, "organization": org.slug, "to": "ready"},
        )
    EmbargoEvent.objects.bulk_create(
        EmbargoEvent(
            embargo=embargo,
            kind="changed",
            actor=world.coordinator,
            old_ends_at=soon(i),
            new_ends_at=soon(i + 1),
        )
        for i in range(n)
    )
    for i in range(n):
        ExtensionRequest.objects.create(
            embargo=embargo,
            requested_by=world.defender_user,
            organization=orgs[i],
            requested_ends_at=soon(30 + i),
            reason="r",
            state=ExtensionRequest.State.DENIED,
            decided_by=world.coordinator,
            decided_at=timezone.now(),
        )
    ReleaseStage.objects.filter(finding=finding, audience="public").update(position=n + 10)
    stages = ReleaseStage.objects.bulk_create(
        ReleaseStage(
            finding=finding,
            position=i + 2,
            audience=ReleaseStage.Audience.ORGANIZATIONS,
            tlp=Finding.Tlp.AMBER,
            scheduled_at=timezone.now(),
            fired_at=timezone.now(),
            created_by=world.coordinator,
        )
        for i in range(n)
    )
    for stage, org in zip(stages, orgs, strict=True):
        stage.organizations.add(org)
    Embargo.objects.filter(pk=embargo.pk).update(state=Embargo.State.ACTIVE)
    return finding


@pytest.mark.parametrize("n", [1, 50])
@pytest.mark.parametrize("role", ["coordinator", "lab_user", "defender_user"])
def test_the_timeline_api_budget(world, api, django_assert_max_num_queries, n, role):
    finding = _busy(world, n)
    client = api(getattr(world, role))
    with django_assert_max_num_queries(11):
        entries = client.get(finding_url(finding.reference, "timeline")).json()["entries"]
    if role == "coordinator":
        assert sum(e["kind"] == "stage_fired" for e in entries) == n
        assert sum(e["kind"] == "readiness" for e in entries) == n


@pytest.mark.parametrize("n", [1, 50])
def test_the_timeline_page_budget(world, client, django_assert_max_num_queries, n):
    finding = _busy(world, n)
    client.force_login(world.coordinator)
    with django_assert_max_num_queries(13):
        response = client.get(reverse("finding-timeline", args=[finding.reference]))
    assert response.status_code == 200


@pytest.mark.parametrize("n", [1, 50])
def test_the_embargo_api_budget(world, api, django_assert_max_num_queries, n):
    finding = _busy(world, n)
    client = api(world.coordinator)
    with django_assert_max_num_queries(7):
        body = client.get(finding_url(finding.reference, "embargo")).json()
    assert len(body["extension_requests"]) == n
