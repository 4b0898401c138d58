"""Migration 0007 gives findings embargoed or released before embargoes had rows their
embargo: active from the acceptance, or ended as released; findings with one are left alone."""

from __future__ import annotations

import importlib
from datetime import timedelta

from django.apps import apps
from django.utils import timezone

from disclosure.models import Embargo, Finding
from disclosure.services.audit import audit_record
from tests.disclosure.embargo_helpers import embargoed
from tests.factories import FindingFactory

create_embargoes = importlib.import_module(
    "disclosure.migrations.0007_embargo_rows"
).create_embargoes
State = Finding.State


def _old(world, state: str, **fields: object) -> Finding:
    now = timezone.now()
    return FindingFactory(
        developer=world.lab,
        created_by=world.lab_user,
        state=state,
        submitted_at=now - timedelta(days=9),
        accepted_at=now - timedelta(days=8),
        embargo_ends_at=now + timedelta(days=3) if state == State.EMBARGOED else now,
        released_at=now if state == State.RELEASED else None,
        **fields,
    )


def test_embargoed_and_released_findings_get_their_embargo(world):
    active = _old(world, State.EMBARGOED)
    audit_record(actor=world.coordinator, action="finding.embargoed", finding=active)
    released = _old(world, State.RELEASED)
    draft = FindingFactory(developer=world.lab, created_by=world.lab_user)
    create_embargoes(apps, None)

    embargo = Embargo.objects.get(finding=active)
    assert (embargo.state, embargo.starts_at, embargo.ends_at, embargo.created_by) == (
        Embargo.State.ACTIVE,
        active.accepted_at,
        active.embargo_ends_at,
        world.coordinator,
    )
    assert list(embargo.events.values_list("kind", "at")) == [("activated", active.accepted_at)]

    ended = Embargo.objects.get(finding=released)
    assert (ended.state, ended.end_kind, ended.ended_at, ended.created_by) == (
        Embargo.State.ENDED,
        Embargo.EndKind.RELEASED,
        released.released_at,
        world.lab_user,  # nobody is on record as accepting it: whoever filed it
    )
    assert list(ended.events.values_list("kind", flat=True)) == ["activated", "ended"]
    assert not Embargo.objects.filter(finding=draft).exists()


def test_findings_with_an_embargo_are_left_alone_and_running_it_again_adds_nothing(world):
    finding = embargoed(world)
    _old(world, State.EMBARGOED)
    before = Embargo.objects.get(finding=finding)
    create_embargoes(apps, None)
    create_embargoes(apps, None)
    assert Embargo.objects.count() == 2
    after = Embargo.objects.get(finding=finding)
    assert (after.pk, after.updated_at, after.events.count()) == (
        before.pk,
        before.updated_at,
        1,
    )
