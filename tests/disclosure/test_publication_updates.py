"""Updates of a released advisory: a coordinator's change makes a new revision and version,
audited with its public note; everyone else, every other state and bad input are refused with
nothing written."""

from __future__ import annotations

import pytest

from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Finding, FindingRevision
from disclosure.services.advisories import ADVISORY_UPDATED, advisory_update
from disclosure.services.intake import finding_update
from tests.disclosure.publication import released_factory

pytestmark = pytest.mark.django_db
State = Finding.State
MITIGATIONS = [{"description": "Refusal training for exploit chains", "status": "deployed"}]


def _url(reference: str) -> str:
    return f"/api/advisories/{reference}/updates/"


def _as(client, user):
    """The test client, logged in as ``user`` (None: anonymous)."""
    if user is not None:
        client.force_login(user)
    return client


def _written(finding: Finding) -> tuple[int, int]:
    return (
        FindingRevision.objects.filter(finding=finding).count(),
        AuditEvent.objects.filter(finding=finding).count(),
    )


# --- The service.


def test_an_update_makes_a_revision_and_an_audited_version(world):
    finding = world.released()
    revisions = finding.revisions.count()
    advisory_update(
        actor=world.coordinator,
        finding=finding,
        changes={"mitigations": MITIGATIONS, "residual_risk_level": "medium"},
        note="  The lab deployed refusal training.  ",
    )
    finding.refresh_from_db()
    assert finding.state == State.RELEASED
    assert finding.residual_risk_level == "medium"
    revision = finding.revisions.order_by("-number").first()
    assert revision.number == revisions + 1
    assert revision.author == world.coordinator
    assert revision.changed_fields == ["residual_risk_level", "mitigations"]
    event = AuditEvent.objects.get(finding=finding, action=ADVISORY_UPDATED)
    assert event.actor == world.coordinator
    assert event.note == "The lab deployed refusal training."
    assert event.data == {
        "revision": revision.number,
        "version": 2,
        "fields": ["residual_risk_level", "mitigations"],
    }
    advisory_update(actor=world.coordinator, finding=finding, changes={"title": "T"}, note="n")
    assert AuditEvent.objects.filter(action=ADVISORY_UPDATED).last().data["version"] == 3


@pytest.mark.parametrize("state", [State.DRAFT, State.SUBMITTED, State.EMBARGOED, State.REJECTED])
def test_only_a_released_advisory_is_updated_this_way(world, state):
    finding = world.in_state(state)
    before = _written(finding)
    with pytest.raises(Conflict) as refused:
        advisory_update(actor=world.coordinator, finding=finding, changes={"title": "X"}, note="n")
    assert refused.value.status_code == 409
    assert _written(finding) == before


@pytest.mark.parametrize("who", ["lab_user", "defender_user", "other_lab_user"])
def test_only_coordinators_update_an_advisory(world, who):
    finding = world.released()
    before = _written(finding)
    with pytest.raises(NotAllowed):
        advisory_update(
            actor=getattr(world, who), finding=finding, changes={"title": "X"}, note="n"
        )
    assert _written(finding) == before


