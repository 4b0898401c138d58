"""What a finding records, by API: filed in full, shown back in shape, edited list by list."""

import pytest

from disclosure.models import AuditEvent, Credit, Finding, FindingRevision
from tests.disclosure.api.conftest import FINDING_BODY, finding_url

EVALUATION = {
    "name": "Protocol planning eval",
    "method": "20 expert-written tasks, graded blind.",
    "checkpoint": "base",
    "modifications": ["fine_tuning", "jailbreaks"],
    "metric": "Tasks completed",
    "result": "12 of 20",
    "baseline": "3 of 20 (web search only)",
    "uplift": "+45 percentage points",
    "evaluated_on": "2026-10-02",
}
COMPLETE = {
    **FINDING_BODY,
    "model_version": "ckpt-7",
    "residual_risk_level": "high",
    "tlp": "TLP:AMBER",
    "deployment_surfaces": ["api", "open_weights"],
    "planned_availability": "2026-12-01",
    "affected_sectors": ["healthcare-public-health", "nucleic-acid-synthesis"],
    "evaluations": [EVALUATION, {**EVALUATION, "name": "Second eval", "checkpoint": "deployed"}],
    "mitigations": [{"description": "Refusal classifier", "status": "deployed"}],
}


def _file(api, world, body):
    return api(world.lab_user).post("/api/findings/", body, format="json")


