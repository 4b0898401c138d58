"""Reading findings: the list, one finding with its audience and actions, the audit trail."""

from datetime import timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from disclosure.models import AuditEvent
from disclosure.services.triage import finding_accept
from tests.disclosure.api.conftest import finding_url
from tests.factories import OrganizationFactory


def _embargoed_for_two(world):
    third = OrganizationFactory(name="Bank CERT", slug="bank-cert", sector="Finance")
    return finding_accept(
        actor=world.coordinator,
        finding=world.submitted(),
        organizations=[world.defender, third],
        embargo_ends_at=timezone.now() + timedelta(days=7),
    )


def test_the_list_shows_the_labs_findings_newest_first_without_embargoed_fields(world, api):
    first, second = world.file(), world.submitted()
    body = api(world.lab_user).get("/api/findings/").json()
    assert "count" not in body  # cursor pages: no totals
    assert [f["reference"] for f in body["results"]] == [second.reference, first.reference]
    assert "details" not in body["results"][0]
    assert body["results"][0]["developer"] == {"slug": "example-lab", "name": "Example Lab"}


def test_the_list_can_be_filtered_by_state(world, api):
    world.file()
    submitted = world.submitted()
    body = api(world.lab_user).get("/api/findings/?state=submitted").json()
    assert [f["reference"] for f in body["results"]] == [submitted.reference]


def test_an_unknown_state_filter_is_a_400(world, api):
    response = api(world.lab_user).get("/api/findings/?state=secret")
    assert response.status_code == 400
    assert "draft" in response.json()["detail"]["state"]


def test_the_lab_sees_its_draft_with_details_and_can_edit_and_submit_it(world, api):
    finding = world.file()
    body = api(world.lab_user).get(finding_url(finding.reference)).json()
    assert body["state"] == "draft"
    assert body["details"].startswith("EMBARGOED-DETAIL")
    assert body["model_version"] == "ckpt-2026-10"
    assert body["actions"] == ["edit", "submit", "withdraw"]


def test_a_coordinator_sees_a_submitted_finding_and_may_accept_or_reject_it(world, api):
    finding = world.submitted()
    body = api(world.coordinator).get(finding_url(finding.reference)).json()
    assert body["actions"] == ["edit", "start-triage", "accept", "reject", "duplicate", "assign"]
    assert body["audience"] == []


def test_the_embargo_end_is_an_iso_datetime_with_its_zone(world, api):
    finding = world.embargoed()
    body = api(world.lab_user).get(finding_url(finding.reference)).json()
    ends_at = parse_datetime(body["embargo_ends_at"])
    assert ends_at is not None and ends_at.tzinfo is not None
    assert ends_at == finding.embargo_ends_at


def test_a_notified_defender_sees_the_details_and_only_its_own_audience_row(world, api):
    finding = _embargoed_for_two(world)
    body = api(world.defender_user).get(finding_url(finding.reference)).json()
    assert body["state"] == "embargoed"
    assert body["recommended_actions"].startswith("EMBARGOED-ACTION")
    assert [r["organization"] for r in body["audience"]] == ["grid-isac"]
    assert body["audience"][0]["acknowledged"] is False
    assert body["actions"] == ["acknowledge"]


def test_coordinators_and_the_lab_see_the_whole_audience(world, api):
    finding = _embargoed_for_two(world)
    for user in (world.coordinator, world.lab_user):
        body = api(user).get(finding_url(finding.reference)).json()
        assert [r["organization"] for r in body["audience"]] == ["bank-cert", "grid-isac"]


def test_reading_an_embargoed_finding_is_audited_as_an_api_read(world, api):
    finding = world.embargoed()
    api(world.defender_user).get(finding_url(finding.reference))
    read = AuditEvent.objects.get(finding=finding, action="finding.read")
    assert (read.actor, read.data) == (world.defender_user, {"via": "api"})


def test_reading_a_released_finding_is_not_audited(world, api):
    finding = world.released()
    before = AuditEvent.objects.filter(finding=finding).count()
    response = api(world.other_lab_user).get(finding_url(finding.reference))
    assert response.status_code == 200
    assert response.json()["details"].startswith("EMBARGOED-DETAIL")
    assert AuditEvent.objects.filter(finding=finding).count() == before


def test_the_audit_trail_lists_each_transition_for_the_lab_and_coordinators(world, api):
    finding = world.embargoed()
    for user in (world.lab_user, world.coordinator):
        body = api(user).get(finding_url(finding.reference, "events")).json()
        assert [e["action"] for e in body["results"]] == [
            "finding.created",
            "finding.submitted",
            "finding.accepted",
            "finding.embargoed",
            "embargo.activated",
            "finding.release_planned",
        ]
    accepted = body["results"][2]
    assert (accepted["actor"], accepted["from_state"], accepted["to_state"]) == (
        "coord@cc.example",
        "submitted",
        "accepted",
    )


def test_a_notified_defender_may_not_read_the_audit_trail(world, api):
    finding = world.embargoed()
    response = api(world.defender_user).get(finding_url(finding.reference, "events"))
    assert response.status_code == 403
    assert "audit trail" in response.json()["detail"]


def test_the_audit_trail_of_a_released_finding_stays_with_its_lab_and_coordinators(world, api):
    finding = world.released()
    assert (
        api(world.other_lab_user).get(finding_url(finding.reference, "events")).status_code == 403
    )
    assert api(None).get(finding_url(finding.reference, "events")).status_code == 401


def test_an_anonymous_caller_reads_released_findings_at_advisories_not_here(world, api):
    finding = world.released()
    assert api(None).get(finding_url(finding.reference)).status_code == 401
