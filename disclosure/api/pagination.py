"""Cursor pagination for findings: stable under inserts, no counts, keyset all the way down.

DRF's CursorPagination keeps only the first ordering field in its cursor and steps over ties
with an offset (capped at 1,000), which breaks when many rows share a value, as search ranks
do. This one keeps every ordering field in the cursor (the last is always ``id``, so positions
are unique) and filters on the whole tuple. Its answers carry ``next``, ``previous`` and
``results`` and never a total: a count would tell how many findings exist that the user may not
see, or that a search matched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import reduce
from operator import or_
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, _reverse_ordering
from rest_framework.request import Request

from ..errors import ValidationFailed
from ..search import SEARCH_RANK

INVALID_CURSOR = "Invalid cursor; follow the next or previous link of a response."


class FindingCursorPagination(CursorPagination):
    page_size = 50
    ordering: tuple[str, ...] = ("-created_at", "-id")
    ranked_ordering: tuple[str, ...] = (f"-{SEARCH_RANK}", "-created_at", "-id")

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> tuple[str, ...]:
        """Best match first when the queryset was searched, else newest first."""
        if SEARCH_RANK in queryset.query.annotations:
            return self.ranked_ordering
        return self.ordering

    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        # DRF's method, but the cursor's position is filtered on as a whole tuple.
        self.request = request
        self.page_size = self.get_page_size(request) or type(self).page_size
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        offset = self.cursor.offset if self.cursor else 0
        reverse = bool(self.cursor and self.cursor.reverse)
        position = str(self.cursor.position) if self.cursor and self.cursor.position else None
        ordering = _reverse_ordering(self.ordering) if reverse else self.ordering
        queryset = queryset.order_by(*ordering)
        if position is not None:
            values = _position_values(queryset, ordering, position)
            queryset = queryset.filter(_beyond(ordering, values))

        results = list(queryset[offset : offset + self.page_size + 1])
        self.page = results[: self.page_size]
        following: str | None = None
        if len(results) > len(self.page):
            following = self._get_position_from_instance(results[-1], self.ordering)
        if reverse:
            self.page.reverse()
            self.has_next = position is not None or offset > 0
            self.has_previous = following is not None
            self.next_position = position
            self.previous_position = following
        else:
            self.has_next = following is not None
            self.has_previous = position is not None or offset > 0
            self.next_position = following
            self.previous_position = position
        return self.page

    def decode_cursor(self, request: Request) -> Any:
        """A bad cursor is bad input (400), not a missing page (DRF answers 404)."""
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationFailed({"cursor": INVALID_CURSOR}) from exc

    def _get_position_from_instance(self, instance: Model, ordering: Sequence[str]) -> str:
        values = [getattr(instance, field.lstrip("-")) for field in self.ordering]
        return json.dumps(
            [value.isoformat() if hasattr(value, "isoformat") else value for value in values]
        )


def _position_values(queryset: QuerySet[Any], ordering: Sequence[str], position: str) -> list[Any]:
    """The cursor's position decoded field by field, each as its field's Python value."""
    names = [field.lstrip("-") for field in ordering]
    try:
        raw = json.loads(position)
        if not isinstance(raw, list) or len(raw) != len(names):
            raise ValueError(position)
        return [
            _field(queryset, name).to_python(value) for name, value in zip(names, raw, strict=True)
        ]
    except (ValueError, TypeError, ValidationError) as exc:
        raise ValidationFailed({"cursor": INVALID_CURSOR}) from exc


def _field(queryset: QuerySet[Any], name: str) -> Any:
    annotation = queryset.query.annotations.get(name)
    if annotation is not None:
        return annotation.output_field
    return queryset.model._meta.get_field(name)


def _beyond(ordering: Sequence[str], values: list[Any]) -> Q:
    """Rows strictly after ``values`` in ``ordering``: a lexicographic tuple comparison.

    ``(a < va) or (a = va and b < vb) or ...``, plus ``a <= va`` on its own, which says the
    same but lets the database start an index scan on the first field at the position.
    """
    steps = []
    equal = Q()
    for field, value in zip(ordering, values, strict=True):
        name = field.lstrip("-")
        lookup = "lt" if field.startswith("-") else "gt"
        steps.append(equal & Q(**{f"{name}__{lookup}": value}))
        equal &= Q(**{name: value})
    first = ordering[0]
    seek = Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": values[0]})
    return seek & reduce(or_, steps)


def page_links(paginator: CursorPagination) -> dict[str, str | None]:
    """A page's "next" and "previous" links for a server-rendered list: the paginator's
    absolute links as query strings, so that they stay on the page's own host and path."""

    def relative(link: str | None) -> str | None:
        return f"?{urlsplit(link).query}" if link else None

    return {
        "next_link": relative(paginator.get_next_link()),
        "previous_link": relative(paginator.get_previous_link()),
    }
