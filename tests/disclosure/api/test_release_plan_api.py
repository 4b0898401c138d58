"""GET and PUT /api/findings/{reference}/release-plan/: who reads what, who may change it, and
bad input as 400s naming the stage and field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from disclosure.models import Finding, ReleaseStage
from disclosure.services.stages import plan_set, stage_fire
from tests.conftest import World
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

from .conftest import finding_url


def _at(hours: float) -> str:
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def _plan_body(finding: Finding, **second: Any) -> dict[str, Any]:
    return {
        "stages": [
            {"audience": "organizations"},
            {
                "audience": "organizations",
                "organizations": ["water-cert"],
                "sectors": ["energy"],
                "tlp": "TLP:AMBER",
                "scheduled_at": _at(1),
                **second,
            },
            {"audience": "community", "tlp": "GREEN", "scheduled_at": _at(2)},
            {"audience": "public", "scheduled_at": finding.embargo_ends_at.isoformat()},
        ]
    }


@pytest.fixture
def staged(world: World) -> Finding:
    """Embargoed for the grid ISAC; water-cert is brought in by stage 2, which has fired."""
    finding = world.embargoed()
    plan_set(actor=world.coordinator, finding=finding, stages=_plan_body(finding)["stages"])
    second = ReleaseStage.objects.get(finding=finding, position=2)
    ReleaseStage.objects.filter(pk=second.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=1)
    )
    assert stage_fire(second.pk)
    return finding


def _url(finding: Finding) -> str:
    return finding_url(finding.reference, "release-plan")


@pytest.mark.parametrize("who", ["coordinator", "lab_user"])
def test_coordinators_and_the_lab_read_the_whole_plan(api, world: World, staged: Finding, who):
    body = api(getattr(world, who)).get(_url(staged)).json()

    assert body["access"] == "all"
    assert body["editable"] is (who == "coordinator")
    stages = body["stages"]
    assert [(s["position"], s["audience"], s["tlp"], s["fired"]) for s in stages] == [
        (1, "organizations", "TLP:AMBER+STRICT", True),
        (2, "organizations", "TLP:AMBER", True),
        (3, "community", "TLP:GREEN", False),
        (4, "public", "TLP:CLEAR", False),
    ]
    assert stages[0]["organizations"] == ["grid-isac"]
    assert (stages[1]["organizations"], stages[1]["sectors"]) == (["water-cert"], ["energy"])


def test_a_notified_defender_sees_no_other_organization(api, world: World, staged: Finding):
    response = api(world.other_defender_user).get(_url(staged))

    assert response.status_code == 200
    body = response.json()
    assert (body["access"], body["editable"]) == ("own", False)
    assert "grid-isac" not in response.content.decode()
    assert "energy" not in response.content.decode()
    assert [(s["organizations"], s["sectors"], s["includes_you"]) for s in body["stages"]] == [
        ([], [], False),
        (["water-cert"], [], True),
        ([], [], False),
        ([], [], False),
    ]
    first = api(world.defender_user).get(_url(staged)).json()["stages"]
    assert [s["organizations"] for s in first] == [["grid-isac"], [], [], []]
    assert "water-cert" not in str(first)


def test_everyone_else_gets_a_404(api, world: World, staged: Finding):
    outsider = UserFactory()
    MembershipFactory(user=outsider, organization=OrganizationFactory(slug="not-told"))
    for user in (outsider, world.other_lab_user, None):
        assert api(user).get(_url(staged)).status_code == 404
        assert api(user).put(_url(staged), _plan_body(staged), format="json").status_code == 404


def test_a_coordinator_replaces_the_stages_not_yet_fired(api, world: World):
    finding = world.embargoed()

    response = api(world.coordinator).put(_url(finding), _plan_body(finding), format="json")

    assert response.status_code == 200, response.json()
    assert [s["audience"] for s in response.json()["stages"]] == [
        "organizations",
        "organizations",
        "community",
        "public",
    ]


def test_a_plan_read_can_be_sent_back_as_it_is(api, world: World, staged: Finding):
    client = api(world.coordinator)
    plan = client.get(_url(staged)).json()

    response = client.put(_url(staged), {"stages": plan["stages"]}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["stages"] == plan["stages"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"scheduled_at": "2031-01-01T12:00:00"}, "stages[1].scheduled_at", "time zone"),
        ({"scheduled_at": "soon"}, "stages[1].scheduled_at", "format"),
        ({"audience": "friends"}, "stages[1].audience", "valid choice"),
        ({"colour": "red"}, "stages[1].colour", "Unknown field"),
        ({"organizations": ["nobody"]}, "stages[1].organizations", "nobody"),
        ({"scheduled_at": None}, "stages[1].scheduled_at", "null"),
        ({"tlp": "RED"}, "stages[1].tlp", "stricter"),
        ({"scheduled_at": "2020-01-01T00:00:00Z"}, "stages[1].scheduled_at", "future"),
    ],
)
def test_bad_input_is_a_400_naming_the_stage_and_field(
    api, world: World, change: dict[str, Any], field: str, message: str
):
    finding = world.embargoed()

    response = api(world.coordinator).put(
        _url(finding), _plan_body(finding, **change), format="json"
    )

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert list(detail) == [field], detail
    assert message in detail[field]
    assert ReleaseStage.objects.filter(finding=finding).count() == 2


def test_stages_out_of_order_name_the_later_one(api, world: World):
    finding = world.embargoed()
    body = _plan_body(finding)
    body["stages"][2]["scheduled_at"] = _at(0.5)

    response = api(world.coordinator).put(_url(finding), body, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == {
        "stages[2].scheduled_at": f"Must be after stages[1] ({body['stages'][1]['scheduled_at']})."
    }


def test_the_stages_key_is_required(api, world: World):
    finding = world.embargoed()
    response = api(world.coordinator).put(_url(finding), {}, format="json")
    assert response.status_code == 400
    assert "stages" in response.json()["detail"]


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_others_who_read_it_may_not_change_it(api, world: World, staged: Finding, who: str):
    response = api(getattr(world, who)).put(_url(staged), {"nonsense": 1}, format="json")
    assert response.status_code == 403


def test_a_released_findings_plan_cannot_change(api, world: World):
    finding = world.released()
    response = api(world.coordinator).put(_url(finding), _plan_body(finding), format="json")
    assert response.status_code == 409


def test_moving_the_release_past_the_policy_needs_a_reason(api, world: World):
    finding = world.embargoed()  # high risk: 45 days at most by the default policy
    body = _plan_body(finding)
    body["stages"][3]["scheduled_at"] = _at(24 * 60)
    client = api(world.coordinator)

    refused = client.put(_url(finding), body, format="json")
    assert refused.status_code == 400
    assert list(refused.json()["detail"]) == ["stages[3].scheduled_at"]

    accepted = client.put(
        _url(finding), {**body, "reason": "The vendor needs a fix."}, format="json"
    )
    assert accepted.status_code == 200, accepted.json()
    finding.refresh_from_db()
    assert finding.embargo_ends_at.isoformat() == body["stages"][3]["scheduled_at"]
    assert finding.embargo.over_policy_reason == "The vendor needs a fix."


def test_the_finding_shows_a_stage_newcomer_the_stages_label(api, world: World, staged: Finding):
    newcomer = api(world.other_defender_user).get(finding_url(staged.reference)).json()
    first = api(world.defender_user).get(finding_url(staged.reference)).json()
    assert (newcomer["tlp"], first["tlp"]) == ("TLP:AMBER", "TLP:AMBER+STRICT")


@pytest.mark.parametrize("stages", [2, 10])
def test_reading_the_plan_costs_the_same_for_few_and_many_stages(
    api, world: World, django_assert_max_num_queries, stages: int
):
    finding = world.embargoed()
    if stages > 2:
        plan_set(
            actor=world.coordinator,
            finding=finding,
            stages=[
                {},
                *(
                    {
                        "audience": "organizations",
                        "organizations": ["water-cert"],
                        "sectors": ["energy"],
                        "scheduled_at": timezone.now() + timedelta(hours=1 + i),
                    }
                    for i in range(stages - 2)
                ),
                {"audience": "public", "scheduled_at": finding.embargo_ends_at},
            ],
        )
    for user in (world.coordinator, world.defender_user):
        client = api(user)
        with django_assert_max_num_queries(14):
            assert client.get(_url(finding)).status_code == 200
