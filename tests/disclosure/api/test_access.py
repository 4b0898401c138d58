"""Who gets what, by API: a finding you may not see is a 404 on every route, and its embargoed
content never appears in any response to you, lists included."""

import pytest

from disclosure.models import AuditEvent, Finding, FindingRecipient
from tests.disclosure.api.conftest import (
    CONTENT_MARKERS,
    MARKERS,
    accept_body,
    content_markers_add,
    finding_url,
)

State = Finding.State

# (method, action, body) for every route under /api/findings/{reference}/.
ROUTES = [
    ("get", "", None),
    ("patch", "", {"title": "Overwritten"}),
    ("post", "submit", None),
    ("post", "accept", accept_body("grid-isac")),
    ("post", "reject", {"reason": "No"}),
    ("post", "acknowledge", None),
    ("get", "events", None),
    ("get", "revisions", None),
    ("get", "revisions/1", None),
    ("get", "credits", None),
    ("post", "credits", {"email": "analyst@water.example", "type": "analyst"}),
    ("get", "audience/proposal", None),
    ("post", "audience", {"defender_organizations": ["water-cert"]}),
    ("delete", "audience", {"organization": "grid-isac", "reason": "No"}),
    ("get", "recipients", None),
    ("post", "readiness", {"readiness": "ready"}),
    ("get", "release-plan", None),
    ("put", "release-plan", {"stages": [{}, {"audience": "public"}]}),
]
ROUTE_IDS = [f"{method}-{action or 'detail'}" for method, action, _ in ROUTES]
OUTSIDERS = {
    # Who may not see a finding, per state.
    State.DRAFT: ["other_lab", "coordinator", "defender", "other_defender", "anonymous"],
    State.SUBMITTED: ["other_lab", "defender", "other_defender", "anonymous"],
    State.REJECTED: ["other_lab", "defender", "other_defender", "anonymous"],
    State.EMBARGOED: ["other_lab", "other_defender", "anonymous"],
}
CASES = [(state, role) for state, roles in OUTSIDERS.items() for role in roles]


def _user(world, role):
    return {
        "anonymous": None,
        "lab": world.lab_user,
        "other_lab": world.other_lab_user,
        "coordinator": world.coordinator,
        "defender": world.defender_user,
        "other_defender": world.other_defender_user,
    }[role]


def _call(client, method, url, body):
    return getattr(client, method)(url, body, format="json")


def _assert_no_markers(response):
    for marker in (*MARKERS, *CONTENT_MARKERS):
        assert marker not in response.content.decode()


@pytest.mark.parametrize(("method", "action", "body"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("role", OUTSIDERS[State.EMBARGOED])
def test_an_embargoed_finding_is_a_404_on_every_route_for_outsiders(
    world, api, role, method, action, body
):
    finding = world.embargoed()
    events = AuditEvent.objects.count()
    response = _call(api(_user(world, role)), method, finding_url(finding.reference, action), body)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert AuditEvent.objects.count() == events  # nothing was done, not even a read


@pytest.mark.parametrize(("method", "action", "body"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("role", OUTSIDERS[State.DRAFT])
def test_nobody_but_its_lab_reaches_a_draft(world, api, role, method, action, body):
    finding = world.file()
    response = _call(api(_user(world, role)), method, finding_url(finding.reference, action), body)
    assert response.status_code == 404
    finding.refresh_from_db()
    assert (finding.state, finding.title) == (State.DRAFT, "Autonomous exploitation of known CVEs")


def test_a_reference_that_does_not_exist_is_the_same_404(world, api):
    response = api(world.other_lab_user).get(finding_url("FW-2026-9999"))
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


@pytest.mark.parametrize(("state", "role"), CASES)
def test_embargoed_content_never_reaches_an_outsider_and_lists_exclude_it(world, api, state, role):
    finding = world.in_state(state)
    content_markers_add(finding, world.lab_user)
    credit = finding.credits.get()
    client = api(_user(world, role))
    responses = [
        client.get(finding_url(finding.reference)),
        client.get(finding_url(finding.reference, "events")),
        client.get(finding_url(finding.reference, "revisions")),
        client.get(finding_url(finding.reference, "revisions/1")),
        client.get(finding_url(finding.reference, "credits")),
        client.get("/api/credits/"),
        client.post(f"/api/credits/{credit.pk}/accept/"),
        client.get("/api/advisories/"),
        client.get(f"/api/advisories/{finding.reference}/"),
    ]
    if role != "anonymous":
        listing = client.get("/api/findings/")
        responses.append(listing)
        assert listing.json()["results"] == []
        responses.append(client.get(f"/api/findings/?state={state}"))
    for response in responses:
        _assert_no_markers(response)
        assert finding.reference not in response.content.decode()


@pytest.mark.parametrize("role", ["lab", "coordinator", "defender"])
def test_those_who_may_see_an_embargoed_finding_get_its_details(world, api, role):
    finding = world.embargoed()
    content_markers_add(finding, world.lab_user)
    response = api(_user(world, role)).get(finding_url(finding.reference))
    body = response.content.decode()
    assert all(marker in body for marker in (*MARKERS, *CONTENT_MARKERS))


def test_a_defender_notified_of_another_finding_sees_only_that_one(world, api):
    notified = world.embargoed()
    other = world.embargoed()
    FindingRecipient.objects.filter(finding=other).update(organization=world.other_defender)
    body = api(world.defender_user).get("/api/findings/").json()
    assert [f["reference"] for f in body["results"]] == [notified.reference]
    assert body["next"] is None


def test_a_released_finding_is_public_to_every_logged_in_user(world, api):
    finding = world.released()
    response = api(world.other_defender_user).get(finding_url(finding.reference))
    assert response.status_code == 200
    assert response.json()["audience"] == []
    assert response.json()["actions"] == []


def test_an_anonymous_action_on_a_released_finding_asks_for_a_login(world, api):
    finding = world.released()
    response = api(None).post(finding_url(finding.reference, "acknowledge"))
    assert response.status_code == 401
