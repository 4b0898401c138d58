"""A release happens exactly once, with one set of emails, when its task is delivered more
than once and when the worker running it dies half-way."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from disclosure.models import Delivery, Finding
from disclosure.tasks import release_due_findings, release_finding
from tests.conftest import World

from .checks import outbox, recipients, release_events, wait_until_settled
from .conftest import Audience
from .harness import Mailbox, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOTIFIED = Delivery.Event.NOTIFIED
RELEASED = Delivery.Event.RELEASED


def _released_by(result: str) -> int:
    """How many findings a task released, from the value the worker logged."""
    return {"True": 1, "False": 0}[result] if result in ("True", "False") else int(result)


def test_release_delivered_twice_and_swept_releases_once_with_one_email_each(
    world: World, audience: Audience, stack: Stack, mailbox: Mailbox
) -> None:
    # Two workers, so the duplicate deliveries can run at the same moment.
    stack.start_worker("first")
    stack.start_worker("second")
    # A week-long embargo gets no timed task of its own; make it due by hand instead.
    finding = audience.accept(world, ends_in=timedelta(days=7))
    Finding.objects.filter(pk=finding.pk).update(
        embargo_ends_at=timezone.now() - timedelta(seconds=1)
    )

    task_ids = [
        release_finding.delay(finding.pk).id,
        release_finding.delay(finding.pk).id,
        release_due_findings.delay().id,
    ]
    results = [stack.task_result(task_id) for task_id in task_ids]

    assert sum(_released_by(result) for result in results) == 1, results
    wait_until_settled(stack, finding, released_recipients=6)
    assert len(release_events(finding)) == 1
    assert recipients(mailbox, RELEASED, finding) == dict.fromkeys(
        audience.defender_emails | audience.lab_emails, 1
    )
    assert recipients(mailbox, NOTIFIED, finding) == dict.fromkeys(audience.defender_emails, 1)


def test_worker_killed_mid_release_rolls_back_and_the_release_happens_once_later(
    world: World, audience: Audience, stack: Stack, mailbox: Mailbox
) -> None:
    marker = stack.workdir / "paused-inside-release.json"
    doomed = stack.start_worker("doomed", pause_marker=marker)
    # A short embargo: the timed release task goes to the only worker, which hangs in it.
    finding = audience.accept(world, ends_in=timedelta(seconds=2))
    stack.wait_until(
        marker.exists, what="the worker to hang inside finding_release", explain=doomed.tail
    )
    # Inside its open transaction the worker had done the whole release: state, audit, outbox.
    seen_inside = json.loads(marker.read_text())
    assert seen_inside["pid"] == doomed.process.pid
    assert seen_inside["state"] == Finding.State.RELEASED
    assert seen_inside["released_events"] == 1
    assert seen_inside["released_deliveries"] == 6

    stack.kill(doomed)

    # Nothing it wrote survived: SQLite dropped its lock and uncommitted pages with the process,
    # PostgreSQL rolled back when its connection dropped.
    finding.refresh_from_db()
    assert finding.state == Finding.State.EMBARGOED
    assert release_events(finding) == []
    assert not Delivery.objects.filter(finding=finding, event=RELEASED).exists()

    # Its message is gone (filesystem) or held until the visibility timeout (Redis); the
    # scheduler's sweep finds the finding due from the database.
    stack.start_worker("survivor")
    stack.start_beat()
    wait_until_settled(stack, finding, released_recipients=6)

    assert len(release_events(finding)) == 1
    assert recipients(mailbox, RELEASED, finding) == dict.fromkeys(
        audience.defender_emails | audience.lab_emails, 1
    )
    assert recipients(mailbox, NOTIFIED, finding) == dict.fromkeys(audience.defender_emails, 1)
    assert {state for *_, state in outbox(finding)} == {Delivery.State.SENT}
