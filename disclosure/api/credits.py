"""Credits on a finding: the lab or a coordinator credits someone; that person answers.

A credit on a finding the caller may not see is a 404, like the finding itself.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import policies, selectors, selectors_content
from ..models import Credit, Finding
from ..services import credits as credit_service
from ..services.audit import finding_read_record
from .content import CreditSerializer
from .permissions import FindingAccess
from .serializers import ErrorSerializer, StrictInputSerializer
from .views import ERRORS, REFERENCE, _require, _validated

CREDIT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The credit's id.")
STATUS_FILTER = OpenApiParameter(
    "status",
    str,
    OpenApiParameter.QUERY,
    enum=Credit.Status.values,
    description="Only credits with this answer (e.g. pending).",
)


class CreditCreateSerializer(StrictInputSerializer):
    email = serializers.CharField(
        help_text="The email address of the Forewarn user to credit; they must be able to see "
        "the finding (its lab, a coordinator, a notified defender), or it is released."
    )
    type = serializers.CharField(help_text=f"One of: {', '.join(Credit.Type.values)}.")


class FindingRefSerializer(serializers.ModelSerializer[Finding]):
    class Meta:
        model = Finding
        fields = ("reference", "title")
        read_only_fields = fields


class MyCreditSerializer(CreditSerializer):
    """A credit as the credited person sees it, with the finding it is on."""

    finding = FindingRefSerializer(read_only=True)
    name = None  # type: ignore[assignment]  # DRF drops an inherited field set to None

    class Meta(CreditSerializer.Meta):
        fields = ("id", "finding", "type", "status", "created_at", "answered_at")
        read_only_fields = fields


class FindingCreditsView(APIView):
    """GET the credits you may see on a finding; POST to credit someone."""

    permission_classes = [FindingAccess]
    detail = True  # FindingAccess: the lookup runs first, so an outsider gets the same 404

    def _finding(self, request: Request, reference: str) -> Finding:
        finding = selectors.finding_get_for(user=request.user, reference=reference)
        self.check_object_permissions(request, finding)
        return finding

    @extend_schema(
        summary="Credits on a finding (the lab and coordinators see all; others accepted ones)",
        parameters=[REFERENCE],
        responses={200: CreditSerializer(many=True), 401: ERRORS[401], 404: ERRORS[404]},
    )
    def get(self, request: Request, reference: str) -> Response:
        finding = self._finding(request, reference)
        finding_read_record(actor=request.user, finding=finding, via="api")  # embargoed content
        credits = selectors_content.credits_visible_to(request.user, finding)
        return Response(CreditSerializer(credits, many=True).data)

    @extend_schema(
        summary="Credit someone on a finding (its lab, coordinators)",
        parameters=[REFERENCE],
        request=CreditCreateSerializer,
        responses={201: CreditSerializer, **ERRORS},
    )
    def post(self, request: Request, reference: str) -> Response:
        finding = self._finding(request, reference)
        _require(
            policies.can_manage_credits(request.user, finding),
            "Only the finding's lab and coordinators can credit people on it.",
        )
        data = _validated(CreditCreateSerializer, request.data)
        credit = credit_service.credit_create(actor=request.user, finding=finding, **data)
        return Response(CreditSerializer(credit).data, status=status.HTTP_201_CREATED)


class MyCreditsView(APIView):
    """Your own credits, on findings you may see."""

    pagination_class = PageNumberPagination  # also tells the schema the answer is paginated

    @extend_schema(
        summary="Your credits (answer the pending ones)",
        parameters=[STATUS_FILTER],
        responses={200: MyCreditSerializer(many=True), 400: ERRORS[400], 401: ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status")
        if wanted is not None and wanted not in Credit.Status.values:
            choices = ", ".join(Credit.Status.values)
            return Response(
                {"detail": {"status": f"Unknown status {wanted!r}; choose one of: {choices}."}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        credits = selectors_content.credits_of(request.user, status=wanted)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(credits, request, view=self)
        return paginator.get_paginated_response(MyCreditSerializer(page, many=True).data)


ANSWER_RESPONSES: dict[int, Any] = {
    200: MyCreditSerializer,
    401: ERRORS[401],
    403: OpenApiResponse(ErrorSerializer, description="The credit is someone else's."),
    404: OpenApiResponse(ErrorSerializer, description="No such credit that you may see."),
}


class CreditAcceptView(APIView):
    @extend_schema(
        summary="Accept a credit given to you",
        parameters=[CREDIT_ID],
        request=None,
        responses=ANSWER_RESPONSES,
    )
    def post(self, request: Request, pk: int) -> Response:
        credit = selectors_content.credit_get_for(user=request.user, pk=pk)
        credit = credit_service.credit_accept(actor=request.user, credit=credit)
        return Response(MyCreditSerializer(credit).data)


class CreditDeclineView(APIView):
    @extend_schema(
        summary="Decline a credit given to you",
        parameters=[CREDIT_ID],
        request=None,
        responses=ANSWER_RESPONSES,
    )
    def post(self, request: Request, pk: int) -> Response:
        credit = selectors_content.credit_get_for(user=request.user, pk=pk)
        credit = credit_service.credit_decline(actor=request.user, credit=credit)
        return Response(MyCreditSerializer(credit).data)
