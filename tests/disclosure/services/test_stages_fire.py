"""Firing release stages: exactly once, in order, newcomers only, the public stage being the
release; the sweep, the legacy release of findings without a plan, and the precise triggers."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts.models import Organization
from disclosure import policies
from disclosure.models import (
    AuditEvent,
    Delivery,
    Finding,
    FindingRecipient,
    ReleaseStage,
    Sector,
)
from disclosure.services import release, stages
from disclosure.services.channels.webhook import payload
from disclosure.services.notify import deliveries_claim, deliveries_dispatch
from disclosure.services.stages import plan_set, stage_fire, stages_fire_all_now, stages_fire_due
from tests.conftest import World
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

Audience = ReleaseStage.Audience
NOTIFIED = Delivery.Event.NOTIFIED


def _at(hours: float) -> Any:
    return timezone.now() + timedelta(hours=hours)


def _staged(world: World, **second: Any) -> Finding:
    """Embargoed for the grid ISAC; stage 2 (by default water-cert at TLP:GREEN) in an hour,
    stage 3 the community in two, the public release in a week."""
    finding = world.embargoed(ends_in=timedelta(days=7))
    plan_set(
        actor=world.coordinator,
        finding=finding,
        stages=[
            {},
            {
                "audience": "organizations",
                "organizations": ["water-cert"],
                "tlp": "GREEN",
                "scheduled_at": _at(1),
                **second,
            },
            {"audience": "community", "tlp": "GREEN", "scheduled_at": _at(2)},
            {"audience": "public", "scheduled_at": finding.embargo_ends_at},
        ],
    )
    return finding


def _stage(finding: Finding, position: int) -> ReleaseStage:
    return ReleaseStage.objects.get(finding=finding, position=position)


def _due(*stages_: ReleaseStage) -> None:
    """Make the stages due now, keeping their order."""
    for i, stage in enumerate(stages_):
        ReleaseStage.objects.filter(pk=stage.pk).update(
            scheduled_at=timezone.now() - timedelta(seconds=10 - i)
        )


def _recipients(finding: Finding) -> dict[str, int | None]:
    rows = FindingRecipient.objects.filter(finding=finding).select_related("organization", "stage")
    return {r.organization.slug: (r.stage.position if r.stage else None) for r in rows}


def test_a_due_stage_fires_once_and_tells_only_its_newcomers(world: World):
    finding = _staged(world, organizations=["water-cert", "grid-isac"])
    second = _stage(finding, 2)
    _due(second)

    assert stage_fire(second.pk) is True
    assert stage_fire(second.pk) is False

    second.refresh_from_db()
    assert second.fired_at is not None
    assert second.fired_cause is not None and second.fired_cause.action == "finding.stage_fired"
    assert second.fired_cause.data["organizations"] == ["water-cert"]
    assert _recipients(finding) == {"grid-isac": None, "water-cert": 2}
    told = Delivery.objects.filter(cause=second.fired_cause, event=NOTIFIED)
    assert set(told.values_list("organization__slug", flat=True)) == {"water-cert"}
    assert AuditEvent.objects.filter(finding=finding, action="finding.stage_fired").count() == 1


def test_a_stage_not_yet_due_does_not_fire(world: World):
    finding = _staged(world)
    assert stage_fire(_stage(finding, 2).pk) is False
    assert _stage(finding, 2).fired_at is None
    assert _recipients(finding) == {"grid-isac": None}


def test_a_sector_stage_brings_in_the_verified_defenders_of_the_sector_only(world: World):
    sector = Sector.objects.get(slug="healthcare-public-health")
    OrganizationFactory(slug="health-isac").sectors.set([sector])
    OrganizationFactory(slug="health-applicant", unverified=True).sectors.set([sector])
    finding = _staged(world, organizations=[], sectors=["healthcare-public-health"])
    _due(_stage(finding, 2))

    assert stage_fire(_stage(finding, 2).pk)

    assert _recipients(finding) == {"grid-isac": None, "health-isac": 2}


def test_a_named_organization_suspended_since_the_plan_is_not_told(world: World):
    finding = _staged(world)
    Organization.objects.filter(slug="water-cert").update(status=Organization.Status.SUSPENDED)
    _due(_stage(finding, 2))

    assert stage_fire(_stage(finding, 2).pk)

    assert _recipients(finding) == {"grid-isac": None}
    assert _stage(finding, 2).fired_at is not None


def test_the_community_stage_reaches_every_verified_defender_and_nobody_else(world: World):
    OrganizationFactory(slug="applied-def", unverified=True)
    OrganizationFactory(slug="suspended-def", status=Organization.Status.SUSPENDED)
    OrganizationFactory(slug="third-def")
    finding = _staged(world)
    _due(_stage(finding, 2), _stage(finding, 3))

    assert stage_fire(_stage(finding, 3).pk)

    # Labs and coordination centers are no defenders; unverified ones receive nothing.
    assert _recipients(finding) == {"grid-isac": None, "water-cert": 2, "third-def": 3}


def test_an_earlier_stage_that_has_not_fired_fires_first(world: World):
    finding = _staged(world)
    second, third = _stage(finding, 2), _stage(finding, 3)
    _due(second, third)

    assert stage_fire(third.pk) is True

    second.refresh_from_db()
    third.refresh_from_db()
    assert second.fired_at is not None and third.fired_at is not None
    assert second.fired_at <= third.fired_at
    assert second.fired_cause_id < third.fired_cause_id
    assert stage_fire(second.pk) is False


def test_the_public_stage_is_the_release_and_is_marked_fired_with_it(world: World):
    finding = _staged(world)
    public = _stage(finding, 4)
    _due(_stage(finding, 2), _stage(finding, 3), public)

    assert stage_fire(public.pk) is True
    assert stage_fire(public.pk) is False

    finding.refresh_from_db()
    public.refresh_from_db()
    assert finding.state == Finding.State.RELEASED
    (released,) = AuditEvent.objects.filter(finding=finding, action="finding.released")
    assert public.fired_cause_id == released.pk
    assert released.data == {"stage": 4}
    assert not ReleaseStage.objects.filter(finding=finding, fired_at__isnull=True).exists()
    told = Delivery.objects.filter(cause=released, channel=Delivery.Channel.EMAIL)
    assert set(told.values_list("organization__slug", flat=True)) == {
        "grid-isac",
        "water-cert",
        "example-lab",
    }


def test_a_release_that_fails_leaves_the_public_stage_unfired(world: World, monkeypatch):
    finding = world.embargoed()
    public = _stage(finding, 2)
    _due(public)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the outbox write failed")

    monkeypatch.setattr(release, "deliveries_enqueue", broken)
    with pytest.raises(RuntimeError):
        stage_fire(public.pk)

    public.refresh_from_db()
    finding.refresh_from_db()
    assert (finding.state, public.fired_at) == (Finding.State.EMBARGOED, None)
    assert not AuditEvent.objects.filter(finding=finding, action="finding.released").exists()


def test_the_legacy_release_fires_the_stages_left_and_marks_the_public_one(world: World):
    finding = _staged(world)
    Finding.objects.filter(pk=finding.pk).update(embargo_ends_at=_at(-0.01))

    assert release.finding_release(finding_id=finding.pk) is True

    assert _recipients(finding) == {"grid-isac": None, "water-cert": 2}
    assert not ReleaseStage.objects.filter(finding=finding, fired_at__isnull=True).exists()
    assert _stage(finding, 4).fired_cause.action == "finding.released"


def test_a_finding_without_a_plan_is_still_released_by_the_sweep(world: World):
    finding = world.embargoed()
    ReleaseStage.objects.filter(finding=finding).delete()
    Finding.objects.filter(pk=finding.pk).update(embargo_ends_at=_at(-0.01))

    assert stages_fire_due() == 1

    finding.refresh_from_db()
    assert finding.state == Finding.State.RELEASED
    assert stages_fire_due() == 0


def test_the_sweep_fires_what_is_due_and_nothing_else(world: World):
    finding = _staged(world)
    later = world.embargoed()
    _due(_stage(finding, 2))

    assert stages_fire_due() == 1
    assert stages_fire_due() == 0

    assert _stage(finding, 2).fired_at is not None
    assert _stage(finding, 3).fired_at is None
    assert not ReleaseStage.objects.filter(finding=later, position=2, fired_at__isnull=False)


def test_ending_the_embargo_now_fires_every_stage_left_in_order_and_releases(world: World):
    finding = _staged(world)

    stages_fire_all_now(actor=world.coordinator, finding=finding, data={"break": "leaked"})

    finding.refresh_from_db()
    assert finding.state == Finding.State.RELEASED
    fired = ReleaseStage.objects.filter(finding=finding).order_by("position")
    causes = [s.fired_cause.action for s in fired]
    assert causes == [
        "finding.embargoed",
        "finding.stage_fired",
        "finding.stage_fired",
        "finding.released",
    ]
    assert (
        AuditEvent.objects.get(finding=finding, action="finding.released").actor
        == world.coordinator
    )


# --- TLP per stage.


def _member(org_slug: str, email: str) -> Any:
    user = UserFactory(email=email)
    MembershipFactory(user=user, organization=Organization.objects.get(slug=org_slug))
    return user


def test_a_newcomer_holds_the_finding_under_its_stages_label(world: World):
    finding = _staged(world)
    _due(_stage(finding, 2))
    stage_fire(_stage(finding, 2).pk)

    assert policies.tlp_for(world.other_defender_user, finding) == "GREEN"
    assert policies.tlp_for(world.defender_user, finding) == "AMBER+STRICT"
    assert policies.tlp_for(world.coordinator, finding) == "AMBER+STRICT"
    assert policies.tlp_for(world.lab_user, finding) == "AMBER+STRICT"
    both = _member("grid-isac", "both@example.org")
    MembershipFactory(user=both, organization=world.other_defender)
    assert policies.tlp_for(both, finding) == "AMBER+STRICT"  # the strictest of its orgs'


def test_newcomers_mail_and_webhooks_carry_the_stages_label(world: World):
    finding = _staged(world)
    _due(_stage(finding, 2))
    stage_fire(_stage(finding, 2).pk)
    rows = {
        (d.organization.slug, d.channel): d
        for d in deliveries_claim(limit=100)
        if d.event == NOTIFIED
    }
    # The claim annotates each row with the stage's label: the webhook payload shows it.
    assert policies.tlp_for_delivery(rows[("water-cert", "email")]) == "GREEN"
    Delivery.objects.filter(pk__in=[d.pk for d in rows.values()]).update(
        state=Delivery.State.PENDING, next_attempt_at=timezone.now()
    )
    mail.outbox.clear()

    deliveries_dispatch()

    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert "[TLP:GREEN]" in subjects[world.other_defender_user.email]
    assert "[TLP:AMBER+STRICT]" in subjects[world.defender_user.email]
    water = Delivery.objects.filter(organization__slug="water-cert", event=NOTIFIED).first()
    assert water is not None
    assert payload(water)["data"]["tlp"] == "TLP:GREEN"  # without the annotation: one query


# --- Triggers.


def test_scheduling_a_stage_within_the_hour_sends_a_trigger_at_its_time(
    world: World, monkeypatch, django_capture_on_commit_callbacks
):
    from disclosure import tasks

    sent: list[tuple[Any, Any]] = []
    monkeypatch.setattr(tasks.fire_stage, "apply_async", lambda args, eta: sent.append((args, eta)))
    with django_capture_on_commit_callbacks(execute=True):
        finding = _staged(world)

    second = _stage(finding, 2)
    assert ((second.pk,), second.scheduled_at) in sent
    assert all(args != (_stage(finding, 3).pk,) for args, _ in sent)  # two hours away


def test_the_arm_task_sends_triggers_again_for_stages_due_soon(world: World, monkeypatch):
    from disclosure import tasks

    sent: list[Any] = []
    monkeypatch.setattr(tasks.fire_stage, "apply_async", lambda args, eta: sent.append(args[0]))
    finding = _staged(world)
    ReleaseStage.objects.filter(pk=_stage(finding, 2).pk).update(
        scheduled_at=timezone.now() + timedelta(seconds=30)
    )

    assert stages.stages_arm_soon() == 1
    assert sent == [_stage(finding, 2).pk]


def test_a_stale_trigger_for_a_stage_moved_later_fires_nothing(world: World):
    from disclosure.tasks import fire_stage

    finding = _staged(world)
    assert fire_stage(_stage(finding, 2).pk) is False
    assert _stage(finding, 2).fired_at is None


# --- Concurrency (PostgreSQL: SQLite serialises every writer anyway).


@pytest.mark.django_db(transaction=True)
def test_concurrent_firings_release_exactly_once(world: World):
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED: PostgreSQL only")
    finding = _staged(world)
    public = _stage(finding, 4)
    _due(_stage(finding, 2), _stage(finding, 3), public)
    results: list[bool] = []
    start = threading.Barrier(8)

    def fire(target: int) -> None:
        try:
            start.wait()
            results.append(stage_fire(target))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=fire, args=(pk,))
        for pk in [public.pk, _stage(finding, 3).pk, _stage(finding, 2).pk, public.pk] * 2
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 8
    assert 1 <= sum(results) <= 3  # a call whose stage fired first as an earlier one: False
    events = AuditEvent.objects.filter(finding=finding)
    assert events.filter(action="finding.released").count() == 1
    assert events.filter(action="finding.stage_fired").count() == 2
    released = Delivery.objects.filter(
        finding=finding, event=Delivery.Event.RELEASED, channel=Delivery.Channel.EMAIL
    )
    assert released.count() == released.values("recipient").distinct().count()
    assert Finding.objects.get(pk=finding.pk).state == Finding.State.RELEASED
