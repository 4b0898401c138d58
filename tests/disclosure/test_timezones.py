"""Times typed with an offset or as a local time in a zone; shown in UTC and the viewer's zone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template

from disclosure.errors import ValidationFailed
from disclosure.timezones import datetime_input, format_zoned, iso_utc, user_zone
from tests.factories import UserFactory

UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2026-12-01T12:00:00Z", "", dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),
        ("2026-12-01T13:00:00+01:00", "", dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),
        # Winter in Berlin is UTC+1; summer UTC+2.
        ("2026-12-01T13:00", "Europe/Berlin", dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),
        ("2026-07-01T14:00", "Europe/Berlin", dt.datetime(2026, 7, 1, 12, 0, tzinfo=UTC)),
        ("2026-12-01 07:00", "America/New_York", dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),
        ("2026-12-01T12:00", "UTC", dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),
        # An offset wins over the zone given beside it.
        ("2026-12-01T12:00:00Z", "Asia/Tokyo", dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_times_with_an_offset_or_a_zone_become_utc(text, zone, expected):
    result = datetime_input(text, time_zone=zone, field="ends_at")
    assert result == expected
    assert result.utcoffset() == dt.timedelta(0)


def test_an_unknown_zone_is_refused_by_name():
    with pytest.raises(ValidationFailed) as refused:
        datetime_input("2026-12-01T12:00", time_zone="Mars/Olympus_Mons", field="ends_at")
    assert refused.value.detail == {
        "time_zone": "Unknown time zone 'Mars/Olympus_Mons'; use an IANA name such as "
        "Europe/Berlin or UTC."
    }


def test_a_local_time_the_clocks_skip_is_refused():
    # Berlin: 2026-03-29 02:00 -> 03:00; 02:30 never happens.
    with pytest.raises(ValidationFailed) as refused:
        datetime_input("2026-03-29T02:30", time_zone="Europe/Berlin", field="ends_at")
    assert "does not exist" in refused.value.detail["ends_at"]
    assert "daylight saving" in refused.value.detail["ends_at"]


def test_a_local_time_that_happens_twice_is_refused():
    # Berlin: 2026-10-25 03:00 -> 02:00; 02:30 happens twice.
    with pytest.raises(ValidationFailed) as refused:
        datetime_input("2026-10-25T02:30", time_zone="Europe/Berlin", field="ends_at")
    assert "ambiguous" in refused.value.detail["ends_at"]
    # Given with its offset it is one instant.
    assert datetime_input("2026-10-25T02:30+01:00", field="ends_at") == dt.datetime(
        2026, 10, 25, 1, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    ["next tuesday", "2026-13-01T00:00", "", "2026-12-01T12:00+25:00", "0001-01-01T00:00+01:00"],
)
def test_what_is_not_a_date_and_time_is_refused(text):
    with pytest.raises(ValidationFailed) as refused:
        datetime_input(text, time_zone="UTC", field="ends_at")
    assert "ends_at" in refused.value.detail


def test_a_local_time_that_would_leave_the_calendar_is_refused():
    with pytest.raises(ValidationFailed, match="out of range"):
        datetime_input("9999-12-31T23:59", time_zone="America/New_York", field="ends_at")


def test_a_local_time_without_a_zone_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        datetime_input("2026-12-01T12:00", field="ends_at")
    assert "time_zone" in refused.value.detail["ends_at"]


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("", "2026-12-01 12:00 UTC"),
        ("UTC", "2026-12-01 12:00 UTC"),
        ("Europe/Berlin", "2026-12-01 12:00 UTC (13:00 Europe/Berlin)"),
        ("Pacific/Auckland", "2026-12-01 12:00 UTC (2026-12-02 01:00 Pacific/Auckland)"),
        ("America/Los_Angeles", "2026-12-01 12:00 UTC (04:00 America/Los_Angeles)"),
    ],
)
def test_a_time_is_shown_in_utc_and_the_users_zone(zone, expected):
    moment = dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert format_zoned(moment, user_zone(UserFactory.build(time_zone=zone))) == expected


def test_the_api_form_is_utc_with_z():
    berlin = dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert iso_utc(berlin) == "2026-12-01T12:00:00Z"


@pytest.mark.django_db
def test_the_zoned_tag_renders_a_time_element_for_the_viewer():
    user = UserFactory(time_zone="Europe/Berlin")
    html = Template("{% load zoned %}{% zoned when %}").render(
        Context({"when": dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC), "user": user})
    )
    assert html == (
        '<time datetime="2026-12-01T12:00:00Z" class="zoned"><span>2026-12-01 12:00 UTC</span> '
        "<span>(13:00 Europe/Berlin)</span></time>"
    )
    empty = Template("{% load zoned %}{% zoned when %}").render(Context({"when": None}))
    assert "—" in empty
