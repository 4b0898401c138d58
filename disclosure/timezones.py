"""Time zones: reading a time someone typed, and showing a stored one with its zone.

Times are stored in UTC. Input is ISO 8601 with an offset ("2026-12-01T12:00:00Z",
"...+01:00"), or a local date-time with an IANA zone name given beside it ("2026-12-01T13:00"
and "Europe/Berlin"). A local time that does not exist (skipped when clocks go forward) or
that exists twice (when they go back) is refused rather than guessed.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django.utils.dateparse import parse_datetime

from .errors import ValidationFailed

UTC_NAME = "UTC"
NO_ZONE = "Give a time zone: an offset (e.g. 2026-12-01T12:00:00Z) or a local time with time_zone."


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows (tzdata), sorted; about 600."""
    return tuple(sorted(available_timezones() | {UTC_NAME}))


def zone_is_known(name: str) -> bool:
    return name in _names_set()


@cache
def _names_set() -> frozenset[str]:
    return frozenset(zone_names())


def zone_get(name: str, *, field: str = "time_zone") -> ZoneInfo:
    """The zone of that IANA name, or a 400 naming the field."""
    name = (name or "").strip()
    if not zone_is_known(name):
        raise ValidationFailed(
            {field: f"Unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC."}
        )
    return ZoneInfo(name)


def local_to_utc(local: dt.datetime, zone: ZoneInfo, *, field: str) -> dt.datetime:
    """A wall-clock time in ``zone`` as UTC; refuses times a DST change skips or repeats."""
    earlier = local.replace(tzinfo=zone, fold=0)
    later = local.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() != later.utcoffset():
        # Either the clocks skipped this time (it maps to no instant: converting there and back
        # gives another wall time) or they passed it twice (two instants).
        back = earlier.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
        when = f"{local:%Y-%m-%d %H:%M} in {zone.key}"
        if back != local.replace(tzinfo=None):
            raise ValidationFailed(
                {field: f"{when} does not exist: the clocks skip it (daylight saving time)."}
            )
        raise ValidationFailed(
            {
                field: f"{when} is ambiguous: it happens twice as the clocks go back "
                "(daylight saving time). Give it with its UTC offset instead."
            }
        )
    return earlier.astimezone(dt.UTC)


def datetime_input(value: Any, *, time_zone: str = "", field: str) -> dt.datetime:
    """An aware UTC datetime from an ISO 8601 string (or a datetime) and an optional zone name.

    With an offset the offset decides (a time_zone given too must still be a known zone); a
    local time needs ``time_zone``. Errors are 400s naming ``field`` (or ``time_zone``).
    """
    zone = zone_get(time_zone) if (time_zone or "").strip() else None
    parsed = _parsed(value, field=field)
    try:
        if parsed.tzinfo is not None and parsed.utcoffset() is not None:
            return parsed.astimezone(dt.UTC)
        if zone is None:
            raise ValidationFailed({field: NO_ZONE})
        return local_to_utc(parsed, zone, field=field)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59 in a zone behind UTC
        raise ValidationFailed({field: "That date is out of range."}) from exc


def _parsed(value: Any, *, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    text = str(value or "").strip()
    if not text:
        raise ValidationFailed({field: "Give a date and time."})
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationFailed(
            {field: f"{text!r} is not an ISO 8601 date and time (e.g. 2026-12-01T12:00:00Z)."}
        )
    return parsed


def user_zone(user: Any) -> ZoneInfo | None:
    """The zone the user chose (User.time_zone), or None: UTC only."""
    name = getattr(user, "time_zone", "") or ""
    if not name or name == UTC_NAME or not zone_is_known(name):
        return None
    return ZoneInfo(name)


def zoned_parts(moment: dt.datetime, zone: ZoneInfo | None) -> tuple[str, str]:
    """("2026-12-01 12:00 UTC", "(13:00 Europe/Berlin)"); the second is "" without a zone,
    and repeats the date when it differs from UTC's."""
    utc = moment.astimezone(dt.UTC)
    text = f"{utc:%Y-%m-%d %H:%M} UTC"
    if zone is None:
        return text, ""
    local = moment.astimezone(zone)
    shown = f"{local:%H:%M}" if local.date() == utc.date() else f"{local:%Y-%m-%d %H:%M}"
    return text, f"({shown} {zone.key})"


def format_zoned(moment: dt.datetime, zone: ZoneInfo | None) -> str:
    """ "2026-12-01 12:00 UTC (13:00 Europe/Berlin)", or "2026-12-01 12:00 UTC"."""
    return " ".join(part for part in zoned_parts(moment, zone) if part)


def iso_utc(moment: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with "Z", as the API returns times."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
