"""A staged release with a real scheduler and workers: each stage fires at its time, once, and
its newcomers are told once, under the stage's TLP label."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Organization
from disclosure.models import AuditEvent, Delivery, Finding, ReleaseStage
from disclosure.services.channels.email import SUBJECTS
from disclosure.services.stages import plan_set
from disclosure.services.triage import finding_accept
from tests.conftest import World

from .checks import mail_for, recipients
from .conftest import Audience
from .harness import Mailbox, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOTIFIED = Delivery.Event.NOTIFIED
RELEASED = Delivery.Event.RELEASED


def _told(mailbox: Mailbox, finding: Finding, tlp: str) -> Counter[str]:
    """Who got the "you have been notified" mail under this label, and how often."""
    subject = SUBJECTS[NOTIFIED].format(ref=finding.reference, tlp=tlp)
    return Counter(received.to for received in mailbox.with_subject(subject))


def test_a_staged_plan_fires_each_stage_at_its_time_once_under_its_label(
    world: World, audience: Audience, stack: Stack, mailbox: Mailbox
):
    stack.start_worker("first")
    stack.start_worker("second")
    stack.start_beat()
    health = Organization.objects.get(slug="health-isac")
    grid, water = world.defender, world.other_defender

    # Stage 1 is the acceptance: the grid ISAC alone, under the finding's TLP:AMBER+STRICT.
    finding = finding_accept(
        actor=world.coordinator,
        finding=world.submitted(),
        organizations=[grid],
        embargo_ends_at=timezone.now() + timedelta(days=1),
    )
    start = timezone.now()
    plan_set(
        actor=world.coordinator,
        finding=finding,
        stages=[
            {},
            {
                "audience": "organizations",
                "organizations": [water.slug],
                "tlp": "AMBER",
                "scheduled_at": start + timedelta(seconds=6),
            },
            {
                "audience": "community",
                "tlp": "GREEN",
                "scheduled_at": start + timedelta(seconds=12),
            },
            {"audience": "public", "scheduled_at": start + timedelta(seconds=18)},
        ],
    )

    def settled() -> bool:
        rows = Delivery.objects.filter(finding=finding, channel=Delivery.Channel.EMAIL)
        return (
            Finding.objects.filter(pk=finding.pk, state=Finding.State.RELEASED).exists()
            and not rows.exclude(state=Delivery.State.SENT).exists()
        )

    stack.wait_until(
        settled, what="every stage to fire and its mail to be sent", explain=stack.logs
    )

    stages = list(ReleaseStage.objects.filter(finding=finding).order_by("position"))
    # Each fired once, never before its time (both by the database's clock), in order.
    assert all(s.fired_at is not None and s.fired_at >= s.scheduled_at for s in stages[1:])
    assert [s.fired_at for s in stages] == sorted(s.fired_at for s in stages)
    events = AuditEvent.objects.filter(finding=finding)
    assert events.filter(action="finding.stage_fired").count() == 2
    assert events.filter(action="finding.released").count() == 1
    assert [s.fired_cause.action for s in stages] == [
        "finding.embargoed",
        "finding.stage_fired",
        "finding.stage_fired",
        "finding.released",
    ]

    # Newcomers only, each under its stage's label; nobody twice.
    grid_emails = {world.defender_user.email, "responder@grid.example"}
    water_emails = {world.other_defender_user.email, "responder@water.example"}
    health_emails = {"analyst@health.example"}
    assert _told(mailbox, finding, "TLP:AMBER+STRICT") == dict.fromkeys(grid_emails, 1)
    assert _told(mailbox, finding, "TLP:AMBER") == dict.fromkeys(water_emails, 1)
    assert _told(mailbox, finding, "TLP:GREEN") == dict.fromkeys(health_emails, 1)
    assert recipients(mailbox, RELEASED, finding) == dict.fromkeys(
        grid_emails | water_emails | health_emails | audience.lab_emails, 1
    )
    for received in mail_for(mailbox, NOTIFIED, finding):
        assert "EMBARGOED" not in received.decoded_text
    brought = dict(finding.recipients.values_list("organization__slug", "stage__position"))
    assert brought == {grid.slug: None, water.slug: 2, health.slug: 3}
    # Each stage's cause has outbox rows for its newcomers only.
    for stage, orgs in ((stages[1], {water.pk}), (stages[2], {health.pk})):
        told = Delivery.objects.filter(cause=stage.fired_cause, event=NOTIFIED)
        assert set(told.values_list("organization_id", flat=True)) == orgs