def test_a_complete_finding_is_filed_and_shown_back_in_full(world, api):
    response = _file(api, world, COMPLETE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["category"] == {
        "key": "openai-pf-v2:biological-chemical",
        "label": "Biological and Chemical",
        "taxonomy": {
            "slug": "openai-pf-v2",
            "framework": "OpenAI Preparedness Framework",
            "version": "v2 (2025)",
        },
    }
    assert (body["risk_level"], body["residual_risk_level"]) == ("critical", "high")
    assert body["tlp"] == "TLP:AMBER"
    assert body["deployment_surfaces"] == ["api", "open_weights"]
    assert body["planned_availability"] == "2026-12-01"
    assert body["affected_sectors"] == ["healthcare-public-health", "nucleic-acid-synthesis"]
    assert body["evaluations"][0] == EVALUATION
    assert [e["name"] for e in body["evaluations"]] == ["Protocol planning eval", "Second eval"]
    assert body["mitigations"] == [{"description": "Refusal classifier", "status": "deployed"}]
    assert (body["credits"], body["revision"]) == ([], 1)


@pytest.mark.parametrize("given", ["AMBER", "TLP:AMBER", "tlp:amber"])
def test_the_tlp_label_is_taken_with_or_without_its_prefix_and_shown_with_it(world, api, given):
    response = _file(api, world, {**FINDING_BODY, "tlp": given})
    assert response.status_code == 201
    assert response.json()["tlp"] == "TLP:AMBER"
    assert Finding.objects.get().tlp == "AMBER"


def test_a_finding_without_a_tlp_label_is_amber_strict(world, api):
    assert _file(api, world, FINDING_BODY).json()["tlp"] == "TLP:AMBER+STRICT"


def test_the_list_shows_the_public_content_only(world, api):
    _file(api, world, COMPLETE)
    row = api(world.lab_user).get("/api/findings/").json()["results"][0]
    assert row["category"]["key"] == "openai-pf-v2:biological-chemical"
    assert (row["tlp"], row["residual_risk_level"]) == ("TLP:AMBER", "high")
    for embargoed in ("details", "evaluations", "mitigations", "model_version", "credits"):
        assert embargoed not in row


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"tlp": "TLP:PURPLE"}, "tlp", "TLP:AMBER+STRICT"),
        ({"category": "openai-pf-v2:weather"}, "category", "Unknown taxonomy code"),
        ({"residual_risk_level": "critical", "risk_level": "low"}, "residual_risk_level", "exceed"),
        ({"affected_sectors": ["energy", "moon"]}, "affected_sectors", "moon"),
        ({"deployment_surfaces": ["telepathy"]}, "deployment_surfaces", "open_weights"),
        ({"planned_availability": "soon"}, "planned_availability", "YYYY-MM-DD"),
        ({"evaluations": [{**EVALUATION, "checkpoint": "x"}]}, "evaluations[0].checkpoint", "base"),
        ({"evaluations": [{"name": "Half"}]}, "evaluations[0]", "missing method"),
        ({"evaluations": "many"}, "evaluations", "list"),
        ({"mitigations": [{"description": "X", "status": "done"}]}, "mitigations[0].status", ""),
    ],
)
def test_bad_content_is_a_400_naming_the_field_and_files_nothing(world, api, change, field, words):
    response = _file(api, world, {**COMPLETE, **change})
    assert response.status_code == 400, response.content
    assert words in response.json()["detail"][field]
    assert not Finding.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_edit_that_names_a_list_replaces_it_and_leaves_the_others(world, api):
    reference = _file(api, world, COMPLETE).json()["reference"]
    response = api(world.lab_user).patch(
        finding_url(reference),
        {"evaluations": [{**EVALUATION, "name": "Rerun"}], "tlp": "RED"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [e["name"] for e in body["evaluations"]] == ["Rerun"]
    assert body["mitigations"] == COMPLETE["mitigations"]
    assert body["affected_sectors"] == COMPLETE["affected_sectors"]
    assert (body["tlp"], body["revision"]) == ("TLP:RED", 2)
    revision = FindingRevision.objects.get(finding__reference=reference, number=2)
    assert revision.changed_fields == ["tlp", "evaluations"]


def test_an_edit_can_clear_the_optional_content(world, api):
    reference = _file(api, world, COMPLETE).json()["reference"]
    body = (
        api(world.lab_user)
        .patch(
            finding_url(reference),
            {
                "residual_risk_level": None,
                "planned_availability": None,
                "deployment_surfaces": [],
                "affected_sectors": [],
                "mitigations": [],
            },
            format="json",
        )
        .json()
    )
    assert body["residual_risk_level"] == ""
    assert body["planned_availability"] is None
    assert body["deployment_surfaces"] == body["affected_sectors"] == body["mitigations"] == []


def test_a_bad_edit_changes_nothing(world, api):
    reference = _file(api, world, COMPLETE).json()["reference"]
    response = api(world.lab_user).patch(
        finding_url(reference),
        {"title": "New title", "mitigations": [{"description": "", "status": "planned"}]},
        format="json",
    )
    assert response.status_code == 400
    finding = Finding.objects.get(reference=reference)
    assert finding.title == COMPLETE["title"]
    assert finding.mitigations.count() == 1
    assert finding.revisions.count() == 1


def test_a_coordinator_edits_a_submitted_finding(world, api):
    finding = world.submitted()
    response = api(world.coordinator).patch(
        finding_url(finding.reference), {"risk_level": "critical"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["risk_level"] == "critical"


def test_a_defender_may_not_edit_a_finding_it_was_notified_of(world, api):
    finding = world.embargoed()
    response = api(world.defender_user).patch(
        finding_url(finding.reference), {"title": "Mine now"}, format="json"
    )
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.title != "Mine now"


def test_a_released_finding_is_tlp_clear_in_full_with_accepted_credits_by_name(world, api):
    finding = world.released()
    Finding.objects.filter(pk=finding.pk).update(tlp="RED")
    Credit.objects.create(
        finding=finding,
        user=world.lab_user,
        type="finder",
        status="accepted",
        created_by=world.lab_user,
    )
    Credit.objects.create(
        finding=finding, user=world.coordinator, type="coordinator", created_by=world.lab_user
    )
    for url in (f"/api/advisories/{finding.reference}/", "/api/advisories/"):
        body = api(None).get(url).json()
        advisory = body["results"][0] if "results" in body else body
        assert advisory["tlp"] == "TLP:CLEAR"
        assert advisory["credits"] == [{"name": world.lab_user.full_name, "type": "finder"}]
        assert advisory["category"]["key"] == "openai-pf-v2:cybersecurity"
        for field in ("evaluations", "mitigations", "deployment_surfaces", "affected_sectors"):
            assert field in advisory
        text = str(body)
        assert world.lab_user.email not in text
        assert world.coordinator.email not in text
