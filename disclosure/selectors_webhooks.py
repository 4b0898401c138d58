"""Reading an organization's webhook endpoints for its admins.

The organization itself is looked up by accounts.selectors.organization_get_for (a 404 for
outsiders); the callers then ask policies.can_manage_organization (its admins only).
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from accounts.models import Organization

from .models import Delivery, WebhookEndpoint

RECENT_DELIVERIES = 5


def webhook_endpoints_of(organization: Organization) -> QuerySet[WebhookEndpoint]:
    return (
        WebhookEndpoint.objects.filter(organization=organization)
        .select_related("organization", "created_by")
        .order_by("created_at", "id")
    )


def webhook_endpoints_with_deliveries(organization: Organization) -> list[WebhookEndpoint]:
    """The endpoints, each with ``recent_deliveries``: its last few, newest first."""
    recent = (
        Delivery.objects.select_related("finding")
        .only(
            "id",
            "endpoint_id",
            "event",
            "state",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "sent_at",
            "next_attempt_at",
            "finding__reference",
        )
        .order_by("-created_at", "-id")
    )
    return list(
        webhook_endpoints_of(organization).prefetch_related(
            Prefetch("deliveries", queryset=recent[:RECENT_DELIVERIES], to_attr="recent_deliveries")
        )
    )


def webhook_endpoint_get(organization: Organization, pk: int) -> WebhookEndpoint:
    endpoint = webhook_endpoints_of(organization).filter(pk=pk).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint
