"""The release plan: the default plan at acceptance, and a coordinator's changes with every rule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Finding, ReleaseStage
from disclosure.services.stages import plan_set
from tests.conftest import World
from tests.factories import OrganizationFactory

Audience = ReleaseStage.Audience


def _at(hours: float) -> Any:
    return timezone.now() + timedelta(hours=hours)


def _plan(finding: Finding) -> list[tuple[int, str, str, bool]]:
    return [
        (s.position, s.audience, s.tlp, s.fired_at is not None)
        for s in ReleaseStage.objects.filter(finding=finding).order_by("position")
    ]


def test_the_default_plan_is_the_first_audience_fired_then_the_public_release(world: World):
    finding = world.embargoed()
    first, public = ReleaseStage.objects.filter(finding=finding).order_by("position")

    assert (first.audience, first.tlp) == (Audience.ORGANIZATIONS, finding.tlp)
    assert list(first.organizations.all()) == [world.defender]
    assert first.fired_at is not None
    assert first.fired_cause is not None and first.fired_cause.action == "finding.embargoed"
    assert (public.audience, public.tlp, public.fired_at) == (Audience.PUBLIC, "CLEAR", None)
    assert public.scheduled_at == finding.embargo_ends_at


def test_a_coordinator_adds_stages_before_the_release_and_moves_it(world: World):
    finding = world.embargoed(ends_in=timedelta(days=7))
    new_end = _at(24 * 8)

    plan_set(
        actor=world.coordinator,
        finding=finding,
        stages=[
            {"audience": "organizations"},
            {
                "audience": "organizations",
                "organizations": ["water-cert"],
                "sectors": ["energy"],
                "tlp": "AMBER",
                "scheduled_at": _at(24),
            },
            {"audience": "community", "tlp": "TLP:GREEN", "scheduled_at": _at(48).isoformat()},
            {"audience": "public", "scheduled_at": new_end},
        ],
    )

    assert _plan(finding) == [
        (1, "organizations", "AMBER+STRICT", True),
        (2, "organizations", "AMBER", False),
        (3, "community", "GREEN", False),
        (4, "public", "CLEAR", False),
    ]
    second = ReleaseStage.objects.get(finding=finding, position=2)
    assert [o.slug for o in second.organizations.all()] == ["water-cert"]
    assert [s.slug for s in second.sectors.all()] == ["energy"]
    finding.refresh_from_db()
    assert finding.embargo_ends_at == new_end
    event = AuditEvent.objects.filter(finding=finding, action="finding.release_planned").last()
    assert event is not None and event.actor == world.coordinator
    assert [s["audience"] for s in event.data["old"]] == ["organizations", "public"]
    assert len(event.data["new"]) == 4


def test_a_tlp_left_out_is_the_previous_stages(world: World):
    finding = world.embargoed()
    plan_set(
        actor=world.coordinator,
        finding=finding,
        stages=[
            {},
            {"audience": "community", "scheduled_at": _at(1)},
            {"audience": "public", "scheduled_at": finding.embargo_ends_at},
        ],
    )
    assert [tlp for _, _, tlp, _ in _plan(finding)] == ["AMBER+STRICT", "AMBER+STRICT", "CLEAR"]


def _valid(finding: Finding) -> list[dict[str, Any]]:
    return [
        {"audience": "organizations"},
        {"audience": "organizations", "organizations": ["water-cert"], "scheduled_at": _at(24)},
        {"audience": "community", "tlp": "GREEN", "scheduled_at": _at(48)},
        {"audience": "public", "scheduled_at": finding.embargo_ends_at},
    ]


def _change(index: int | None, **fields: Any) -> Any:
    def change(stages: list[dict[str, Any]]) -> Any:
        if index is None:
            return fields["whole"]
        stages[index] = {**stages[index], **fields}
        return stages

    return change


BAD = {
    "not a list": (_change(None, whole={"audience": "public"}), "stages", "list of stages"),
    "empty": (_change(None, whole=[]), "stages", "list of stages"),
    "fired stage removed": (
        lambda s: s[1:],
        "stages[0].scheduled_at",
        "stage 1 has fired",
    ),
    "fired stage's label changed": (_change(0, tlp="GREEN"), "stages[0].tlp", "has fired"),
    "fired stage's time changed": (
        _change(0, scheduled_at=_at(1)),
        "stages[0].scheduled_at",
        "has fired",
    ),
    "not an object": (_change(None, whole=[{}, "public"]), "stages[1]", "as an object"),
    "unknown audience": (_change(1, audience="everyone"), "stages[1].audience", "Choose one"),
    "times out of order": (
        _change(2, scheduled_at=_at(12)),
        "stages[2].scheduled_at",
        "Must be after stages[1]",
    ),
    "equal times": (
        lambda s: [*s[:2], {**s[2], "scheduled_at": s[1]["scheduled_at"]}, s[3]],
        "stages[2].scheduled_at",
        "Must be after stages[1]",
    ),
    "time missing": (
        _change(2, scheduled_at=None),
        "stages[2].scheduled_at",
        "Give the stage's time",
    ),
    "time in the past": (
        _change(1, scheduled_at=_at(-1)),
        "stages[1].scheduled_at",
        "Must be in the future",
    ),
    "time without a zone": (
        _change(1, scheduled_at="2031-01-01T12:00:00"),
        "stages[1].scheduled_at",
        "Give a time zone",
    ),
    "time not a time": (
        _change(1, scheduled_at="next tuesday"),
        "stages[1].scheduled_at",
        "ISO 8601",
    ),
    "public not last": (
        _change(2, audience="public", tlp="CLEAR"),
        "stages[2].audience",
        "must be the last",
    ),
    "last not public": (lambda s: s[:3], "stages[2].audience", "must be the public"),
    "organizations stage naming nobody": (
        _change(1, organizations=[]),
        "stages[1].organizations",
        "at least one",
    ),
    "unknown organization": (
        _change(1, organizations=["nobody"]),
        "stages[1].organizations",
        "Unknown organizations: nobody",
    ),
    "a lab is no defender": (
        _change(1, organizations=["other-lab"]),
        "stages[1].organizations",
        "Not verified defender",
    ),
    "unknown sector": (
        _change(1, sectors=["moon"]),
        "stages[1].sectors",
        "Unknown sectors: moon",
    ),
    "slugs not a list": (
        _change(1, organizations="water-cert"),
        "stages[1].organizations",
        "list of slugs",
    ),
    "community stage naming organizations": (
        _change(2, organizations=["water-cert"]),
        "stages[2].organizations",
        "name none",
    ),
    "stricter label later": (_change(2, tlp="RED"), "stages[2].tlp", "stricter than stages[1]"),
    "clear before the release": (_change(2, tlp="CLEAR"), "stages[2].tlp", "only the public"),
    "public stage not clear": (_change(3, tlp="GREEN"), "stages[3].tlp", "TLP:CLEAR"),
    "unknown label": (_change(1, tlp="PURPLE"), "stages[1].tlp", "Unknown TLP label"),
    "public release past the longest embargo": (
        _change(3, scheduled_at=_at(24 * 400)),
        "stages[3].scheduled_at",
        "at most",
    ),
    "too many stages": (
        lambda s: [
            s[0],
            *(
                {"audience": "community", "tlp": "GREEN", "scheduled_at": _at(1 + i)}
                for i in range(10)
            ),
            s[3],
        ],
        "stages",
        "at most 10",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_plans_are_refused_naming_the_stage_and_field_and_change_nothing(
    world: World, case: str
):
    OrganizationFactory(slug="applied-def", unverified=True)
    finding = world.embargoed()
    planned = AuditEvent.objects.filter(finding=finding, action="finding.release_planned")
    before = (_plan(finding), finding.embargo_ends_at, planned.count())
    change, field, message = BAD[case]

    with pytest.raises(ValidationFailed) as refused:
        plan_set(actor=world.coordinator, finding=finding, stages=change(_valid(finding)))

    assert isinstance(refused.value.detail, dict)
    assert list(refused.value.detail) == [field]
    assert message in refused.value.detail[field]
    finding.refresh_from_db()
    assert (_plan(finding), finding.embargo_ends_at, planned.count()) == before


def test_an_unverified_organization_is_refused(world: World):
    OrganizationFactory(slug="applied-def", unverified=True)
    finding = world.embargoed()
    stages = _valid(finding)
    stages[1]["organizations"] = ["applied-def"]
    with pytest.raises(ValidationFailed) as refused:
        plan_set(actor=world.coordinator, finding=finding, stages=stages)
    assert "applied-def" in refused.value.detail["stages[1].organizations"]


def test_a_released_finding_plan_cannot_change(world: World):
    finding = world.released()
    with pytest.raises(Conflict):
        plan_set(actor=world.coordinator, finding=finding, stages=_valid(finding))


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_only_coordinators_change_the_plan(world: World, who: str):
    finding = world.embargoed()
    with pytest.raises(NotAllowed):
        plan_set(actor=getattr(world, who), finding=finding, stages=_valid(finding))


def test_a_finding_embargoed_without_a_plan_gets_one_when_planned(world: World):
    finding = world.embargoed()
    ReleaseStage.objects.filter(finding=finding).delete()

    plan_set(actor=world.coordinator, finding=finding, stages=_valid(finding))

    assert [a for _, a, _, _ in _plan(finding)] == [
        "organizations",
        "organizations",
        "community",
        "public",
    ]
