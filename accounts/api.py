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
from .profile import user_time_zone_set


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
    time_zone = serializers.CharField(
        read_only=True, help_text="The IANA zone times are shown in besides UTC; empty: UTC only."
    )
    organizations = MembershipSerializer(many=True, read_only=True)


class MeUpdateSerializer(serializers.Serializer[object]):
    time_zone = serializers.CharField(
        allow_blank=True,
        max_length=64,
        help_text="An IANA zone (e.g. Europe/Berlin); empty or UTC: UTC only. Unknown: 400.",
    )


class MeView(APIView):
    """The authenticated user and the organizations they belong to, with their role."""

    @extend_schema(responses=MeSerializer, operation_id="me_retrieve")
    def get(self, request: Request) -> Response:
        return self._me(cast(User, request.user))  # IsAuthenticated (the default) let it in

    @extend_schema(
        request=MeUpdateSerializer,
        responses=MeSerializer,
        operation_id="me_partial_update",
        summary="Set your time zone",
    )
    def patch(self, request: Request) -> Response:
        user = cast(User, request.user)
        unknown = sorted(set(request.data) - {"time_zone"})
        if unknown:
            raise ValidationFailed(
                {name: "Unknown field; it cannot be set here." for name in unknown}
            )
        serializer = MeUpdateSerializer(data=request.data)
        if not serializer.is_valid():
            raise ValidationFailed(
                {key: " ".join(str(m) for m in value) for key, value in serializer.errors.items()}
            )
        user_time_zone_set(actor=user, user=user, time_zone=serializer.validated_data["time_zone"])
        return self._me(user)

    def _me(self, user: User) -> Response:
        memberships = (
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name")
        )
        data = {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "time_zone": user.time_zone,
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
