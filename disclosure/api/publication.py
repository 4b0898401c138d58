"""Publication API: an advisory's CSAF 2.0 document, and updates of a released advisory.

- ``GET /api/advisories/{reference}/csaf/``: the CSAF document, the very bytes served at
  ``/.well-known/csaf/white/<year>/<reference>.json`` (anyone; a 404 unless released).
- ``POST /api/advisories/{reference}/updates/``: ``changes`` (content fields, as in a PATCH of
  the finding, except ``tlp``) and ``note`` (public: what changed and why) make a new revision
  and a new advisory version (coordinators).
"""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import policies, selectors
from ..csaf import csaf_render
from ..errors import ValidationFailed
from ..selectors_publication import advisory_published_get
from ..services.advisories import NOTE_MAX_LENGTH, advisory_update
from .content import advisory_prefetches
from .serializers import AdvisorySerializer, FindingUpdateSerializer, StrictInputSerializer
from .views import ERRORS, REFERENCE, _messages, _require


class AdvisoryUpdateSerializer(StrictInputSerializer):
    changes = FindingUpdateSerializer(
        help_text="The content fields to change, as in PATCH /api/findings/{reference}/ "
        "(a list given replaces the old one); not tlp: a released advisory is TLP:CLEAR."
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH,
        help_text="What changed and why. Public: the advisory's revision history shows it.",
    )


def _flat(errors: Any) -> Any:
    """``{"changes": {"title": ...}}`` as ``{"changes.title": ...}``, as the service names them."""
    if not isinstance(errors, dict):
        return errors
    flat = {}
    for key, value in errors.items():
        if key == "changes" and isinstance(value, dict):
            flat.update(
                {
                    "changes" if k == "non_field_errors" else f"changes.{k}": v
                    for k, v in value.items()
                }
            )
        else:
            flat[key] = value
    return flat


class AdvisoryCsafView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="A released advisory as a CSAF 2.0 document (public)",
        parameters=[REFERENCE],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The CSAF 2.0 document."),
            404: ERRORS[404],
        },
    )
    def get(self, request: Request, reference: str) -> HttpResponse:
        finding = advisory_published_get(reference=reference)
        return HttpResponse(csaf_render(finding), content_type="application/json")


class AdvisoryUpdatesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Update a released advisory: a new revision and version (coordinators)",
        parameters=[REFERENCE],
        request=AdvisoryUpdateSerializer,
        responses={201: AdvisorySerializer, **ERRORS},
    )
    def post(self, request: Request, reference: str) -> Response:
        finding = selectors.advisory_get(reference=reference)
        _require(
            policies.can_update_advisory(request.user, finding),
            "Only coordinators can update a released advisory.",
        )
        serializer = AdvisoryUpdateSerializer(data=request.data)
        if not serializer.is_valid():
            raise ValidationFailed(_flat(_messages(serializer.errors)))
        data = serializer.validated_data
        advisory_update(
            actor=request.user, finding=finding, changes=dict(data["changes"]), note=data["note"]
        )
        finding = selectors.advisory_get(reference=reference)
        prefetch_related_objects([finding], *advisory_prefetches())
        return Response(AdvisorySerializer(finding).data, status=status.HTTP_201_CREATED)