@pytest.mark.parametrize(
    ("changes", "note", "field"),
    [
        ({}, "n", "changes"),
        ({"tlp": "RED"}, "n", "changes.tlp"),
        ({"titel": "Typo"}, "n", "changes"),
        ({"category": "no-such:thing"}, "n", "changes.category"),
        ({"title": ""}, "n", "changes.title"),
        ({"residual_risk_level": "critical"}, "n", "changes.residual_risk_level"),
        ({"evaluations": [{"name": "Half an evaluation"}]}, "n", "changes.evaluations[0]"),
        (
            {"mitigations": [{"description": "x", "status": "done"}]},
            "n",
            "changes.mitigations[0].status",
        ),
        ({"title": "Autonomous exploitation of known CVEs"}, "n", "changes"),  # nothing changes
        ({"title": "New"}, "   ", "note"),
        ({"title": "New"}, "x" * 1001, "note"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(world, changes, note, field):
    finding = world.released()
    before = _written(finding)
    with pytest.raises(ValidationFailed) as refused:
        advisory_update(actor=world.coordinator, finding=finding, changes=changes, note=note)
    assert refused.value.status_code == 400
    assert field in refused.value.detail
    assert _written(finding) == before
    finding.refresh_from_db()
    assert finding.title == "Autonomous exploitation of known CVEs"
    assert finding.residual_risk_level == ""


def test_released_findings_stay_closed_to_normal_edits(world, client):
    finding = world.released()
    with pytest.raises(NotAllowed):
        finding_update(actor=world.coordinator, finding=finding, title="Edited")
    response = _as(client, world.coordinator).patch(
        f"/api/findings/{finding.reference}/", {"title": "Edited"}, content_type="application/json"
    )
    assert response.status_code == 403


# --- The API.


def test_a_coordinator_posts_an_update_and_the_advisory_shows_its_history(world, client):
    finding = world.released()
    response = _as(client, world.coordinator).post(
        _url(finding.reference),
        {"changes": {"mitigations": MITIGATIONS}, "note": "Refusal training deployed."},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["mitigations"] == MITIGATIONS
    advisory = _as(client, None).get(f"/api/advisories/{finding.reference}/").json()
    revisions = advisory["revisions"]
    assert [(r["number"], r["summary"], r["changed_fields"]) for r in revisions] == [
        (1, "Initial public release.", []),
        (2, "Refusal training deployed.", ["mitigations"]),
    ]
    assert revisions[1]["date"] > revisions[0]["date"]
    listed = _as(client, None).get("/api/advisories/").json()["results"][0]
    assert listed["revisions"] == revisions


@pytest.mark.parametrize("who", ["lab_user", "defender_user", "other_lab_user"])
def test_others_are_refused_before_the_body_is_read(world, client, who):
    finding = world.released()
    before = _written(finding)
    response = _as(client, getattr(world, who)).post(
        _url(finding.reference), {"bogus": 1}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Only coordinators can update a released advisory."}
    assert _written(finding) == before


def test_anonymous_callers_are_refused(world, client):
    finding = world.released()
    body = {"changes": {"title": "X"}, "note": "n"}
    assert _as(client, None).post(
        _url(finding.reference), body, content_type="application/json"
    ).status_code in (401, 403)


@pytest.mark.parametrize("state", [State.DRAFT, State.SUBMITTED, State.EMBARGOED, State.REJECTED])
def test_an_unreleased_finding_has_no_advisory_to_update(world, client, state):
    finding = world.in_state(state)
    before = _written(finding)
    body = {"changes": {"title": "X"}, "note": "n"}
    response = _as(client, world.coordinator).post(
        _url(finding.reference), body, content_type="application/json"
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert _written(finding) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"note": "n"}, "changes"),
        ({"changes": {"title": "X"}}, "note"),
        ({"changes": {"title": "X"}, "note": "n", "state": "draft"}, "state"),
        ({"changes": {"risk_level": "apocalyptic"}, "note": "n"}, "changes.risk_level"),
        ({"changes": {"titel": "X"}, "note": "n"}, "changes.titel"),
        ({"changes": {"tlp": "RED"}, "note": "n"}, "changes.tlp"),
        ({"changes": {"category": "nope:nope"}, "note": "n"}, "changes.category"),
        ({"changes": "title", "note": "n"}, "changes"),
    ],
)
def test_bad_input_by_api_is_a_400_naming_the_field(world, client, body, field):
    finding = world.released()
    before = _written(finding)
    response = _as(client, world.coordinator).post(
        _url(finding.reference), body, content_type="application/json"
    )
    assert response.status_code == 400
    assert field in response.json()["detail"], response.json()
    assert _written(finding) == before


def test_updates_are_only_posted(world, client):
    finding = world.released()
    assert _as(client, world.coordinator).get(_url(finding.reference)).status_code == 405


@pytest.mark.parametrize("rows", [1, 30])
def test_advisory_list_api_query_budget_with_revisions(
    world, client, django_assert_max_num_queries, rows
):
    for _ in range(rows):
        finding = released_factory(rich=False)
        advisory_update(actor=world.coordinator, finding=finding, changes={"title": "T"}, note="n")
    # Count, page, sectors, evaluations, mitigations, credits, updates.
    with django_assert_max_num_queries(7):
        body = _as(client, None).get("/api/advisories/").json()
    assert all(len(a["revisions"]) == 2 for a in body["results"])
