"""The defender registry's API: applying, verification, an organization's profile, contacts,
invitations and subscriptions.

An organization someone does not belong to is a 404 for them (coordinators see every one); a
member who is not an admin gets a 403. Views check access, validate the shape and call the
services in accounts.registry and accounts.contacts, which decide the rest.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from disclosure import policies
from disclosure.api.serializers import ErrorSerializer, StrictInputSerializer
from disclosure.api.views import ERRORS, _require, _validated
from disclosure.errors import ValidationFailed

from . import contacts, registry, selectors
from .access import MFAVerifiedSessionToChange
from .models import Organization
from .serializers_registry import (
    ApplicationCreateSerializer,
    ApplicationItemSerializer,
    ApplicationReceivedSerializer,
    ContactSerializer,
    ContactUpdateSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    OrganizationProfileSerializer,
    OrganizationUpdateSerializer,
    ReasonSerializer,
    SubscriptionCreateSerializer,
    SubscriptionSerializer,
)

ORG_ERRORS: dict[int, Any] = {
    **ERRORS,
    403: OpenApiResponse(ErrorSerializer, description="You belong to it but may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such organization that you belong to."),
    409: OpenApiResponse(ErrorSerializer, description="A duplicate, or not possible now."),
}
SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The organization's slug.")
ROW_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The row's id.")
STATUS_FILTER = OpenApiParameter(
    "status",
    str,
    OpenApiParameter.QUERY,
    enum=Organization.Status.values,
    description="Only organizations with this status (e.g. applied).",
)


# --- Applying, and the coordinators' review.


class ApplicationsView(APIView):
    """POST: anyone applies for a defender organization. GET: coordinators review them."""

    pagination_class = PageNumberPagination  # also tells the schema the list is paginated

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        summary="Defender organizations with their status, applications first (coordinators)",
        parameters=[STATUS_FILTER],
        responses={
            200: ApplicationItemSerializer(many=True),
            400: ERRORS[400],
            401: ERRORS[401],
            403: ERRORS[403],
        },
    )
    def get(self, request: Request) -> Response:
        _require(
            policies.can_verify_organizations(request.user),
            "Only coordinators review applications.",
        )
        wanted = request.query_params.get("status")
        if wanted is not None and wanted not in Organization.Status.values:
            choices = ", ".join(Organization.Status.values)
            raise ValidationFailed(
                {"status": f"Unknown status {wanted!r}; choose one of: {choices}."}
            )
        rows = selectors.defender_organizations_for_review(status=wanted)
        paginator = self.pagination_class()
        page = list(paginator.paginate_queryset(rows, request, view=self) or [])
        context = {"applications": selectors.applications_of(page)}
        data = ApplicationItemSerializer(page, many=True, context=context).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        summary="Apply to register a defender organization (no account needed)",
        request=ApplicationCreateSerializer,
        responses={
            201: ApplicationReceivedSerializer,
            400: ERRORS[400],
            409: OpenApiResponse(ErrorSerializer, description="The name is registered already."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = _validated(ApplicationCreateSerializer, request.data)
        organization = registry.organization_apply(actor=request.user, **data)
        body = {
            "name": organization.name,
            "slug": organization.slug,
            "status": organization.status,
            "detail": "Application received. Follow the link we have emailed to the applicant "
            "to confirm the address; the coordinators then review the application.",
        }
        return Response(ApplicationReceivedSerializer(body).data, status=status.HTTP_201_CREATED)


def _organization(request: Request, slug: str) -> Organization:
    """404 for outsiders; 403 for members who are not admins (coordinators may read)."""
    organization = selectors.organization_get_for(user=request.user, slug=slug)
    _require(
        policies.can_view_organization(request.user, organization),
        f"Only the admins of {organization.name} and the coordinators can see this.",
    )
    return organization


def _manage(request: Request, slug: str) -> Organization:
    organization = _organization(request, slug)
    _require(
        policies.can_manage_organization(request.user, organization),
        f"Only the admins of {organization.name} can change this.",
    )
    return organization


def _invite(request: Request, slug: str) -> Organization:
    organization = _organization(request, slug)
    _require(
        policies.can_invite_to_organization(request.user, organization),
        f"Only the admins of {organization.name} and the coordinators manage invitations.",
    )
    return organization


class OrganizationDetailView(APIView):
    @extend_schema(
        summary="An organization's profile and status (its admins, coordinators)",
        parameters=[SLUG],
        responses={200: OrganizationProfileSerializer, **ORG_ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        organization = _organization(request, slug)
        return Response(OrganizationProfileSerializer(organization).data)

    @extend_schema(
        summary="Change the profile: sectors, country, website, description, requires_encryption",
        parameters=[SLUG],
        request=OrganizationUpdateSerializer,
        responses={200: OrganizationProfileSerializer, **ORG_ERRORS},
    )
    def patch(self, request: Request, slug: str) -> Response:
        organization = _manage(request, slug)
        data = _validated(OrganizationUpdateSerializer, request.data)
        organization = registry.organization_update(
            actor=request.user, organization=organization, **data
        )
        organization = selectors.organization_get_for(user=request.user, slug=slug)
        return Response(OrganizationProfileSerializer(organization).data)


class _DecisionView(APIView):
    decision = ""
    with_reason = True

    def post(self, request: Request, slug: str) -> Response:
        organization = selectors.organization_get_for(user=request.user, slug=slug)
        _require(
            policies.can_verify_organizations(request.user),
            "Only coordinators verify, reject and suspend organizations.",
        )
        if self.with_reason:
            reason = _validated(ReasonSerializer, request.data)["reason"]
            decide = getattr(registry, f"organization_{self.decision}")
            organization = decide(actor=request.user, organization=organization, reason=reason)
        else:
            _validated(StrictInputSerializer, request.data)
            organization = registry.organization_verify(
                actor=request.user, organization=organization
            )
        organization = selectors.organization_get_for(user=request.user, slug=slug)
        return Response(OrganizationProfileSerializer(organization).data)


def _decision_schema(summary: str, *, reason: bool) -> Any:
    return extend_schema(
        summary=summary,
        parameters=[SLUG],
        request=ReasonSerializer if reason else None,
        responses={200: OrganizationProfileSerializer, **ORG_ERRORS},
    )


class VerifyView(_DecisionView):
    decision, with_reason = "verify", False

    @_decision_schema("Verify an organization: it may receive embargoed findings", reason=False)
    def post(self, request: Request, slug: str) -> Response:
        return super().post(request, slug)


class RejectView(_DecisionView):
    decision = "reject"

    @_decision_schema("Reject an application, with a reason", reason=True)
    def post(self, request: Request, slug: str) -> Response:
        return super().post(request, slug)


class SuspendView(_DecisionView):
    decision = "suspend"

    @_decision_schema("Suspend a verified organization, with a reason", reason=True)
    def post(self, request: Request, slug: str) -> Response:
        return super().post(request, slug)


# --- Contacts.


class ContactsView(APIView):
    @extend_schema(
        summary="The organization's members, with their role and contact role",
        parameters=[SLUG],
        responses={200: ContactSerializer(many=True), **ORG_ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        organization = _organization(request, slug)
        return Response(ContactSerializer(selectors.contacts_of(organization), many=True).data)


class ContactDetailView(APIView):
    permission_classes = [IsAuthenticated, MFAVerifiedSessionToChange]

    @extend_schema(
        summary="Change a member's role and/or contact role (its admins)",
        parameters=[SLUG, ROW_ID],
        request=ContactUpdateSerializer,
        responses={200: ContactSerializer, **ORG_ERRORS},
    )
    def patch(self, request: Request, slug: str, pk: int) -> Response:
        organization = _manage(request, slug)
        membership = selectors.membership_get(organization, pk)
        data = _validated(ContactUpdateSerializer, request.data)
        membership = contacts.membership_update(actor=request.user, membership=membership, **data)
        return Response(ContactSerializer(membership).data)

    @extend_schema(
        summary="Remove a member (never the last admin)",
        parameters=[SLUG, ROW_ID],
        request=None,
        responses={204: None, **ORG_ERRORS},
    )
    def delete(self, request: Request, slug: str, pk: int) -> Response:
        organization = _manage(request, slug)
        membership = selectors.membership_get(organization, pk)
        contacts.membership_remove(actor=request.user, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Invitations.


class InvitationsView(APIView):
    permission_classes = [IsAuthenticated, MFAVerifiedSessionToChange]

    @extend_schema(
        summary="Invitations not yet accepted or revoked (expired ones too)",
        parameters=[SLUG],
        responses={200: InvitationSerializer(many=True), **ORG_ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        organization = _organization(request, slug)
        rows = selectors.invitations_pending_of(organization)
        return Response(InvitationSerializer(rows, many=True).data)

    @extend_schema(
        summary="Invite a contact by email (its admins, coordinators)",
        parameters=[SLUG],
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer, **ORG_ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        organization = _invite(request, slug)
        data = _validated(InvitationCreateSerializer, request.data)
        invitation = contacts.invitation_create(
            actor=request.user, organization=organization, **data
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationRevokeView(APIView):
    permission_classes = [IsAuthenticated, MFAVerifiedSessionToChange]

    @extend_schema(
        summary="Revoke an invitation: its link stops working",
        parameters=[SLUG, ROW_ID],
        request=None,
        responses={200: InvitationSerializer, **ORG_ERRORS},
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        organization = _invite(request, slug)
        invitation = selectors.invitation_get(organization, pk)
        invitation = contacts.invitation_revoke(actor=request.user, invitation=invitation)
        return Response(InvitationSerializer(invitation).data)


class InvitationResendView(APIView):
    permission_classes = [IsAuthenticated, MFAVerifiedSessionToChange]

    @extend_schema(
        summary="Send a new link (a new expiry) to the same address; the old link stops working",
        parameters=[SLUG, ROW_ID],
        request=None,
        responses={201: InvitationSerializer, **ORG_ERRORS},
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        organization = _invite(request, slug)
        invitation = selectors.invitation_get(organization, pk)
        fresh = contacts.invitation_resend(actor=request.user, invitation=invitation)
        return Response(InvitationSerializer(fresh).data, status=status.HTTP_201_CREATED)


# --- Subscriptions.


class SubscriptionsView(APIView):
    @extend_schema(
        summary="The capability categories and risk levels the organization wants to hear of",
        parameters=[SLUG],
        responses={200: SubscriptionSerializer(many=True), **ORG_ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        organization = _organization(request, slug)
        rows = selectors.subscriptions_of(organization)
        return Response(SubscriptionSerializer(rows, many=True).data)

    @extend_schema(
        summary="Subscribe to a capability category at or above a risk level (its admins)",
        parameters=[SLUG],
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionSerializer, **ORG_ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        organization = _manage(request, slug)
        data = _validated(SubscriptionCreateSerializer, request.data)
        subscription = registry.subscription_add(
            actor=request.user, organization=organization, **data
        )
        return Response(SubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(APIView):
    @extend_schema(
        summary="Unsubscribe (its admins)",
        parameters=[SLUG, ROW_ID],
        request=None,
        responses={204: None, **ORG_ERRORS},
    )
    def delete(self, request: Request, slug: str, pk: int) -> Response:
        organization = _manage(request, slug)
        subscription = selectors.subscription_get(organization, pk)
        registry.subscription_remove(actor=request.user, subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Mounted under /api/ by disclosure/api/urls.py (namespace "api").
urlpatterns = [
    path("applications/", ApplicationsView.as_view(), name="applications"),
    path("organizations/<slug:slug>/", OrganizationDetailView.as_view(), name="organization"),
    *(
        path(f"organizations/<slug:slug>/{name}/", view.as_view(), name=f"organization-{name}")
        for name, view in (("verify", VerifyView), ("reject", RejectView), ("suspend", SuspendView))
    ),
    path(
        "organizations/<slug:slug>/contacts/",
        ContactsView.as_view(),
        name="organization-contacts",
    ),
    path(
        "organizations/<slug:slug>/contacts/<int:pk>/",
        ContactDetailView.as_view(),
        name="organization-contact",
    ),
    path(
        "organizations/<slug:slug>/invitations/",
        InvitationsView.as_view(),
        name="organization-invitations",
    ),
    path(
        "organizations/<slug:slug>/invitations/<int:pk>/revoke/",
        InvitationRevokeView.as_view(),
        name="organization-invitation-revoke",
    ),
    path(
        "organizations/<slug:slug>/invitations/<int:pk>/resend/",
        InvitationResendView.as_view(),
        name="organization-invitation-resend",
    ),
    path(
        "organizations/<slug:slug>/subscriptions/",
        SubscriptionsView.as_view(),
        name="organization-subscriptions",
    ),
    path(
        "organizations/<slug:slug>/subscriptions/<int:pk>/",
        SubscriptionDetailView.as_view(),
        name="organization-subscription",
    ),
]
