"""The private iCalendar feed: what it holds (the dates of the findings the organization was
notified of, and nothing more), how a moved date updates an event, and who gets a 404."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from disclosure.models import AuditEvent, CalendarFeed, EmbargoEvent, Finding, FindingRecipient
from disclosure.services.calendar import calendar_feed_create, calendar_feed_revoke
from tests.disclosure.calendar.conftest import (
    embargo_of,
    end_move,
    end_uid,
    events,
    fetch,
    second,
    stage_add,
    stage_move,
    stage_uid,
)
from tests.factories import FindingFactory, FindingRecipientFactory


def test_the_feed_is_a_calendar_with_the_embargo_end_and_the_stages(world, feed_url):
    finding = world.embargoed(ends_in=timedelta(days=10))
    community = stage_add(
        finding, at=timezone.now() + timedelta(days=3), actor=world.coordinator, tlp="GREEN"
    )

    response = Client().get(feed_url)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    calendar = fetch(feed_url)
    assert str(calendar["x-wr-calname"]) == "Forewarn: Grid ISAC"
    assert str(calendar["version"]) == "2.0"
    assert "Forewarn" in str(calendar["prodid"])
    assert calendar.decoded("refresh-interval") == timedelta(hours=1)
    assert b"X-PUBLISHED-TTL:PT1H" in response.content
    found = events(calendar)
    end = found[end_uid(finding)]
    assert str(end["summary"]) == f"{finding.reference}: embargo ends"
    assert end.decoded("dtstart") == second(finding.embargo_ends_at)
    assert end.decoded("dtstart").utcoffset() == timedelta(0)
    assert end.decoded("dtend") - end.decoded("dtstart") == timedelta(minutes=15)
    assert f"/findings/{finding.reference}/" in str(end["description"])
    assert end.decoded("dtstamp") and end.decoded("last-modified")
    stage = found[stage_uid(finding, community.position)]
    assert str(stage["summary"]) == (
        f"{finding.reference}: release stage {community.position} (community, TLP:GREEN)"
    )
    assert stage.decoded("dtstart") == second(community.scheduled_at)
    # The public stage is the embargo's end: one event, not two at the same time.
    assert not any("(public," in str(e["summary"]) for e in found.values())


def test_only_findings_the_organization_was_notified_of_are_in_it(world, feed_url):
    mine = world.embargoed()
    recent = world.released()
    theirs = world.submitted()
    # Notified to another defender only.
    FindingRecipientFactory(finding=theirs, organization=world.other_defender)
    Finding.objects.filter(pk=theirs.pk).update(
        state=Finding.State.EMBARGOED, embargo_ends_at=timezone.now() + timedelta(days=3)
    )
    old = world.released()
    Finding.objects.filter(pk=old.pk).update(released_at=timezone.now() - timedelta(days=31))
    draft = world.file()  # the lab's draft: nobody was notified
    rejected = world.rejected()

    references = {str(e["summary"]).split(":")[0] for e in events(fetch(feed_url)).values()}

    assert references == {mine.reference, recent.reference}
    assert not {theirs.reference, old.reference, draft.reference, rejected.reference} & references


def test_nothing_but_references_and_dates_leaves(world, feed_url):
    finding = world.embargoed()
    # Another defender was told too: its name must not show.
    FindingRecipientFactory(finding=finding, organization=world.other_defender)
    stage_add(finding, at=timezone.now() + timedelta(days=2), actor=world.coordinator)

    body = Client().get(feed_url).content.decode()

    finding.refresh_from_db()
    assert finding.reference in body
    for secret in (
        finding.title,
        finding.summary,
        finding.details,
        finding.recommended_actions,
        finding.model_name,
        finding.model_version,
        world.lab.name,
        world.other_defender.name,
        world.coordinator.email,
        "EMBARGOED",
    ):
        assert secret not in body


def test_a_moved_end_keeps_its_uid_and_raises_its_sequence(world, feed_url):
    finding = world.embargoed(ends_in=timedelta(days=7))
    before = events(fetch(feed_url))[end_uid(finding)]

    later = timezone.now() + timedelta(days=21)
    end_move(finding, later, world.coordinator)
    after = events(fetch(feed_url))[end_uid(finding)]

    assert after.decoded("dtstart") == second(later)
    assert before.decoded("dtstart") != after.decoded("dtstart")
    assert after["sequence"] == before["sequence"] + 1
    assert after.decoded("last-modified") >= before.decoded("last-modified")

    # A history row that does not move the end (a request, an unchanged end) changes nothing.
    embargo = embargo_of(finding, world.coordinator)
    for kind, new in (
        (EmbargoEvent.Kind.EXTENSION_REQUESTED, later + timedelta(days=9)),
        (EmbargoEvent.Kind.CHANGED, later),
    ):
        EmbargoEvent.objects.create(embargo=embargo, kind=kind, old_ends_at=later, new_ends_at=new)
    again = events(fetch(feed_url))[end_uid(finding)]
    assert (again["sequence"], again.decoded("dtstart")) == (after["sequence"], second(later))


def test_an_end_moved_by_a_plan_change_raises_its_sequence(world, feed_url):
    """A new public stage time moves the end too (services.stages): the plan's history counts."""
    finding = world.embargoed(ends_in=timedelta(days=7))
    before = events(fetch(feed_url))[end_uid(finding)]

    later = timezone.now() + timedelta(days=10)
    Finding.objects.filter(pk=finding.pk).update(embargo_ends_at=later)
    AuditEvent.objects.create(
        actor=world.coordinator, action="finding.release_planned", finding=finding
    )
    after = events(fetch(feed_url))[end_uid(finding)]

    assert after.decoded("dtstart") == second(later)
    assert after["sequence"] > before["sequence"]


