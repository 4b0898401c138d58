"""API for who the caller is and which organizations exist (to choose an audience from)."""

from __future__ import annotations

from typing import cast

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from disclosure import policies
from disclosure.errors import ValidationFailed

from .models import Membership, Organization, User


class OrganizationSerializer(serializers.ModelSerializer[Organization]):
    class Meta:
        model = Organization
        fields = ("id", "slug", "name", "kind", "sector")
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    id = serializers.IntegerField(source="organization.id", read_only=True)
    slug = serializers.SlugField(source="organization.slug", read_only=True)
    name = serializers.CharField(source="organization.name", read_only=True)
    kind = serializers.ChoiceField(
        source="organization.kind", choices=Organization.Kind.choices, read_only=True
    )
    sector = serializers.CharField(source="organization.sector", read_only=True)

    class Meta:
        model = Membership
        fields = ("id", "slug", "name", "kind", "sector", "role")
        read_only_fields = fields


class MeSerializer(serializers.Serializer[object]):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    organizations = MembershipSerializer(many=True, read_only=True)


class MeView(APIView):
    """The authenticated user and the organizations they belong to, with their role."""

    @extend_schema(responses=MeSerializer, operation_id="me_retrieve")
    def get(self, request: Request) -> Response:
        user = cast(User, request.user)  # IsAuthenticated (the default) let it in
        memberships = (
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name")
        )
        data = {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "organizations": memberships,
        }
        return Response(MeSerializer(data).data)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "kind",
            str,
            OpenApiParameter.QUERY,
            enum=Organization.Kind.values,
            description="Only organizations of this kind (e.g. defender, to choose an audience).",
        )
    ]
)
class OrganizationListView(generics.ListAPIView[Organization]):
    """Organizations on the platform; coordinators choose a finding's audience from these.

    Coordinators see every organization, applicants included; others the verified ones and
    their own."""

    serializer_class = OrganizationSerializer

    def get_queryset(self) -> QuerySet[Organization]:
        organizations = Organization.objects.order_by("name", "id")
        user = self.request.user
        if not policies.is_coordinator(user):
            # Applications are the coordinators' business: others see the verified ones and
            # their own.
            organizations = organizations.filter(
                Q(status=Organization.Status.VERIFIED) | Q(pk__in=policies.org_ids(user))
            )
        kind = self.request.query_params.get("kind")
        if kind is None:
            return organizations
        if kind not in Organization.Kind.values:
            choices = ", ".join(Organization.Kind.values)
            raise ValidationFailed({"kind": f"Unknown kind {kind!r}; choose one of: {choices}."})
        return organizations.filter(kind=kind)
