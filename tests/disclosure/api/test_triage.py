"""The triage API: each action endpoint allowed and refused, the queue, the detail's actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from disclosure.models import AuditEvent, Delivery, Finding
from disclosure.services import triage
from tests.disclosure.api.conftest import accept_body, finding_url
from tests.disclosure.triage_states import finding_in, in_triage, needs_info
from tests.factories import FindingFactory, MembershipFactory, UserFactory

State = Finding.State

# endpoint -> (the state it works from, the role who may, a valid body, the resulting state)
ACTIONS = {
    "start-triage": (State.SUBMITTED, "coordinator", None, State.IN_TRIAGE),
    "request-info": (State.IN_TRIAGE, "coordinator", {"message": "Which ckpt?"}, State.NEEDS_INFO),
    "provide-info": (State.NEEDS_INFO, "lab_user", {"response": "ckpt-7"}, State.IN_TRIAGE),
    "duplicate": (State.SUBMITTED, "coordinator", "original", State.DUPLICATE),
    "withdraw": (State.SUBMITTED, "lab_user", {"reason": "Wrong model"}, State.WITHDRAWN),
    "assign": (State.SUBMITTED, "coordinator", {"assignee": "coord@cc.example"}, State.SUBMITTED),
}
# Someone who sees the finding in that state but may not take the action.
WRONG_ROLE = {
    "start-triage": "lab_user",
    "request-info": "lab_user",
    "provide-info": "coordinator",
    "duplicate": "lab_user",
    "withdraw": "coordinator",
    "assign": "lab_user",
}
# A state the right role cannot act from.
WRONG_STATE = {
    "start-triage": State.EMBARGOED,
    "request-info": State.SUBMITTED,
    "provide-info": State.IN_TRIAGE,
    "duplicate": State.EMBARGOED,
    "withdraw": State.EMBARGOED,
    "assign": State.REJECTED,
}


def _body(world, body):
    if body == "original":
        return {"duplicate_of": world.submitted().reference, "reason": "Same as the original."}
    return body


def _post(client, finding, action, body):
    return client.post(finding_url(finding.reference, action), body or {}, format="json")


@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_works_for_the_role_that_may_take_it(world, api, action):
    state, role, body, result = ACTIONS[action]
    finding = finding_in(world, state)
    response = _post(api(getattr(world, role)), finding, action, _body(world, body))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == result
    finding.refresh_from_db()
    assert finding.state == result


@pytest.mark.parametrize("action", ACTIONS)
def test_the_wrong_role_gets_a_403_before_the_body_is_read(world, api, action):
    state, _, _, _ = ACTIONS[action]
    finding = finding_in(world, state)
    response = _post(api(getattr(world, WRONG_ROLE[action])), finding, action, {"junk": 1})
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.state == state


@pytest.mark.parametrize("outsider", ["other_lab_user", "defender_user", None])
@pytest.mark.parametrize("action", ACTIONS)
def test_who_cannot_see_the_finding_gets_a_404(world, api, action, outsider):
    state, _, body, _ = ACTIONS[action]
    finding = finding_in(world, state)
    user = getattr(world, outsider) if outsider else None
    response = _post(api(user), finding, action, _body(world, body))
    assert response.status_code == 404
    finding.refresh_from_db()
    assert finding.state == state


@pytest.mark.parametrize("action", ACTIONS)
def test_the_wrong_state_is_a_409_naming_the_state(world, api, action):
    _, role, body, _ = ACTIONS[action]
    finding = finding_in(world, WRONG_STATE[action])
    response = _post(api(getattr(world, role)), finding, action, _body(world, body))
    assert response.status_code == 409, response.content
    assert WRONG_STATE[action] in response.json()["detail"]


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("request-info", {}, "message"),
        ("request-info", {"message": "  "}, "message"),
        ("provide-info", {"response": ""}, "response"),
        ("withdraw", {}, "reason"),
        ("duplicate", {"duplicate_of": "FW-1999-0001"}, "duplicate_of"),
        ("assign", {"assignee": "nobody@nowhere.example"}, "assignee"),
        ("assign", {"assignee": "dev@lab.example"}, "assignee"),
        ("assign", {}, "assignee"),
        ("request-info", {"message": "x", "state": "accepted"}, "state"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(world, api, action, body, field):
    state, role, _, _ = ACTIONS[action]
    finding = finding_in(world, state)
    events = AuditEvent.objects.count()
    response = _post(api(getattr(world, role)), finding, action, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["detail"]
    assert AuditEvent.objects.count() == events


def test_a_finding_cannot_be_its_own_duplicate(world, api):
    finding = world.submitted()
    response = _post(
        api(world.coordinator), finding, "duplicate", {"duplicate_of": finding.reference}
    )
    assert response.status_code == 400
    assert "itself" in response.json()["detail"]["duplicate_of"]


def test_assign_null_unassigns(world, api):
    finding = triage.finding_assign(
        actor=world.coordinator, finding=world.submitted(), assignee=world.coordinator
    )
    response = _post(api(world.coordinator), finding, "assign", {"assignee": None})
    assert response.status_code == 200
    finding.refresh_from_db()
    assert finding.assignee is None


def test_accept_works_from_in_triage_and_tells_the_lab(world, api):
    finding = in_triage(world)
    response = _post(api(world.coordinator), finding, "accept", accept_body("grid-isac"))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "embargoed"
    assert Delivery.objects.filter(
        finding=finding, event=Delivery.Event.TRIAGED, recipient=world.lab_user
    ).exists()


def test_the_lab_reads_the_request_on_the_events_endpoint_but_not_by_email(world, api):
    finding = needs_info(world, message="SECRET-QUESTION about ckpt-7")
    events = api(world.lab_user).get(finding_url(finding.reference, "events")).json()["results"]
    assert "SECRET-QUESTION about ckpt-7" in [e["note"] for e in events]


@pytest.mark.parametrize(
    ("state", "role", "expected"),
    [
        (State.DRAFT, "lab_user", ["edit", "submit", "withdraw"]),
        (State.SUBMITTED, "lab_user", ["edit", "withdraw"]),
        (
            State.SUBMITTED,
            "coordinator",
            ["edit", "start-triage", "accept", "reject", "duplicate", "assign"],
        ),
        (
            State.IN_TRIAGE,
            "coordinator",
            ["edit", "request-info", "accept", "reject", "duplicate", "assign"],
        ),
        (
            State.NEEDS_INFO,
            "coordinator",
            ["edit", "start-triage", "reject", "duplicate", "assign"],
        ),
        (State.NEEDS_INFO, "lab_user", ["edit", "provide-info", "withdraw"]),
        (State.EMBARGOED, "coordinator", ["edit", "assign"]),
        (State.REJECTED, "lab_user", []),
    ],
)
def test_the_detail_lists_the_actions_the_user_may_take(world, api, state, role, expected):
    finding = finding_in(world, state)
    body = api(getattr(world, role)).get(finding_url(finding.reference)).json()
    assert body["actions"] == expected


# --- The queue.


def _queued(world, *, risk, submitted_days_ago, state=State.SUBMITTED, assignee=None):
    return FindingFactory(
        developer=world.lab,
        created_by=world.lab_user,
        state=state,
        risk_level=risk,
        submitted_at=timezone.now() - timedelta(days=submitted_days_ago),
        assignee=assignee,
    )


def test_the_queue_is_sorted_by_risk_then_age(world, api):
    high_new = _queued(world, risk="high", submitted_days_ago=1)
    critical_new = _queued(world, risk="critical", submitted_days_ago=1)
    low_old = _queued(world, risk="low", submitted_days_ago=9, state=State.NEEDS_INFO)
    high_old = _queued(world, risk="high", submitted_days_ago=5, state=State.IN_TRIAGE)
    critical_old = _queued(world, risk="critical", submitted_days_ago=3)
    response = api(world.coordinator).get("/api/triage/queue/")
    assert response.status_code == 200
    assert [row["reference"] for row in response.json()["results"]] == [
        critical_old.reference,
        critical_new.reference,
        high_old.reference,
        high_new.reference,
        low_old.reference,
    ]


def test_the_queue_holds_only_findings_waiting_for_triage(world, api):
    waiting = {finding_in(world, s).reference for s in ("submitted", "in_triage", "needs_info")}
    for state in ("draft", "embargoed", "rejected", "released", "withdrawn"):
        finding_in(world, state)
    waiting.add(finding_in(world, "duplicate").duplicate_of.reference)  # its original waits
    rows = api(world.coordinator).get("/api/triage/queue/").json()["results"]
    assert {row["reference"] for row in rows} == waiting


def test_the_queue_filters_by_assignee(world, api):
    second = UserFactory(email="second@cc.example")
    MembershipFactory(user=second, organization=world.center)
    mine = _queued(world, risk="high", submitted_days_ago=1, assignee=world.coordinator)
    theirs = _queued(world, risk="high", submitted_days_ago=2, assignee=second)
    nobodys = _queued(world, risk="high", submitted_days_ago=3)
    client = api(world.coordinator)

    def refs(query):
        return [r["reference"] for r in client.get(f"/api/triage/queue/{query}").json()["results"]]

    assert refs("?assigned=me") == [mine.reference]
    assert refs("?assigned=none") == [nobodys.reference]
    assert set(refs("")) == {mine.reference, theirs.reference, nobodys.reference}
    row = client.get("/api/triage/queue/?assigned=me").json()["results"][0]
    assert row["assignee"] == "coord@cc.example"


def test_an_unknown_queue_filter_is_a_400(world, api):
    response = api(world.coordinator).get("/api/triage/queue/?assigned=everyone")
    assert response.status_code == 400
    assert "assigned" in response.json()["detail"]


@pytest.mark.parametrize("role", ["lab_user", "defender_user"])
def test_only_coordinators_have_a_queue(world, api, role):
    world.submitted()
    response = api(getattr(world, role)).get("/api/triage/queue/")
    assert response.status_code == 403


def test_the_queue_needs_a_login(world, api):
    assert api(None).get("/api/triage/queue/").status_code == 401


def test_the_queue_shows_no_embargoed_field(world, api):
    in_triage(world)
    text = api(world.coordinator).get("/api/triage/queue/").content.decode()
    assert "EMBARGOED-DETAIL" not in text
    assert "EMBARGOED-ACTION" not in text
