"""Many rows through a serializer's own fields, without DRF's per-field overhead on plain reads.

A page of 50 findings spends most of its time in DRF's generic field machinery (attribute
lookups, timezone lookups per datetime), not in the database. ``rows_data`` builds the same
output as ``serializer_class(instances, many=True).data``: it takes the serializer's fields, reads
strings, choices and datetimes directly (with each field's own settings, computed once per
page), and hands every other field (nested serializers, method fields, relations) to DRF as
usual. A test checks that both outputs are equal, so a field added to the serializer appears
here too, by the general path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

Reader = Callable[[Any], Any]
_SKIP = object()


def rows_data(
    serializer_class: type[serializers.Serializer[Any]],
    instances: Iterable[Any],
    context: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    serializer = serializer_class(context=context or {})
    readers = [
        (name, _reader(field)) for name, field in serializer.fields.items() if not field.write_only
    ]
    rows = []
    for instance in instances:
        row = {}
        for name, read in readers:
            value = read(instance)
            if value is not _SKIP:
                row[name] = value
        rows.append(row)
    return rows


def _reader(field: serializers.Field[Any, Any, Any, Any]) -> Reader:
    kind = type(field)
    simple = len(field.source_attrs) == 1 and field.source != "*"
    if simple and kind in (serializers.CharField, serializers.ChoiceField):
        return _plain(field)
    if simple and kind is serializers.DateTimeField:
        return _datetime(field)
    return _general(field)


def _plain(field: Any) -> Reader:
    attr = field.source_attrs[0]
    if isinstance(field, serializers.ChoiceField):
        choices = field.choice_strings_to_values

        def choice(instance: Any) -> Any:
            value = _read(instance, attr)
            return value if value in ("", None) else choices.get(str(value), value)

        return choice

    def text(instance: Any) -> Any:
        value = _read(instance, attr)
        return None if value is None else str(value)

    return text


def _datetime(field: Any) -> Reader:
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if output_format is None or output_format.lower() != ISO_8601:
        return _general(field)
    attr = field.source_attrs[0]
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()

    def iso(instance: Any) -> Any:
        value = _read(instance, attr)
        if value is None or isinstance(value, str):
            return value
        if zone is not None and isinstance(value, dt.datetime) and timezone.is_aware(value):
            value = value.astimezone(zone)
        else:
            value = field.enforce_timezone(value)
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return iso


def _read(instance: Any, attr: str) -> Any:
    value = getattr(instance, attr)
    return value() if callable(value) else value  # as DRF does for a method as the source


def _general(field: Any) -> Reader:
    """What DRF's Serializer.to_representation does for one field."""

    def read(instance: Any) -> Any:
        try:
            attribute = field.get_attribute(instance)
        except SkipField:
            return _SKIP
        check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
        return None if check is None else field.to_representation(attribute)

    return read
