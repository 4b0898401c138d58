"""The delivery outbox for coordinators (failures, attempts, manual retry), and each user's
in-app inbox.

Deliveries name embargoed findings and who was told of them: anyone but a coordinator gets a
404 from every delivery route. An inbox item belongs to its recipient; anyone else's is a 404.
Neither shows embargoed content: a finding appears as its reference and TLP label.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import policies, selectors_delivery
from ..errors import ValidationFailed
from ..models import Delivery, Finding
from ..services import deliveries as delivery_service
from ..services.channels import inbox as inbox_service
from .pagination import FindingCursorPagination
from .serializers import ErrorSerializer
from .views import ERRORS

NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such delivery, or not a coordinator.")
DELIVERY_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The delivery's id.")
ITEM_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The inbox item's id.")
DELIVERY_FILTERS = [
    OpenApiParameter(
        "state", str, OpenApiParameter.QUERY, enum=Delivery.State.values, description="e.g. failed"
    ),
    OpenApiParameter("channel", str, OpenApiParameter.QUERY, enum=Delivery.Channel.values),
    OpenApiParameter("organization", str, OpenApiParameter.QUERY, description="Its slug."),
    OpenApiParameter("finding", str, OpenApiParameter.QUERY, description="Its reference."),
]
UNREAD_FILTER = OpenApiParameter(
    "unread", bool, OpenApiParameter.QUERY, description="true: only unread; false: only read."
)


class NewestFirstPagination(FindingCursorPagination):
    """Keyset cursor pages of 50 by descending id, without counts."""

    ordering = ("-id",)

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        return self.ordering


def finding_url(finding: Finding) -> str:
    """Where the notice points: the public advisory once released, else the finding page."""
    if finding.state == Finding.State.RELEASED:
        return reverse("advisory-detail", args=[finding.reference])
    return reverse("finding-detail", args=[finding.reference])


def recipient_of(delivery: Delivery) -> str:
    """The user's address, or the webhook endpoint's URL."""
    if delivery.endpoint is not None:
        return delivery.endpoint.url
    return delivery.recipient.email if delivery.recipient is not None else ""


# --- Shapes.


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    reference = serializers.CharField(source="finding.reference", read_only=True)
    tlp = serializers.CharField(source="finding.get_tlp_display", read_only=True)
    organization = serializers.CharField(source="organization.slug", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    recipient = serializers.SerializerMethodField(
        help_text="The user's email address, or the webhook endpoint's URL."
    )
    recipient_bouncing = serializers.SerializerMethodField(
        help_text="Mail to this address bounced permanently (cleared by a later delivery)."
    )

    class Meta:
        model = Delivery
        fields = (
            "id",
            "event",
            "channel",
            "state",
            "reference",
            "tlp",
            "organization",
            "organization_name",
            "recipient",
            "recipient_bouncing",
            "attempts",
            "next_attempt_at",
            "last_error",
            "last_status_code",
            "sent_at",
            "created_at",
        )
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_recipient(self, obj: Delivery) -> str:
        return recipient_of(obj)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_recipient_bouncing(self, obj: Delivery) -> bool:
        return bool(obj.recipient is not None and obj.recipient.email_bouncing_at)


class InboxItemSerializer(serializers.ModelSerializer[Delivery]):
    event_label = serializers.CharField(source="get_event_display", read_only=True)
    reference = serializers.CharField(source="finding.reference", read_only=True)
    tlp = serializers.CharField(source="finding.get_tlp_display", read_only=True)
    url = serializers.SerializerMethodField(help_text="The finding's page (its advisory once out).")
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = (
            "id",
            "event",
            "event_label",
            "reference",
            "tlp",
            "url",
            "unread",
            "read_at",
            "created_at",
        )
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, obj: Delivery) -> str:
        return finding_url(obj.finding)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_unread(self, obj: Delivery) -> bool:
        return obj.read_at is None


class MarkedSerializer(serializers.Serializer[Any]):
    marked = serializers.IntegerField(help_text="How many items were unread and are read now.")


# --- Coordinators: deliveries.


def _require_coordinator(request: Request) -> None:
    if not policies.can_manage_deliveries(request.user):
        raise Http404("No such page.")


class DeliveryListView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirstPagination  # also tells the schema the answer is paginated

    @extend_schema(
        summary="Deliveries (coordinators): filter by state, channel, organization, finding",
        parameters=DELIVERY_FILTERS,
        responses={
            200: DeliverySerializer(many=True),
            400: ERRORS[400],
            401: ERRORS[401],
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request) -> Response:
        _require_coordinator(request)
        filters = selectors_delivery.delivery_filters_parse(request.query_params)
        rows = selectors_delivery.deliveries_for(request.user, **filters)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)


class DeliveryRetryView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Retry a failed delivery now, with a fresh retry schedule (coordinators)",
        parameters=[DELIVERY_ID],
        request=None,
        responses={
            200: DeliverySerializer,
            401: ERRORS[401],
            404: NOT_FOUND,
            409: OpenApiResponse(
                ErrorSerializer, description="Sent, being sent, or not retryable."
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        _require_coordinator(request)
        delivery = selectors_delivery.delivery_get_for(user=request.user, pk=pk)
        delivery_service.delivery_retry(actor=request.user, delivery=delivery)
        delivery = selectors_delivery.delivery_get_for(user=request.user, pk=pk)
        return Response(DeliverySerializer(delivery).data)


# --- Everyone: their own inbox.


def _unread_param(request: Request) -> bool | None:
    unknown = set(request.query_params) - {"unread", "cursor"}
    if unknown:
        raise ValidationFailed(dict.fromkeys(sorted(unknown), "Unknown parameter; use unread."))
    value = request.query_params.get("unread")
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise ValidationFailed({"unread": "Use true or false."})
    return value.lower() == "true"


class InboxView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirstPagination  # also tells the schema the answer is paginated

    @extend_schema(
        summary="Your in-app notifications, newest first (?unread=true for unread only)",
        parameters=[UNREAD_FILTER],
        responses={200: InboxItemSerializer(many=True), 400: ERRORS[400], 401: ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        items = selectors_delivery.inbox_of(request.user, unread=_unread_param(request))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(InboxItemSerializer(page, many=True).data)


class InboxReadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Mark one of your inbox items read",
        parameters=[ITEM_ID],
        request=None,
        responses={
            200: InboxItemSerializer,
            401: ERRORS[401],
            404: OpenApiResponse(ErrorSerializer, description="No such item in your inbox."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        item = selectors_delivery.inbox_item_get_for(user=request.user, pk=pk)
        item = inbox_service.inbox_mark_read(actor=request.user, delivery=item)
        return Response(InboxItemSerializer(item).data)


class InboxReadAllView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Mark every item of your inbox read",
        request=None,
        responses={200: MarkedSerializer, 401: ERRORS[401]},
    )
    def post(self, request: Request) -> Response:
        marked = inbox_service.inbox_mark_all_read(actor=request.user)
        return Response({"marked": marked})