def test_a_moved_stage_keeps_its_uid_and_raises_its_sequence(world, feed_url):
    finding = world.embargoed(ends_in=timedelta(days=14))
    stage = stage_add(finding, at=timezone.now() + timedelta(days=2), actor=world.coordinator)
    uid = stage_uid(finding, stage.position)
    before = events(fetch(feed_url))[uid]

    moved = timezone.now() + timedelta(days=5)
    stage_move(stage, moved, world.coordinator)
    after = events(fetch(feed_url))[uid]

    assert after.decoded("dtstart") == second(moved)
    assert after["sequence"] == before["sequence"] + 1


def test_a_broken_embargo_shows_when_it_was_actually_released(world, feed_url):
    finding = world.embargoed(ends_in=timedelta(days=7))
    stage = stage_add(finding, at=timezone.now() + timedelta(days=2), actor=world.coordinator)
    before = events(fetch(feed_url))
    # Broken: released now, days before its end; the stage fired with it.
    now = timezone.now()
    Finding.objects.filter(pk=finding.pk).update(state=Finding.State.RELEASED, released_at=now)
    EmbargoEvent.objects.create(
        embargo=embargo_of(finding, world.coordinator),
        kind=EmbargoEvent.Kind.BROKEN,
        actor=world.coordinator,
        old_ends_at=finding.embargo_ends_at,
        reason="Details leaked",
    )
    type(stage).objects.filter(pk=stage.pk).update(fired_at=now)

    after = events(fetch(feed_url))

    end, old_end = after[end_uid(finding)], before[end_uid(finding)]
    assert end.decoded("dtstart") == second(now)
    assert end["sequence"] == old_end["sequence"] + 1
    uid = stage_uid(finding, stage.position)
    assert after[uid].decoded("dtstart") == second(now)
    assert after[uid]["sequence"] == before[uid]["sequence"] + 1


def test_an_organization_removed_from_the_audience_loses_the_events(world, feed_url):
    finding = world.embargoed()
    assert end_uid(finding) in events(fetch(feed_url))

    FindingRecipient.objects.filter(finding=finding, organization=world.defender).delete()

    assert end_uid(finding) not in events(fetch(feed_url))


def test_a_revoked_feed_is_a_404_at_once(world, admin, feed_url):
    world.embargoed()
    feed = CalendarFeed.objects.get()
    calendar_feed_revoke(actor=admin, feed=feed)
    response = Client().get(feed_url)
    assert response.status_code == 404
    assert b"Grid ISAC" not in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/calendar/cal_nottherealtokenatallbutlongenough1234567890abcd.ics",
        "/calendar/fw_an-api-token-is-not-a-calendar-token.ics",
        "/calendar/.ics",
        "/calendar/cal_.ics",
    ],
)
def test_an_unknown_token_is_a_404(world, feed_url, path):
    assert Client().get(path).status_code == 404


