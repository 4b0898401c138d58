"""Pages for the delivery outbox: the coordinators' deliveries page (failures first, with a
manual retry and the contacts whose mail bounces), and each user's in-app inbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from rest_framework.request import Request

from .. import policies, selectors_delivery
from ..api.deliveries import NewestFirstPagination, finding_url, recipient_of
from ..api.pagination import page_links
from ..errors import ApplicationError
from ..models import Delivery
from ..services import deliveries as delivery_service
from ..services.channels import inbox as inbox_service

INBOX_PER_PAGE = 50
# The page shows failures unless another state (or "any", the empty value) is chosen.
DEFAULT_STATE = Delivery.State.FAILED


def _require_coordinator(request: HttpRequest) -> None:
    if not policies.can_manage_deliveries(request.user):
        raise Http404("No such page.")


def _filter_values(params: Any) -> dict[str, str]:
    """The filters as given (the state defaulting to failed), for the form and the links."""
    values = {
        name: (params.get(name) or "").strip() for name in selectors_delivery.DELIVERY_FILTERS
    }
    if "state" not in params:
        values["state"] = DEFAULT_STATE
    return values


@never_cache
@login_required
@require_GET
def delivery_failures(request: HttpRequest) -> HttpResponse:
    _require_coordinator(request)
    values = _filter_values(request.GET)
    context: dict[str, Any] = {
        "values": values,
        "states": Delivery.State.choices,
        "channels": Delivery.Channel.choices,
        "retryable": sorted(delivery_service.RETRYABLE),
        "deliveries": [],
        "bouncing": list(selectors_delivery.bouncing_contacts_for(request.user)),
        "query": urlencode({k: v for k, v in values.items() if v or k == "state"}),
    }
    try:
        params = {**request.GET.dict(), "state": values["state"]}
        filters = selectors_delivery.delivery_filters_parse(params)
        rows = selectors_delivery.deliveries_for(request.user, **filters)
        paginator = NewestFirstPagination()
        context["deliveries"] = paginator.paginate_queryset(rows, Request(request))
    except ApplicationError as exc:
        context["errors"] = exc.detail
        return render(request, "disclosure/deliveries.html", context, status=exc.status_code)
    context.update(page_links(paginator))
    return render(request, "disclosure/deliveries.html", context)


@never_cache
@login_required
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    _require_coordinator(request)
    delivery = selectors_delivery.delivery_get_for(user=request.user, pk=pk)
    try:
        delivery_service.delivery_retry(actor=request.user, delivery=delivery)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request,
            f"Delivery {delivery.pk} to {recipient_of(delivery)} is queued to be sent again now.",
        )
    # Back to the same filters, rebuilt from known names only (no open redirect).
    back = _filter_values(request.POST)
    return redirect(f"{reverse('delivery-failures')}?{urlencode(back)}")


# --- The in-app inbox.


@never_cache
@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "true"
    items = selectors_delivery.inbox_of(request.user, unread=True if unread_only else None)
    page = Paginator(items, INBOX_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "disclosure/inbox.html",
        {
            "page": page,
            "items": [(item, finding_url(item.finding)) for item in page.object_list],
            "unread_only": unread_only,
        },
    )


@never_cache
@login_required
@require_GET
def inbox_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow an item: it is marked read, and the finding (or its advisory) opens."""
    item = selectors_delivery.inbox_item_get_for(user=request.user, pk=pk)
    inbox_service.inbox_mark_read(actor=request.user, delivery=item)
    return redirect(finding_url(item.finding))


@never_cache
@login_required
@require_POST
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    marked = inbox_service.inbox_mark_all_read(actor=request.user)
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    return redirect("inbox")
