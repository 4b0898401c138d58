"""Credits by API: the lab or a coordinator credits someone, who alone accepts or declines."""

import pytest

from disclosure.models import AuditEvent, Credit
from tests.disclosure.api.conftest import finding_url


def _credit(api, actor, finding, email, type="finder"):
    return api(actor).post(
        finding_url(finding.reference, "credits"), {"email": email, "type": type}, format="json"
    )


def test_the_lab_credits_a_coordinator_who_accepts(world, api):
    finding = world.submitted()
    response = _credit(api, world.lab_user, finding, "COORD@cc.example", "coordinator")
    assert response.status_code == 201, response.content
    credit = response.json()
    assert (credit["type"], credit["status"]) == ("coordinator", "pending")
    assert credit["name"] == world.coordinator.full_name
    answered = api(world.coordinator).post(f"/api/credits/{credit['id']}/accept/")
    assert answered.status_code == 200
    assert answered.json()["status"] == "accepted"
    assert answered.json()["finding"] == {"reference": finding.reference, "title": finding.title}
    assert list(AuditEvent.objects.filter(action__startswith="credit.").values_list("action")) == [
        ("credit.created",),
        ("credit.accepted",),
    ]


def test_a_coordinator_credits_a_notified_defender_who_declines(world, api):
    finding = world.embargoed()
    credit = _credit(api, world.coordinator, finding, world.defender_user.email, "analyst").json()
    response = api(world.defender_user).post(f"/api/credits/{credit['id']}/decline/")
    assert response.json()["status"] == "declined"
    assert Credit.objects.get().answered_at is not None


def test_only_the_person_credited_answers(world, api):
    finding = world.submitted()
    credit = _credit(api, world.lab_user, finding, world.coordinator.email).json()
    response = api(world.lab_user).post(f"/api/credits/{credit['id']}/accept/")
    assert response.status_code == 403
    assert Credit.objects.get().status == "pending"


@pytest.mark.parametrize("who", ["other_lab_user", "other_defender_user", "defender_user"])
def test_a_credit_on_a_finding_one_may_not_see_is_a_404(world, api, who):
    finding = world.submitted()
    credit = _credit(api, world.lab_user, finding, world.coordinator.email).json()
    for answer in ("accept", "decline"):
        response = api(getattr(world, who)).post(f"/api/credits/{credit['id']}/{answer}/")
        assert response.status_code == 404
    assert Credit.objects.get().status == "pending"


def test_someone_who_may_not_see_the_finding_cannot_be_credited(world, api):
    finding = world.submitted()
    response = _credit(api, world.lab_user, finding, world.defender_user.email)
    assert response.status_code == 400
    assert "may not see this finding" in response.json()["detail"]["email"]
    assert not Credit.objects.exists()


@pytest.mark.parametrize(
    ("email", "type", "field"),
    [
        ("nobody@nowhere.example", "finder", "email"),
        ("", "finder", "email"),
        ("coord@cc.example", "hero", "type"),
    ],
)
def test_bad_credits_are_a_400_naming_the_field(world, api, email, type, field):
    finding = world.submitted()
    response = _credit(api, world.lab_user, finding, email, type)
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert not Credit.objects.exists()


def test_the_same_credit_twice_is_a_400(world, api):
    finding = world.submitted()
    _credit(api, world.lab_user, finding, world.coordinator.email)
    response = _credit(api, world.lab_user, finding, world.coordinator.email)
    assert response.status_code == 400
    assert "already credited" in response.json()["detail"]["type"]
    assert Credit.objects.count() == 1


def test_a_defender_may_not_credit_people(world, api):
    finding = world.embargoed()
    response = _credit(api, world.defender_user, finding, world.defender_user.email)
    assert response.status_code == 403


def test_a_defender_sees_accepted_credits_and_its_own_not_others_pending_ones(world, api):
    finding = world.embargoed()
    _credit(api, world.coordinator, finding, world.lab_user.email, "finder")
    own = _credit(api, world.coordinator, finding, world.defender_user.email, "analyst").json()
    accepted = _credit(api, world.lab_user, finding, world.coordinator.email, "coordinator").json()
    api(world.coordinator).post(f"/api/credits/{accepted['id']}/accept/")
    for url in (finding_url(finding.reference, "credits"), finding_url(finding.reference)):
        body = api(world.defender_user).get(url).json()
        credits = body if isinstance(body, list) else body["credits"]
        assert sorted(c["id"] for c in credits) == sorted([own["id"], accepted["id"]])
    lab_view = api(world.lab_user).get(finding_url(finding.reference, "credits")).json()
    assert len(lab_view) == 3


def test_credits_never_show_an_email_address(world, api):
    finding = world.embargoed()
    _credit(api, world.lab_user, finding, world.coordinator.email)
    for user in (world.lab_user, world.coordinator, world.defender_user):
        text = api(user).get(finding_url(finding.reference)).content.decode()
        assert world.coordinator.email not in text


def test_your_credits_are_listed_and_filtered_by_answer(world, api):
    finding = world.submitted()
    _credit(api, world.lab_user, finding, world.coordinator.email, "coordinator")
    _credit(api, world.lab_user, finding, world.coordinator.email, "analyst")
    first = Credit.objects.get(type="coordinator")
    api(world.coordinator).post(f"/api/credits/{first.pk}/decline/")
    body = api(world.coordinator).get("/api/credits/?status=pending").json()
    assert [c["type"] for c in body["results"]] == ["analyst"]
    assert len(api(world.coordinator).get("/api/credits/").json()["results"]) == 2
    assert api(world.coordinator).get("/api/credits/?status=maybe").status_code == 400


def test_a_credit_can_be_given_on_a_released_finding_to_anyone(world, api):
    finding = world.released()
    response = _credit(api, world.coordinator, finding, world.other_defender_user.email)
    assert response.status_code == 201


def test_a_credit_on_a_finding_one_can_no_longer_see_is_not_listed(world, api):
    finding = world.embargoed()
    credit = _credit(api, world.coordinator, finding, world.defender_user.email, "analyst").json()
    finding.recipients.update(organization=world.other_defender)  # no longer notified
    assert api(world.defender_user).get("/api/credits/").json()["results"] == []
    assert api(world.defender_user).post(f"/api/credits/{credit['id']}/accept/").status_code == 404