def test_the_token_is_the_whole_credential(world, feed_url):
    """A prefix of the token, or the token with a character changed, opens nothing."""
    token = feed_url.removeprefix("/calendar/").removesuffix(".ics")
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for wrong in (token[:10], token[:-1], flipped, token.upper()):
        assert Client().get(f"/calendar/{wrong}.ics").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_only_get_and_head_are_allowed(world, feed_url, method):
    response = getattr(Client(enforce_csrf_checks=True), method)(feed_url)
    assert response.status_code == 405
    assert Client().head(feed_url).status_code == 200


def test_a_feed_stops_when_its_creator_leaves_the_organization(world, admin, feed_url):
    assert Client().get(feed_url).status_code == 200
    Membership.objects.filter(user=admin, organization=world.defender).delete()
    assert Client().get(feed_url).status_code == 404


def test_a_feed_stops_when_its_creator_is_deactivated(world, admin, feed_url):
    admin.is_active = False
    admin.save(update_fields=["is_active"])
    assert Client().get(feed_url).status_code == 404


def test_last_used_is_written_at_most_once_a_minute(world, feed_url):
    Client().get(feed_url)
    feed = CalendarFeed.objects.get()
    first = feed.last_used_at
    assert first is not None

    Client().get(feed_url)
    feed.refresh_from_db()
    assert feed.last_used_at == first

    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=first - timedelta(minutes=2))
    Client().get(feed_url)
    feed.refresh_from_db()
    assert feed.last_used_at > first - timedelta(minutes=2)


def _notified_findings(world, count: int) -> list[Finding]:  # type: ignore[no-untyped-def]
    """``count`` embargoed findings told to world.defender, each with a stage and a moved end."""
    findings = []
    for _ in range(count):
        finding = FindingFactory(
            developer=world.lab,
            created_by=world.lab_user,
            state=Finding.State.EMBARGOED,
            submitted_at=timezone.now(),
            accepted_at=timezone.now(),
            embargo_ends_at=timezone.now() + timedelta(days=9),
        )
        FindingRecipientFactory(finding=finding, organization=world.defender)
        stage_add(finding, at=timezone.now() + timedelta(days=2), actor=world.coordinator)
        end_move(finding, timezone.now() + timedelta(days=12), world.coordinator)
        findings.append(finding)
    return findings


def _queries(path: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = Client().get(path)
    assert response.status_code == 200
    return len(queries), len(events(icalendar.Calendar.from_ical(response.content)))


def test_the_query_budget_is_the_same_for_1_and_50_findings(world, admin):
    _, first = calendar_feed_create(actor=admin, organization=world.defender)
    _notified_findings(world, 1)
    one, one_events = _queries(first.removeprefix("http://127.0.0.1:8000"))
    _notified_findings(world, 49)
    # A second feed, so that both requests also write last_used_at.
    _, second_url = calendar_feed_create(actor=admin, organization=world.defender)
    fifty, fifty_events = _queries(second_url.removeprefix("http://127.0.0.1:8000"))

    assert (one_events, fifty_events) == (2, 100)
    assert one == fifty
    assert fifty <= 6


def test_every_fetch_is_audited_with_the_feed_and_the_address(world, feed_url):
    """A fetch exports the dates of embargoed findings: it is audited, never with the token."""
    fetch(feed_url)
    fetch(feed_url)
    fetched = list(AuditEvent.objects.filter(action="calendar_feed.fetched"))
    assert len(fetched) == 2
    feed = CalendarFeed.objects.get()
    assert fetched[0].actor is None
    assert fetched[0].data == {
        "organization": world.defender.slug,
        "feed": feed.pk,
        "prefix": feed.prefix,
        "entries": 0,
        "ip": "127.0.0.1",
    }
    token = feed_url.rsplit("/", 1)[-1].removesuffix(".ics")
    assert token not in str(fetched[0].data)
