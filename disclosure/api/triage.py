"""Triage endpoints: the coordinators' queue and one explicit endpoint per workflow action.

Like the rest of the findings API, a finding the caller may not see is a 404 on every route;
one the caller sees but may not act on is a 403, checked before the body is read; a move the
finding's state does not allow is a 409.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User

from .. import policies, selectors
from ..errors import NotAllowed, ValidationFailed
from ..models import Finding
from ..services import triage
from .permissions import FindingAccess
from .serializers import FindingSummarySerializer, StrictInputSerializer
from .views import (
    DETAIL_RESPONSES,
    ERRORS,
    REFERENCE,
    _require,
    _validated,
    finding_detail_response,
)

# --- Shapes.


class TriageQueueItemSerializer(FindingSummarySerializer):
    assignee: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, help_text="The coordinator it is assigned to, if any."
    )

    class Meta(FindingSummarySerializer.Meta):
        fields = (*FindingSummarySerializer.Meta.fields, "assignee")
        read_only_fields = fields


class RequestInfoSerializer(StrictInputSerializer):
    message = serializers.CharField(
        help_text="What the lab should tell you; the lab reads it on the finding's page."
    )


class ProvideInfoSerializer(StrictInputSerializer):
    response = serializers.CharField(help_text="Your answer to the coordinators' request.")


class DuplicateSerializer(StrictInputSerializer):
    duplicate_of = serializers.CharField(
        max_length=20, help_text="Reference of the original finding, e.g. FW-2026-0001."
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class WithdrawSerializer(StrictInputSerializer):
    reason = serializers.CharField(help_text="Why the lab withdraws the finding.")


class AssignSerializer(StrictInputSerializer):
    assignee = serializers.EmailField(
        allow_null=True, help_text="Email of a coordinator, or null to unassign."
    )


# --- The queue.

ASSIGNED_FILTER = OpenApiParameter(
    "assigned",
    str,
    OpenApiParameter.QUERY,
    enum=list(selectors.QUEUE_FILTERS),
    description="me: assigned to you; none: assigned to nobody; absent: all.",
)


class TriageQueueView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = PageNumberPagination  # also tells the schema the answer is paginated

    @extend_schema(
        summary="The triage queue: submitted, in triage and waiting for the lab; "
        "critical first, then oldest",
        parameters=[ASSIGNED_FILTER],
        responses={
            200: TriageQueueItemSerializer(many=True),
            400: ERRORS[400],
            401: ERRORS[401],
            403: ERRORS[403],
        },
    )
    def get(self, request: Request) -> Response:
        if not policies.can_triage(request.user):
            raise NotAllowed("Only coordinators have a triage queue.")
        assigned = request.query_params.get("assigned")
        if assigned is not None and assigned not in selectors.QUEUE_FILTERS:
            raise ValidationFailed(
                {"assigned": f"Use one of: {', '.join(selectors.QUEUE_FILTERS)}."}
            )
        paginator = self.pagination_class()
        queue = selectors.triage_queue_for(request.user, assigned=assigned)
        page = paginator.paginate_queryset(queue, request, view=self)
        return paginator.get_paginated_response(TriageQueueItemSerializer(page, many=True).data)


# --- Actions on one finding.


class FindingActionView(APIView):
    """POST to act on one finding; the finding is looked up through the selector first."""

    # FindingAccess lets anonymous callers reach the lookup, so they get the same 404 as
    # everyone else for a finding they may not see.
    detail = True
    permission_classes = [FindingAccess]

    def finding(self, request: Request, reference: str) -> Finding:
        finding = selectors.finding_get_for(user=request.user, reference=reference)
        self.check_object_permissions(request, finding)
        return finding


def _action_schema(summary: str, request: Any = None) -> Any:
    return extend_schema(
        summary=summary, parameters=[REFERENCE], request=request, responses=DETAIL_RESPONSES
    )


class StartTriageView(FindingActionView):
    @_action_schema("Start triage of a submitted finding (or resume one waiting for the lab)")
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(policies.can_triage(request.user), "Only coordinators can triage findings.")
        finding = triage.finding_triage_start(actor=request.user, finding=finding)
        return finding_detail_response(request, finding)


class RequestInfoView(FindingActionView):
    @_action_schema("Ask the lab for more information", RequestInfoSerializer)
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.can_triage(request.user), "Only coordinators can ask the lab for information."
        )
        data = _validated(RequestInfoSerializer, request.data)
        finding = triage.finding_request_info(
            actor=request.user, finding=finding, message=data["message"]
        )
        return finding_detail_response(request, finding)


class ProvideInfoView(FindingActionView):
    @_action_schema(
        "Answer the coordinators' request; the finding goes back into triage", ProvideInfoSerializer
    )
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.is_lab_member(request.user, finding),
            "Only the lab that filed the finding can answer the coordinators.",
        )
        data = _validated(ProvideInfoSerializer, request.data)
        finding = triage.finding_provide_info(
            actor=request.user, finding=finding, response=data["response"]
        )
        return finding_detail_response(request, finding)


class DuplicateView(FindingActionView):
    @_action_schema("Close the finding as a duplicate of another", DuplicateSerializer)
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.can_triage(request.user), "Only coordinators can mark findings as duplicates."
        )
        data = _validated(DuplicateSerializer, request.data)
        finding = triage.finding_mark_duplicate(
            actor=request.user,
            finding=finding,
            duplicate_of=data["duplicate_of"],
            reason=data["reason"],
        )
        return finding_detail_response(request, finding)


class WithdrawView(FindingActionView):
    @_action_schema("Withdraw the finding (its lab only)", WithdrawSerializer)
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.is_lab_member(request.user, finding),
            "Only the lab that filed the finding can withdraw it.",
        )
        data = _validated(WithdrawSerializer, request.data)
        finding = triage.finding_withdraw(
            actor=request.user, finding=finding, reason=data["reason"]
        )
        return finding_detail_response(request, finding)


class AssignView(FindingActionView):
    @_action_schema("Assign the finding to a coordinator, or unassign it", AssignSerializer)
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(policies.can_triage(request.user), "Only coordinators can assign findings.")
        data = _validated(AssignSerializer, request.data)
        assignee = None
        if data["assignee"] is not None:
            assignee = User.objects.filter(email__iexact=data["assignee"]).first()
            if assignee is None or not policies.can_be_assignee(assignee):
                raise ValidationFailed(
                    {"assignee": f"{data['assignee']} is not an active coordinator."}
                )
        finding = triage.finding_assign(actor=request.user, finding=finding, assignee=assignee)
        return finding_detail_response(request, finding)
