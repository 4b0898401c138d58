"""django-filter for the findings API, with this API's error shape and strictness."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request

from ..errors import ValidationFailed
from ..filters import PAGINATION_PARAMS


class StrictFilterBackend(DjangoFilterBackend):
    """Like DjangoFilterBackend, but a bad value or an unknown parameter is a 400 whose
    ``detail`` names each parameter and what is wrong with it."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        if not set(request.query_params) - PAGINATION_PARAMS:
            return queryset  # nothing to filter: spare building the FilterSet and its form
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise ValidationFailed(filterset.error_detail())
        return filterset.qs
