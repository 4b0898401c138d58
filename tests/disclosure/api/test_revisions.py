"""Revisions by API: every edit is listed and viewable as a diff; a notified defender sees what
changed since it was told."""

import pytest

from disclosure.models import AuditEvent, FindingRecipient
from disclosure.services.intake import finding_update
from tests.disclosure.api.conftest import finding_url


def _edited(world):
    finding = world.file()
    finding_update(actor=world.lab_user, finding=finding, title="A sharper title")
    finding_update(actor=world.lab_user, finding=finding, risk_level="critical", tlp="RED")
    return finding


def test_the_revisions_are_listed_oldest_first_with_what_changed(world, api):
    finding = _edited(world)
    body = api(world.lab_user).get(finding_url(finding.reference, "revisions")).json()
    rows = body["results"]
    assert [r["number"] for r in rows] == [1, 2, 3]
    assert rows[1]["changed_fields"] == ["title"]
    assert rows[2]["changed_fields"] == ["risk_level", "tlp"]
    assert rows[0]["author"] == world.lab_user.full_name
    assert "created_at" in rows[0]


def test_a_revision_shows_its_content_and_the_diff_against_the_one_before(world, api):
    finding = _edited(world)
    body = api(world.lab_user).get(finding_url(finding.reference, "revisions/2")).json()
    assert body["content"]["title"] == "A sharper title"
    assert body["diff"] == [
        {
            "field": "title",
            "diff": [
                "@@ -1 +1 @@",
                "-Autonomous exploitation of known CVEs",
                "+A sharper title",
            ],
        }
    ]


def test_the_first_revision_diffs_against_nothing(world, api):
    finding = world.file()
    body = api(world.lab_user).get(finding_url(finding.reference, "revisions/1")).json()
    assert body["diff"][0]["field"] == "title"
    assert body["diff"][0]["diff"][1] == "+Autonomous exploitation of known CVEs"


@pytest.mark.parametrize("number", ["0", "4", "99"])
def test_a_revision_that_does_not_exist_is_a_404(world, api, number):
    finding = _edited(world)
    response = api(world.lab_user).get(finding_url(finding.reference, f"revisions/{number}"))
    assert response.status_code == 404


def test_reading_a_revision_of_an_unreleased_finding_is_audited(world, api):
    finding = world.embargoed()
    api(world.defender_user).get(finding_url(finding.reference, "revisions/1"))
    read = AuditEvent.objects.filter(finding=finding, action="finding.read").get()
    assert read.actor == world.defender_user


def test_a_defender_is_told_which_revision_it_was_notified_of(world, api):
    finding = world.embargoed()
    assert FindingRecipient.objects.get(finding=finding).notified_revision == 1
    body = api(world.defender_user).get(finding_url(finding.reference)).json()
    assert (body["revision"], body["notified_revision"]) == (1, 1)
    assert body["audience"][0]["notified_revision"] == 1
    assert body["changes_since_notified"] == {"since": 1, "current": 1, "diff": []}


def test_a_defender_sees_what_changed_since_it_was_notified(world, api):
    finding = world.embargoed()
    finding_update(
        actor=world.coordinator,
        finding=finding,
        recommended_actions="EMBARGOED-ACTION: also block the exploit kit.",
    )
    body = api(world.defender_user).get(finding_url(finding.reference)).json()
    changes = body["changes_since_notified"]
    assert (changes["since"], changes["current"]) == (1, 2)
    assert [d["field"] for d in changes["diff"]] == ["recommended_actions"]
    assert "+EMBARGOED-ACTION: also block the exploit kit." in changes["diff"][0]["diff"]


def test_the_lab_and_coordinators_get_no_changes_since_notified(world, api):
    finding = world.embargoed()
    for user in (world.lab_user, world.coordinator):
        body = api(user).get(finding_url(finding.reference)).json()
        assert (body["notified_revision"], body["changes_since_notified"]) == (None, None)


def test_an_anonymous_caller_must_log_in_for_the_revisions_of_a_released_finding(world, api):
    finding = world.released()
    assert api(None).get(finding_url(finding.reference, "revisions")).status_code == 401
    response = api(world.other_lab_user).get(finding_url(finding.reference, "revisions"))
    assert response.status_code == 200
