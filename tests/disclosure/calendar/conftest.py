"""Calendar feed tests: an admin of world.defender, a feed, and helpers that move dates the way
the embargo and stages services record it (the row, and its history)."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest
from django.test import Client

from accounts.models import User
from disclosure.models import AuditEvent, Embargo, EmbargoEvent, Finding, ReleaseStage
from disclosure.services.calendar import calendar_feed_create
from tests.disclosure.webhooks.conftest import admin  # noqa: F401 (a fixture: world.defender's admin)

HOST = "127.0.0.1"  # SITE_URL's host in the test settings: the UIDs' domain


@pytest.fixture
def feed_url(world, admin) -> str:  # type: ignore[no-untyped-def]  # noqa: F811
    """The path of a new feed of world.defender."""
    _, url = calendar_feed_create(actor=admin, organization=world.defender)
    return url.removeprefix("http://127.0.0.1:8000")


def fetch(path: str) -> icalendar.Calendar:
    """GET the feed anonymously (a calendar app has no session) and parse it."""
    response = Client().get(path)
    assert response.status_code == 200, response.content
    return icalendar.Calendar.from_ical(response.content)


def events(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    """The VEVENTs by UID."""
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def end_uid(finding: Finding) -> str:
    return f"{finding.reference}-embargo-end@{HOST}"


def stage_uid(finding: Finding, position: int) -> str:
    return f"{finding.reference}-stage-{position}@{HOST}"


def embargo_of(finding: Finding, actor: User) -> Embargo:
    embargo, _ = Embargo.objects.get_or_create(
        finding=finding,
        defaults={
            "ends_at": finding.embargo_ends_at,
            "state": Embargo.State.ACTIVE,
            "created_by": actor,
        },
    )
    return embargo


def end_move(finding: Finding, ends_at: datetime, actor: User) -> None:
    """Move the end as services.embargo does: the finding, the embargo and its history."""
    old = Finding.objects.get(pk=finding.pk).embargo_ends_at
    embargo = embargo_of(finding, actor)
    Finding.objects.filter(pk=finding.pk).update(embargo_ends_at=ends_at)
    Embargo.objects.filter(pk=embargo.pk).update(ends_at=ends_at)
    EmbargoEvent.objects.create(
        embargo=embargo,
        kind=EmbargoEvent.Kind.CHANGED,
        actor=actor,
        old_ends_at=old,
        new_ends_at=ends_at,
        reason="Vendor needs more time",
    )


def stage_add(
    finding: Finding, *, at: datetime, actor: User, audience: str = "community", tlp: str = "GREEN"
) -> ReleaseStage:
    """A stage after the finding's others, recorded as services.stages records a plan."""
    last = finding.stages.order_by("-position").values_list("position", flat=True).first() or 0
    stage = ReleaseStage.objects.create(
        finding=finding,
        position=last + 1,
        audience=audience,
        tlp=tlp,
        scheduled_at=at,
        created_by=actor,
    )
    AuditEvent.objects.create(actor=actor, action="finding.release_planned", finding=finding)
    return stage


def stage_move(stage: ReleaseStage, at: datetime, actor: User) -> None:
    ReleaseStage.objects.filter(pk=stage.pk).update(scheduled_at=at)
    AuditEvent.objects.create(actor=actor, action="finding.release_planned", finding=stage.finding)


def second(value: datetime) -> datetime:
    """The instant as iCalendar carries it: in UTC, to the second."""
    return value.astimezone(UTC).replace(microsecond=0)
