"""Times as input: ISO 8601 with an offset, or a local date-time with an IANA ``time_zone``
beside it (disclosure.timezones). Output is UTC with "Z" (DRF's DateTimeField, TIME_ZONE UTC)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..errors import ValidationFailed
from ..timezones import datetime_input, zone_get

ZONED_HELP = (
    "ISO 8601 with an offset (2026-12-01T12:00:00Z), or a local date-time "
    "(2026-12-01T13:00) with time_zone."
)


@extend_schema_field(OpenApiTypes.DATETIME)
class ZonedDateTimeField(serializers.CharField):
    """Kept as text here; ``zoned_validate`` reads it with the serializer's ``time_zone``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)


def time_zone_field() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=64,
        help_text="An IANA time zone (e.g. Europe/Berlin) for a local date-time given without "
        "an offset. Unknown zones, and local times that a daylight saving change skips or "
        "repeats, are refused (400).",
    )


def zoned_validate(attrs: dict[str, Any], *names: str) -> dict[str, Any]:
    """Turn the named fields into aware UTC datetimes; a 400 names the field at fault."""
    time_zone = attrs.get("time_zone", "")
    try:
        if time_zone:
            zone_get(time_zone)
        for name in names:
            if attrs.get(name) not in (None, ""):
                attrs[name] = datetime_input(attrs[name], time_zone=time_zone, field=name)
    except ValidationFailed as exc:
        raise serializers.ValidationError(exc.detail) from exc
    return attrs
