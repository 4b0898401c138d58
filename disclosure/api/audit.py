"""The whole audit trail for coordinators: ``GET /api/audit/``, filtered like the /audit/ page.

Anyone but a coordinator gets a 404. Each event comes with its place in the hash chain and its
own check (``integrity``); the chain's links are checked by ``manage.py audit_verify``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated

from .. import policies
from ..audit_hash import audit_keys, integrity_of
from ..errors import Conflict
from ..models import AuditEvent
from ..selectors_audit import UNREADABLE, AuditEventFilter, audit_trail_for
from .deliveries import NewestFirstPagination
from .filters import StrictFilterBackend
from .serializers import AuditEventSerializer, ErrorSerializer
from .views import ERRORS

logger = logging.getLogger(__name__)
INTEGRITY = ("sealed", "pending", "mismatch")


class AuditTrailEventSerializer(AuditEventSerializer):
    finding: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="reference",
        read_only=True,
        allow_null=True,
        help_text="The finding's reference, or null.",
    )
    integrity = serializers.SerializerMethodField(
        help_text="sealed: in the chain and matches its seal; pending: written by the "
        "application, not sealed yet; mismatch: does not match its seal or tag (tampered)."
    )

    class Meta:
        model = AuditEvent
        fields = (
            *AuditEventSerializer.Meta.fields,
            "finding",
            "sequence",
            "prev_hash",
            "entry_hash",
            "integrity",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=INTEGRITY))
    def get_integrity(self, event: AuditEvent) -> str:
        keys = self.context.get("audit_keys") or audit_keys()
        return integrity_of(event, keys)


class AuditTrailView(generics.ListAPIView[AuditEvent]):
    permission_classes = [IsAuthenticated]
    serializer_class = AuditTrailEventSerializer
    pagination_class = NewestFirstPagination
    filter_backends = [StrictFilterBackend]
    filterset_class = AuditEventFilter

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if getattr(self, "swagger_fake_view", False):  # the schema's introspection
            return AuditEvent.objects.none()
        if not policies.can_browse_audit_trail(self.request.user):
            raise Http404("No such page.")
        return audit_trail_for(self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "audit_keys": audit_keys()}

    @extend_schema(
        summary="The whole audit trail, newest first (coordinators): filter by actor, action, "
        "finding, organization and dates",
        responses={
            200: AuditTrailEventSerializer(many=True),
            400: ERRORS[400],
            401: ERRORS[401],
            404: OpenApiResponse(ErrorSerializer, description="Not a coordinator."),
            409: OpenApiResponse(
                ErrorSerializer, description="A row could not be read (a tampered database)."
            ),
        },
    )
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().get(request, *args, **kwargs)
        except (ValueError, TypeError, AttributeError) as exc:
            logger.exception("The audit trail API could not read a row")
            raise Conflict(UNREADABLE) from exc
