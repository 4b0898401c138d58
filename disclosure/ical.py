"""A defender organization's private iCalendar feed (RFC 5545), built from its dated entries
(selectors_calendar.calendar_entries_for).

Each event says only the finding's reference, what happens (the embargo ends; a release stage
with its audience kind and TLP label) and a link to the finding, which asks for a login: never
a title, a summary or another organization's name. An event keeps its UID when its time moves
and gets a higher SEQUENCE, so calendar apps move it rather than add a second one.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from urllib.parse import urlsplit

import icalendar
from django.conf import settings

from accounts.mail import site_url
from accounts.models import Organization

from .selectors_calendar import CalendarEntry

PRODID = "-//Forewarn//Embargo calendar//EN"
REFRESH = timedelta(hours=1)
# An event is a short block at its time, so that calendar apps show it in the day's grid.
EVENT_LENGTH = timedelta(minutes=15)


def uid_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "forewarn"


def _event(entry: CalendarEntry, host: str) -> icalendar.Event:
    link = site_url("finding-detail", entry.reference)
    event = icalendar.Event()
    event.add("uid", f"{entry.key}@{host}")
    event.add("summary", entry.summary)
    starts_at = entry.starts_at.astimezone(UTC)
    modified = entry.last_modified.astimezone(UTC)
    event.add("dtstart", starts_at)
    event.add("dtend", starts_at + EVENT_LENGTH)
    # Without a METHOD, DTSTAMP is when the event was last revised (RFC 5545 3.8.7.2).
    event.add("dtstamp", modified)
    event.add("last-modified", modified)
    event.add("sequence", entry.sequence)
    event.add("description", f"Details (login required): {link}")
    event.add("url", link)
    event.add("transp", "TRANSPARENT")  # a deadline, not a meeting: the time stays free
    return event


def calendar_document(organization: Organization, entries: list[CalendarEntry]) -> bytes:
    """The VCALENDAR, serialized (CRLF line ends, folded lines, UTF-8)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    name = f"Forewarn: {organization.name}"
    calendar.add("name", name)  # RFC 7986
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(REFRESH))
    host = uid_host()
    for entry in entries:
        calendar.add_component(_event(entry, host))
    return calendar.to_ical()
