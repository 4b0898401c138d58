"""The embargo's life: proposed in triage, activated at acceptance, its end moved within the
policy (or past it with a reason), broken early or ended by the release on time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import (
    AuditEvent,
    Embargo,
    ExtensionRequest,
    Finding,
    ReleaseStage,
)
from disclosure.services.embargo import embargo_end_set, embargo_for, embargo_propose
from disclosure.services.embargo_ending import embargo_break
from disclosure.services.embargo_extensions import extension_request
from disclosure.services.release import finding_release
from disclosure.services.triage import finding_accept
from tests.disclosure.embargo_helpers import (
    changed_notices,
    embargo_of,
    embargoed,
    in_triage,
    kinds,
    proposed,
    soon,
    writes,
)

State = Finding.State

# --- Proposing.


def test_a_coordinator_proposes_an_embargo_in_triage_and_the_lab_is_told(world):
    finding = in_triage(world)
    ends = soon(10)
    embargo = embargo_propose(actor=world.coordinator, finding=finding, ends_at=ends)
    assert (embargo.state, embargo.ends_at, embargo.starts_at) == (
        Embargo.State.PROPOSED,
        ends,
        None,
    )
    assert embargo.policy_max_days == 45  # high risk
    assert kinds(finding) == ["proposed"]
    assert changed_notices(finding) == {"example-lab": 2}  # the lab's member: inbox and email
    finding.refresh_from_db()
    assert (finding.state, finding.embargo_ends_at) == (State.IN_TRIAGE, None)


def test_proposing_again_replaces_the_proposal_and_keeps_its_history(world):
    finding = proposed(world, days=10)
    first = embargo_of(finding).ends_at
    later = soon(20)
    embargo_propose(actor=world.coordinator, finding=finding, ends_at=later, reason="Lab asked")
    embargo = embargo_of(finding)
    assert embargo.ends_at == later
    assert Embargo.objects.filter(finding=finding).count() == 1
    event = embargo.events.order_by("-id").first()
    assert (event.kind, event.old_ends_at, event.new_ends_at, event.reason) == (
        "proposed",
        first,
        later,
        "Lab asked",
    )


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_only_coordinators_propose(world, who):
    finding = in_triage(world)
    before = writes(finding)
    with pytest.raises(NotAllowed):
        embargo_propose(actor=getattr(world, who), finding=finding, ends_at=soon(5))
    assert writes(finding) == before


def test_an_embargo_is_proposed_only_during_triage(world):
    finding = world.embargoed()
    with pytest.raises(Conflict, match="submitted, in triage or waiting"):
        embargo_propose(actor=world.coordinator, finding=finding, ends_at=soon(5))


# --- Activation.


def test_accepting_activates_the_embargo_now_with_an_activated_event(world):
    before = timezone.now()
    finding = embargoed(world, days=7)
    embargo = embargo_of(finding)
    assert embargo.state == Embargo.State.ACTIVE
    assert before <= embargo.starts_at <= timezone.now()
    assert embargo.ends_at == finding.embargo_ends_at
    assert kinds(finding) == ["activated"]
    public = ReleaseStage.objects.get(finding=finding, audience=ReleaseStage.Audience.PUBLIC)
    assert public.scheduled_at == embargo.ends_at


def test_accepting_without_an_end_takes_the_proposed_one(world):
    finding = proposed(world, days=12)
    ends = embargo_of(finding).ends_at
    finding = finding_accept(
        actor=world.coordinator, finding=finding, organizations=[world.defender]
    )
    embargo = embargo_of(finding)
    assert (finding.embargo_ends_at, embargo.ends_at, embargo.state) == (
        ends,
        ends,
        Embargo.State.ACTIVE,
    )
    assert kinds(finding) == ["proposed", "activated"]


def test_accepting_with_an_end_of_its_own_overrides_the_proposal(world):
    finding = proposed(world, days=12)
    proposal = embargo_of(finding).ends_at
    ends = soon(5)
    finding_accept(
        actor=world.coordinator,
        finding=finding,
        organizations=[world.defender],
        embargo_ends_at=ends,
    )
    activated = embargo_of(finding).events.get(kind="activated")
    assert (activated.old_ends_at, activated.new_ends_at) == (proposal, ends)


def test_accepting_without_an_end_and_without_a_proposal_is_refused(world):
    finding = in_triage(world)
    before = writes(finding)
    with pytest.raises(ValidationFailed) as refused:
        finding_accept(actor=world.coordinator, finding=finding, organizations=[world.defender])
    assert "no embargo was proposed" in refused.value.detail["embargo_ends_at"]
    assert writes(finding) == before
    finding.refresh_from_db()
    assert finding.state == State.IN_TRIAGE


# --- Policy.


@pytest.mark.parametrize(
    ("risk", "days", "maximum"), [("medium", 15, 14), ("high", 46, 45), ("critical", 91, 90)]
)
def test_an_end_beyond_the_policy_maximum_needs_a_reason_naming_the_maximum(
    world, risk, days, maximum
):
    finding = in_triage(world, risk_level=risk)
    before = writes(finding)
    with pytest.raises(ValidationFailed) as refused:
        embargo_propose(actor=world.coordinator, finding=finding, ends_at=soon(days))
    assert (
        f"policy maximum of {maximum} days for a {risk}-risk finding"
        in refused.value.detail["ends_at"]
    )
    assert writes(finding) == before
    embargo = embargo_propose(
        actor=world.coordinator, finding=finding, ends_at=soon(days), reason="Vendor patch date"
    )
    assert embargo.over_policy_reason == "Vendor patch date"


def test_within_the_maximum_no_reason_is_needed_and_none_is_stored(world):
    finding = in_triage(world, risk_level="medium")
    embargo = embargo_propose(
        actor=world.coordinator, finding=finding, ends_at=soon(13), reason="Why not"
    )
    assert embargo.over_policy_reason == ""


def test_a_low_risk_finding_needs_no_embargo_so_any_embargo_needs_a_reason(world):
    finding = world.submitted(risk_level="low")
    with pytest.raises(ValidationFailed) as refused:
        finding_accept(
            actor=world.coordinator,
            finding=finding,
            organizations=[world.defender],
            embargo_ends_at=soon(hours=2),
        )
    assert "needs no embargo (policy maximum: 0 days)" in refused.value.detail["embargo_ends_at"]
    assert "over_policy_reason" in refused.value.detail["embargo_ends_at"]
    finding = finding_accept(
        actor=world.coordinator,
        finding=finding,
        organizations=[world.defender],
        embargo_ends_at=soon(hours=2),
        over_policy_reason="Defenders need a day to block the prompts",
    )
    assert embargo_of(finding).over_policy_reason == "Defenders need a day to block the prompts"


def test_the_policy_comes_from_settings(world, settings):
    settings.EMBARGO_POLICY_MAX_DAYS = {**settings.EMBARGO_POLICY_MAX_DAYS, "high": 3}
    finding = in_triage(world)
    with pytest.raises(ValidationFailed, match="policy maximum of 3 days"):
        embargo_propose(actor=world.coordinator, finding=finding, ends_at=soon(4))


def test_the_absolute_cap_applies_even_with_a_reason(world, settings):
    settings.EMBARGO_MAX_DAYS = 30
    finding = in_triage(world)
    with pytest.raises(ValidationFailed, match="at most 30 days"):
        embargo_propose(actor=world.coordinator, finding=finding, ends_at=soon(31), reason="x")


@pytest.mark.parametrize(
    "ends_in", [timedelta(seconds=-1), timedelta(days=-3)], ids=["just-past", "days-ago"]
)
def test_an_end_in_the_past_is_refused(world, ends_in):
    finding = in_triage(world)
    with pytest.raises(ValidationFailed, match="in the future"):
        embargo_propose(actor=world.coordinator, finding=finding, ends_at=timezone.now() + ends_in)


def test_a_naive_end_is_refused(world):
    finding = in_triage(world)
    with pytest.raises(ValidationFailed, match="time zone"):
        embargo_propose(
            actor=world.coordinator, finding=finding, ends_at=soon(3).replace(tzinfo=None)
        )


# --- Moving the end.


def test_moving_the_end_keeps_embargo_finding_and_public_stage_in_step_and_tells_everyone(
    world,
):
    finding = embargoed(world, days=10)
    old = finding.embargo_ends_at
    ends = soon(20)
    embargo_end_set(actor=world.coordinator, finding=finding, ends_at=ends, reason="More time")
    finding.refresh_from_db()
    embargo = embargo_of(finding)
    public = ReleaseStage.objects.get(finding=finding, audience=ReleaseStage.Audience.PUBLIC)
    assert finding.embargo_ends_at == embargo.ends_at == public.scheduled_at == ends
    event = embargo.events.get(kind="changed")
    assert (event.old_ends_at, event.new_ends_at, event.reason, event.actor) == (
        old,
        ends,
        "More time",
        world.coordinator,
    )
    cause = AuditEvent.objects.get(finding=finding, action="embargo.changed")
    assert cause.data["embargo_event"] == event.pk
    told = changed_notices(finding, cause)
    assert set(told) == {"grid-isac", "water-cert", "example-lab"}


def test_moving_the_end_to_the_same_time_changes_nothing(world):
    finding = embargoed(world)
    before = writes(finding)
    embargo_end_set(actor=world.coordinator, finding=finding, ends_at=finding.embargo_ends_at)
    assert writes(finding) == before


def test_moving_the_end_past_the_policy_needs_a_reason_and_shortening_keeps_it(world):
    finding = embargoed(world, days=10)  # high: 45 days
    with pytest.raises(ValidationFailed, match="policy maximum of 45 days"):
        embargo_end_set(actor=world.coordinator, finding=finding, ends_at=soon(60))
    embargo_end_set(actor=world.coordinator, finding=finding, ends_at=soon(60), reason="Patch")
    assert embargo_of(finding).over_policy_reason == "Patch"
    embargo_end_set(actor=world.coordinator, finding=finding, ends_at=soon(50))
    assert embargo_of(finding).over_policy_reason == "Patch"
    embargo_end_set(actor=world.coordinator, finding=finding, ends_at=soon(30))
    assert embargo_of(finding).over_policy_reason == ""


def test_an_end_before_the_start_or_in_the_past_is_refused_and_nothing_moves(world):
    finding = embargoed(world)
    Embargo.objects.filter(finding=finding).update(starts_at=timezone.now() - timedelta(days=2))
    before = (writes(finding), finding.embargo_ends_at)
    for ends in (timezone.now() - timedelta(days=3), timezone.now() - timedelta(hours=1)):
        with pytest.raises(ValidationFailed, match="in the future"):
            embargo_end_set(actor=world.coordinator, finding=finding, ends_at=ends)
    finding.refresh_from_db()
    assert (writes(finding), finding.embargo_ends_at) == before


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_only_coordinators_move_the_end(world, who):
    finding = embargoed(world)
    with pytest.raises(NotAllowed):
        embargo_end_set(actor=getattr(world, who), finding=finding, ends_at=soon(20))


def test_the_end_of_a_released_finding_cannot_move(world):
    finding = world.released()
    with pytest.raises(Conflict, match="released"):
        embargo_end_set(actor=world.coordinator, finding=finding, ends_at=soon(20))


def test_a_stage_planned_after_the_new_end_is_refused(world):
    finding = embargoed(world, days=10)
    ReleaseStage.objects.filter(finding=finding, audience=ReleaseStage.Audience.PUBLIC).update(
        position=3
    )
    ReleaseStage.objects.create(
        finding=finding,
        position=2,
        audience=ReleaseStage.Audience.COMMUNITY,
        tlp=Finding.Tlp.GREEN,
        scheduled_at=soon(8),
        created_by=world.coordinator,
    )
    with pytest.raises(ValidationFailed, match="Stage 2 of the release plan"):
        embargo_end_set(actor=world.coordinator, finding=finding, ends_at=soon(7))


# --- Breaking.


def test_breaking_ends_the_embargo_and_releases_at_once(world):
    finding = embargoed(world, days=30)
    planned = finding.embargo_ends_at
    before = timezone.now()
    embargo_break(
        actor=world.coordinator,
        finding=finding,
        kind=Embargo.BreakKind.LEAKED,
        reason="Posted on a forum",
    )
    finding.refresh_from_db()
    embargo = embargo_of(finding)
    assert finding.state == State.RELEASED
    assert (embargo.state, embargo.end_kind, embargo.break_kind, embargo.break_reason) == (
        Embargo.State.ENDED,
        Embargo.EndKind.BROKEN,
        "leaked",
        "Posted on a forum",
    )
    assert before <= embargo.ended_at <= timezone.now()
    assert finding.embargo_ends_at == embargo.ends_at == embargo.ended_at
    broken = embargo.events.get(kind="broken")
    assert (broken.old_ends_at, broken.new_ends_at) == (planned, embargo.ended_at)
    assert kinds(finding) == ["activated", "broken"]  # no "ended": the break ended it
    released = AuditEvent.objects.get(finding=finding, action="finding.released")
    assert released.actor == world.coordinator
    assert not ReleaseStage.objects.filter(finding=finding, fired_at__isnull=True).exists()
    assert set(changed_notices(finding)) == {"grid-isac", "water-cert", "example-lab"}


def test_a_break_needs_a_reason_and_a_known_kind(world):
    finding = embargoed(world)
    before = writes(finding)
    with pytest.raises(ValidationFailed) as refused:
        embargo_break(actor=world.coordinator, finding=finding, kind="leaked", reason="  ")
    assert "reason" in refused.value.detail
    with pytest.raises(ValidationFailed) as refused:
        embargo_break(actor=world.coordinator, finding=finding, kind="boredom", reason="x")
    assert "kind" in refused.value.detail
    finding.refresh_from_db()
    assert finding.state == State.EMBARGOED
    assert writes(finding) == before


def test_breaking_twice_is_a_conflict_and_releases_once(world):
    finding = embargoed(world)
    embargo_break(actor=world.coordinator, finding=finding, kind="exploited", reason="Seen")
    with pytest.raises(Conflict, match="released"):
        embargo_break(actor=world.coordinator, finding=finding, kind="exploited", reason="Again")
    assert AuditEvent.objects.filter(finding=finding, action="finding.released").count() == 1


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_only_coordinators_break(world, who):
    finding = embargoed(world)
    with pytest.raises(NotAllowed):
        embargo_break(actor=getattr(world, who), finding=finding, kind="other", reason="x")


def test_a_break_denies_the_pending_extension_requests(world):
    finding = embargoed(world)
    extension_request(
        actor=world.defender_user, finding=finding, ends_at=soon(20), reason="Patching"
    )
    embargo_break(actor=world.coordinator, finding=finding, kind="published", reason="Blog")
    request = ExtensionRequest.objects.get()
    assert (request.state, request.decision_note) == ("denied", "The embargo was broken.")


# --- The release on time.


def test_the_release_on_time_ends_the_embargo_as_released(world):
    finding = embargoed(world)
    Finding.objects.filter(pk=finding.pk).update(
        embargo_ends_at=timezone.now() - timedelta(seconds=1)
    )
    assert finding_release(finding_id=finding.pk)
    finding.refresh_from_db()
    embargo = embargo_of(finding)
    assert (embargo.state, embargo.end_kind, embargo.ended_at) == (
        Embargo.State.ENDED,
        Embargo.EndKind.RELEASED,
        finding.released_at,
    )
    assert kinds(finding) == ["activated", "ended"]
    assert not finding_release(finding_id=finding.pk)
    assert kinds(finding) == ["activated", "ended"]


def test_embargo_for_is_none_before_a_proposal(world):
    assert embargo_for(world.submitted()) is None
