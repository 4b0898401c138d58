"""Capability taxonomies and sectors: reference data for filing findings.

Anyone logged in reads them; coordinators add their own taxonomies and categories. The
frameworks Forewarn ships with are read-only.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .. import policies, selectors_content
from ..models import CapabilityCategory, Sector, Taxonomy
from ..services import taxonomy as taxonomy_service
from .serializers import ErrorSerializer, StrictInputSerializer
from .views import _require, _validated

SLUG = OpenApiParameter(
    "slug", str, OpenApiParameter.PATH, description="The taxonomy's slug, e.g. openai-pf-v2."
)
WRITE_ERRORS: dict[int, Any] = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input; `detail` says what is wrong."),
    401: OpenApiResponse(ErrorSerializer, description="Not logged in, or a bad token."),
    403: OpenApiResponse(ErrorSerializer, description="Not a coordinator, or a shipped taxonomy."),
}


class TaxonomyCategorySerializer(serializers.ModelSerializer[CapabilityCategory]):
    key = serializers.CharField(
        read_only=True, help_text="'<taxonomy>:<code>': what to send as a finding's category."
    )

    class Meta:
        model = CapabilityCategory
        fields = ("key", "code", "label", "kind", "description")
        read_only_fields = fields


class TaxonomySerializer(serializers.ModelSerializer[Taxonomy]):
    shipped = serializers.SerializerMethodField(
        help_text="True for the frameworks Forewarn ships with: those are read-only."
    )
    categories = TaxonomyCategorySerializer(many=True, read_only=True)
    # Not a URLField: the schema would then call the "" of a taxonomy without one invalid.
    source_url = serializers.CharField(
        read_only=True, help_text="Where the framework is published, or empty."
    )

    class Meta:
        model = Taxonomy
        fields = ("slug", "framework", "version", "source_url", "shipped", "categories")
        read_only_fields = fields

    def get_shipped(self, taxonomy: Taxonomy) -> bool:
        return taxonomy.created_by_id is None


class SectorSerializer(serializers.ModelSerializer[Sector]):
    class Meta:
        model = Sector
        fields = ("slug", "name")
        read_only_fields = fields


class TaxonomyCreateSerializer(StrictInputSerializer):
    framework = serializers.CharField(help_text="e.g. 'Our Lab Frontier Policy'.")
    version = serializers.CharField(help_text="e.g. 'v1 (2026)'; unique with the framework.")
    slug = serializers.CharField(help_text="Lowercase letters, digits and hyphens; unique.")
    source_url = serializers.CharField(required=False, allow_blank=True)


class CategoryCreateSerializer(StrictInputSerializer):
    code = serializers.CharField(help_text="Lowercase letters, digits and hyphens.")
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    kind = serializers.CharField(
        required=False, help_text=f"One of: {', '.join(CapabilityCategory.Kind.values)}."
    )
    description = serializers.CharField(required=False, allow_blank=True)


class TaxonomyViewSet(viewsets.GenericViewSet[Taxonomy]):
    """Capability taxonomies, each with its categories."""

    lookup_field = "slug"
    lookup_value_regex = "[^/]+"
    serializer_class = TaxonomySerializer

    def get_queryset(self) -> Any:
        return selectors_content.taxonomies_with_categories()

    def get_object(self) -> Taxonomy:
        return selectors_content.taxonomy_get(slug=self.kwargs[self.lookup_field])

    @extend_schema(summary="Capability taxonomies, each with its categories")
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TaxonomySerializer(page, many=True).data)

    @extend_schema(summary="One taxonomy with its categories", parameters=[SLUG])
    def retrieve(self, request: Request, slug: str) -> Response:
        return Response(TaxonomySerializer(self.get_object()).data)

    @extend_schema(
        summary="Add a taxonomy (coordinators)",
        request=TaxonomyCreateSerializer,
        responses={201: TaxonomySerializer, **WRITE_ERRORS},
    )
    def create(self, request: Request) -> Response:
        _require(
            policies.can_manage_taxonomies(request.user),
            "Only coordinators can add capability taxonomies.",
        )
        data = _validated(TaxonomyCreateSerializer, request.data)
        taxonomy = taxonomy_service.taxonomy_create(actor=request.user, **data)
        taxonomy = selectors_content.taxonomy_get(slug=taxonomy.slug)
        return Response(TaxonomySerializer(taxonomy).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Add a category to a taxonomy coordinators created",
        parameters=[SLUG],
        request=CategoryCreateSerializer,
        responses={
            201: TaxonomyCategorySerializer,
            **WRITE_ERRORS,
            404: OpenApiResponse(ErrorSerializer, description="No such taxonomy."),
        },
    )
    @action(detail=True, methods=["post"])
    def categories(self, request: Request, slug: str) -> Response:
        taxonomy = self.get_object()
        _require(
            policies.can_manage_taxonomies(request.user),
            "Only coordinators can add capability categories.",
        )
        data = _validated(CategoryCreateSerializer, request.data)
        category = taxonomy_service.category_create(actor=request.user, taxonomy=taxonomy, **data)
        return Response(TaxonomyCategorySerializer(category).data, status=status.HTTP_201_CREATED)


@extend_schema(summary="Sectors a finding can name as affected")
class SectorListView(generics.ListAPIView[Sector]):
    serializer_class = SectorSerializer

    def get_queryset(self) -> Any:
        return selectors_content.sectors_all()
