"""The findings list page: search and filters over what the user may see, in cursor pages.

It shares the FilterSet and the cursor paginator with ``GET /api/findings/``, so the page and
the API agree on every filter, on what a bad value is, and on never counting results.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework.request import Request

from ..api.pagination import FindingCursorPagination, page_links
from ..errors import ValidationFailed
from ..filters import FindingFilter, finding_filter_for


def _category_groups(filters: FindingFilter) -> list[tuple[str, list[Any]]]:
    """Categories grouped by taxonomy, for the select's option groups."""
    categories = filters.filters["category"].queryset
    return [
        (str(taxonomy), list(members))
        for taxonomy, members in groupby(categories, key=lambda category: category.taxonomy)
    ]


@never_cache
@login_required
@require_GET
def finding_list(request: HttpRequest) -> HttpResponse:
    filters = finding_filter_for(request)
    context: dict[str, Any] = {
        "filters": filters,
        "form": filters.form,
        "category_groups": _category_groups(filters),
        "findings": [],
        "searched": bool(request.GET),
    }
    if not filters.is_valid():
        context["errors"] = filters.error_detail()
        return render(request, "disclosure/finding_list.html", context, status=400)
    paginator = FindingCursorPagination()
    try:
        context["findings"] = paginator.paginate_queryset(filters.qs, Request(request))
    except ValidationFailed as exc:
        context["errors"] = exc.detail
        return render(request, "disclosure/finding_list.html", context, status=400)
    context.update(page_links(paginator))
    return render(request, "disclosure/finding_list.html", context)
