"""An organization's webhook endpoints, for its admins: list, add, change, rotate the secret,
test, disable, enable, delete.

An organization the caller does not belong to is a 404; a member who is not an admin (or a
coordinator) gets a 403. The secret is in the answer to creating and to rotating, never again.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import MFAVerifiedSession
from accounts.api_registry import ORG_ERRORS, SLUG
from accounts.models import Organization
from accounts.selectors import organization_get_for

from .. import policies, selectors_webhooks
from ..models import WebhookEndpoint
from ..services import webhooks as service
from .serializers import ErrorSerializer, StrictInputSerializer
from .views import _require, _validated

ENDPOINT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The endpoint's id.")
ERRORS: dict[int, Any] = {
    **ORG_ERRORS,
    404: OpenApiResponse(ErrorSerializer, description="No such organization or endpoint."),
}
ADMINS_ONLY = "Only the organization's admins manage its webhook endpoints."


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    is_active = serializers.BooleanField(read_only=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields: tuple[str, ...] = (
            "id",
            "url",
            "description",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "previous_secret_expires_at",
            "created_at",
            "created_by",
        )
        read_only_fields = fields
        extra_kwargs = {
            "previous_secret_expires_at": {
                "help_text": "After a rotation, deliveries are signed with the previous secret "
                "too until this time."
            },
            "disabled_reason": {"help_text": "Why it was disabled (e.g. the receiver's 410)."},
        }


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    """The endpoint with its signing secret: only in the answer to creating or rotating."""

    class Meta(WebhookEndpointSerializer.Meta):
        fields = (*WebhookEndpointSerializer.Meta.fields, "secret")
        read_only_fields = fields
        extra_kwargs = {
            **WebhookEndpointSerializer.Meta.extra_kwargs,
            "secret": {"help_text": "whsec_...: shown this once; keep it in your receiver."},
        }


class WebhookEndpointCreateSerializer(StrictInputSerializer):
    url = serializers.CharField(
        max_length=2000, help_text="Your receiver's https:// URL, reachable from the internet."
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="What it is, for you."
    )


class WebhookEndpointUpdateSerializer(StrictInputSerializer):
    url = serializers.CharField(max_length=2000, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class RotateSecretSerializer(StrictInputSerializer):
    overlap_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=service.OVERLAP_MAX_HOURS,
        help_text="How long the old secret keeps signing too (default 24 hours; 0: not at all).",
    )


class DisableSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class PingResultSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField(help_text="Whether the receiver answered 2xx.")
    status_code = serializers.IntegerField(
        allow_null=True, help_text="The receiver's HTTP status; null if it did not answer."
    )
    detail = serializers.CharField()


def _organization(request: Request, slug: str) -> Organization:
    organization = organization_get_for(user=request.user, slug=slug)
    _require(policies.can_manage_organization(request.user, organization), ADMINS_ONLY)
    return organization


def _endpoint(request: Request, slug: str, pk: int) -> WebhookEndpoint:
    return selectors_webhooks.webhook_endpoint_get(_organization(request, slug), pk)


def _shown(endpoint: WebhookEndpoint, code: int = status.HTTP_200_OK) -> Response:
    return Response(WebhookEndpointSerializer(endpoint).data, status=code)


class WebhookListView(APIView):
    permission_classes = [IsAuthenticated, MFAVerifiedSession]

    @extend_schema(
        summary="An organization's webhook endpoints (its admins)",
        parameters=[SLUG],
        responses={200: WebhookEndpointSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        endpoints = selectors_webhooks.webhook_endpoints_of(_organization(request, slug))
        return Response(WebhookEndpointSerializer(endpoints, many=True).data)

    @extend_schema(
        summary="Add a webhook endpoint; the answer holds its secret, shown this once",
        parameters=[SLUG],
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointSecretSerializer, **ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        organization = _organization(request, slug)
        data = _validated(WebhookEndpointCreateSerializer, request.data)
        endpoint, _ = service.endpoint_create(actor=request.user, organization=organization, **data)
        return Response(
            WebhookEndpointSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )


class WebhookDetailView(APIView):
    permission_classes = [IsAuthenticated, MFAVerifiedSession]

    @extend_schema(
        summary="One webhook endpoint",
        parameters=[SLUG, ENDPOINT_ID],
        responses={200: WebhookEndpointSerializer, **ERRORS},
    )
    def get(self, request: Request, slug: str, pk: int) -> Response:
        return _shown(_endpoint(request, slug, pk))

    @extend_schema(
        summary="Change a webhook endpoint's URL or description",
        parameters=[SLUG, ENDPOINT_ID],
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointSerializer, **ERRORS},
    )
    def patch(self, request: Request, slug: str, pk: int) -> Response:
        endpoint = _endpoint(request, slug, pk)
        data = _validated(WebhookEndpointUpdateSerializer, request.data)
        return _shown(service.endpoint_update(actor=request.user, endpoint=endpoint, **data))

    @extend_schema(
        summary="Delete a webhook endpoint and its deliveries",
        parameters=[SLUG, ENDPOINT_ID],
        responses={204: None, **ERRORS},
    )
    def delete(self, request: Request, slug: str, pk: int) -> Response:
        service.endpoint_delete(actor=request.user, endpoint=_endpoint(request, slug, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(APIView):
    permission_classes = [IsAuthenticated, MFAVerifiedSession]

    @extend_schema(
        summary="Rotate the signing secret; the old one keeps signing during the overlap",
        parameters=[SLUG, ENDPOINT_ID],
        request=RotateSecretSerializer,
        responses={200: WebhookEndpointSecretSerializer, **ERRORS},
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        endpoint = _endpoint(request, slug, pk)
        data = _validated(RotateSecretSerializer, request.data)
        endpoint, _ = service.endpoint_rotate_secret(actor=request.user, endpoint=endpoint, **data)
        return Response(WebhookEndpointSecretSerializer(endpoint).data)


class WebhookTestView(APIView):
    permission_classes = [IsAuthenticated, MFAVerifiedSession]

    @extend_schema(
        summary="Send a signed ping event now and report the receiver's answer",
        parameters=[SLUG, ENDPOINT_ID],
        request=None,
        responses={200: PingResultSerializer, **ERRORS},
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        result = service.endpoint_test(actor=request.user, endpoint=_endpoint(request, slug, pk))
        return Response(PingResultSerializer(result).data)


class WebhookEnableView(APIView):
    permission_classes = [IsAuthenticated, MFAVerifiedSession]

    @extend_schema(
        summary="Deliver to a disabled endpoint again",
        parameters=[SLUG, ENDPOINT_ID],
        request=None,
        responses={200: WebhookEndpointSerializer, **ERRORS},
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        endpoint = _endpoint(request, slug, pk)
        return _shown(service.endpoint_enable(actor=request.user, endpoint=endpoint))


class WebhookDisableView(APIView):
    permission_classes = [IsAuthenticated, MFAVerifiedSession]

    @extend_schema(
        summary="Stop deliveries to an endpoint",
        parameters=[SLUG, ENDPOINT_ID],
        request=DisableSerializer,
        responses={200: WebhookEndpointSerializer, **ERRORS},
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        endpoint = _endpoint(request, slug, pk)
        data = _validated(DisableSerializer, request.data)
        return _shown(service.endpoint_disable(actor=request.user, endpoint=endpoint, **data))


PREFIX = "organizations/<slug:slug>/webhooks/"
urlpatterns = [
    path(PREFIX, WebhookListView.as_view(), name="organization-webhooks"),
    path(f"{PREFIX}<int:pk>/", WebhookDetailView.as_view(), name="organization-webhook"),
    *(
        path(f"{PREFIX}<int:pk>/{name}/", view.as_view(), name=f"organization-webhook-{name}")
        for name, view in (
            ("rotate-secret", WebhookRotateSecretView),
            ("test", WebhookTestView),
            ("enable", WebhookEnableView),
            ("disable", WebhookDisableView),
        )
    ),
]
