"""The findings and advisories API. Views validate, ask selectors and policies, call services.

A finding is looked up by its reference through the selector, so a finding the user may not see
is a 404 on every route, whether the caller is another lab, a defender or anonymous.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, prefetch_related_objects
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.access import mfa_api_require
from accounts.models import Organization

from .. import policies, selectors
from ..errors import NotAllowed, ValidationFailed
from ..filters import FindingFilter
from ..models import Embargo, Finding, FindingRecipient
from ..services import audit, intake, readiness, triage
from ..services.embargo import embargo_for
from ..transitions import ALLOWED
from .content import advisory_prefetches, detail_context
from .filters import StrictFilterBackend
from .pagination import FindingCursorPagination
from .permissions import CanReadAuditTrail, FindingAccess
from .rows import rows_data
from .serializers import (
    AdvisorySerializer,
    AuditEventSerializer,
    ErrorSerializer,
    FindingAcceptProposedSerializer,
    FindingAcceptSerializer,
    FindingCreateSerializer,
    FindingDetailSerializer,
    FindingRejectSerializer,
    FindingSummarySerializer,
    FindingUpdateSerializer,
)

State = Finding.State
Kind = Organization.Kind

REFERENCE = OpenApiParameter(
    "reference",
    str,
    OpenApiParameter.PATH,
    description="The finding's reference id, e.g. FW-2026-0001.",
)
ERRORS: dict[int, Any] = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input; `detail` says what is wrong."),
    401: OpenApiResponse(ErrorSerializer, description="Not logged in, or a bad token."),
    403: OpenApiResponse(ErrorSerializer, description="You may see it but not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such finding that you may see."),
    409: OpenApiResponse(ErrorSerializer, description="Not possible in the finding's state."),
}


def _messages(errors: Any) -> Any:
    """DRF's ``{"field": ["msg"]}`` as ``{"field": "msg"}``, like the services' errors."""
    if isinstance(errors, Mapping):
        return {str(key): _messages(value) for key, value in errors.items()}
    if isinstance(errors, list):
        if all(isinstance(item, str) for item in errors):
            return " ".join(str(item) for item in errors)
        return [_messages(item) for item in errors]
    return str(errors)


def _validated(serializer_class: type[BaseSerializer[Any]], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationFailed(_messages(serializer.errors))
    return dict(serializer.validated_data)


def _require(allowed: bool, message: str) -> None:
    """Refuse before reading the body, so someone who may not act learns nothing from a 400."""
    if not allowed:
        raise NotAllowed(message)


def _developer_for(user: Any, slug: str | None) -> Organization:
    if slug is not None:
        developer = Organization.objects.filter(slug=slug, kind=Kind.DEVELOPER).first()
        if developer is None:
            raise ValidationFailed({"developer": f"Unknown developer organization: {slug}."})
        return developer  # finding_create refuses a lab the user does not belong to
    labs = list(
        Organization.objects.filter(pk__in=policies.org_ids(user, Kind.DEVELOPER)).order_by("slug")
    )
    if len(labs) != 1:
        raise ValidationFailed(
            {
                "developer": "You belong to several developer organizations; say which one: "
                f"{', '.join(lab.slug for lab in labs)}."
            }
        )
    return labs[0]


def _organizations(slugs: list[str]) -> list[Organization]:
    slugs = list(dict.fromkeys(slugs))
    found = {org.slug: org for org in Organization.objects.filter(slug__in=slugs)}
    unknown = [slug for slug in slugs if slug not in found]
    if unknown:
        raise ValidationFailed(
            {"defender_organizations": f"Unknown organizations: {', '.join(unknown)}."}
        )
    return [found[slug] for slug in slugs]


def _audience_for(
    user: Any, finding: Finding, rows: list[FindingRecipient]
) -> list[FindingRecipient]:
    """The lab and coordinators see the whole audience; a defender only its own rows."""
    if policies.is_lab_member(user, finding) or policies.is_coordinator(user):
        return rows
    mine = policies.org_ids(user, Kind.DEFENDER)
    return [row for row in rows if row.organization_id in mine]


def _actions_for(user: Any, finding: Finding, audience: list[FindingRecipient]) -> list[str]:
    allowed = ALLOWED[finding.state]
    actions = []
    if policies.can_edit_finding(user, finding):
        actions.append("edit")
    if State.SUBMITTED in allowed and policies.can_submit_finding(user, finding):
        actions.append("submit")
    actions += policies.triage_actions(user, finding)
    mine = policies.org_ids(user, Kind.DEFENDER)
    pending = any(r.acknowledged_at is None and r.organization_id in mine for r in audience)
    if pending and policies.can_acknowledge(user, finding):
        actions.append("acknowledge")
    return actions


def finding_detail_response(
    request: Request, finding: Finding, *, status_code: int = status.HTTP_200_OK
) -> Response:
    """Render one finding for the user; a read of embargoed content is audited."""
    user = request.user
    may_view = policies.can_view_finding(user, finding)
    if may_view and not finding.is_public:
        audit.finding_read_record(actor=user, finding=finding, via="api")
        readiness.finding_seen_record(actor=user, finding=finding)
    rows = list(selectors.recipients_of(finding))
    audience = _audience_for(user, finding, rows) if may_view else []
    context = {
        "request": request,
        "may_view": may_view,
        "audience": audience,
        "actions": _actions_for(user, finding, audience) if may_view else [],
        "tlp": policies.tlp_for(user, finding, recipients=rows),
    }
    if may_view:  # evidence, credits, revisions: embargoed content
        context.update(detail_context(user, finding, audience))
    return Response(FindingDetailSerializer(finding, context=context).data, status=status_code)


DETAIL_RESPONSES = {200: FindingDetailSerializer, **ERRORS}


@extend_schema_view(
    list=extend_schema(
        summary="Findings you may see: search, filters, newest (or best match) first",
        responses={200: FindingSummarySerializer(many=True), 400: ERRORS[400], 401: ERRORS[401]},
    ),
    create=extend_schema(
        summary="File a finding (a draft, or submitted at once with submit: true)",
        request=FindingCreateSerializer,
        responses={201: FindingDetailSerializer, **ERRORS},
    ),
    retrieve=extend_schema(
        summary="One finding, with its embargoed details if you may see them",
        parameters=[REFERENCE],
        responses=DETAIL_RESPONSES,
    ),
    partial_update=extend_schema(
        summary="Edit a draft",
        parameters=[REFERENCE],
        request=FindingUpdateSerializer,
        responses=DETAIL_RESPONSES,
    ),
)
class FindingViewSet(viewsets.GenericViewSet[Finding]):
    lookup_field = "reference"
    lookup_value_regex = "[^/]+"
    permission_classes = [FindingAccess]
    serializer_class = FindingSummarySerializer
    # The list only: search and filters narrow what the selector lets the user see, and pages
    # are cursors without counts (a count would hint at findings the user may not see).
    pagination_class = FindingCursorPagination
    filter_backends = [StrictFilterBackend]
    filterset_class = FindingFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Finding]:
        if getattr(self, "swagger_fake_view", False):
            return Finding.objects.none()
        # The list shows no embargoed field, so it does not even load them.
        return selectors.findings_visible_to(self.request.user).defer(*Finding.EMBARGOED_FIELDS)

    def get_object(self) -> Finding:
        finding = selectors.finding_get_for(
            user=self.request.user, reference=self.kwargs[self.lookup_field]
        )
        self.check_object_permissions(self.request, finding)
        if finding.state != Finding.State.RELEASED:
            mfa_api_require(self.request)  # embargoed details: a session must have passed MFA
        return finding

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        # rows_data: the summary serializer's output, built without DRF's per-field overhead.
        return self.get_paginated_response(rows_data(FindingSummarySerializer, page or []))

    def create(self, request: Request) -> Response:
        user = request.user
        _require(
            policies.can_file_findings(user),
            "Only members of an AI developer organization can file findings.",
        )
        data = _validated(FindingCreateSerializer, request.data)
        developer = _developer_for(user, data.pop("developer", None))
        submit = data.pop("submit", False)
        # Filing and submitting stand or fall together: no orphaned draft if the submit fails.
        with transaction.atomic():
            finding = intake.finding_create(actor=user, developer=developer, **data)
            if submit:
                finding = intake.finding_submit(actor=user, finding=finding)
        return finding_detail_response(request, finding, status_code=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, reference: str) -> Response:
        return finding_detail_response(request, self.get_object())

    def partial_update(self, request: Request, reference: str) -> Response:
        finding = self.get_object()
        _require(
            policies.can_edit_finding(request.user, finding),
            "Only the finding's lab and the coordinators can edit it, and not once it is "
            "released, rejected, a duplicate or withdrawn.",
        )
        data = _validated(FindingUpdateSerializer, request.data)
        finding = intake.finding_update(actor=request.user, finding=finding, **data)
        return finding_detail_response(request, finding)

    @extend_schema(
        summary="Submit a draft to the coordinators",
        parameters=[REFERENCE],
        request=None,
        responses=DETAIL_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, reference: str) -> Response:
        finding = intake.finding_submit(actor=request.user, finding=self.get_object())
        return finding_detail_response(request, finding)

    @extend_schema(
        summary="Accept a submitted finding, notify defenders and start the embargo",
        parameters=[REFERENCE],
        request=FindingAcceptSerializer,
        responses=DETAIL_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, reference: str) -> Response:
        finding = self.get_object()
        _require(policies.can_triage(request.user), "Only coordinators can accept findings.")
        proposal = embargo_for(finding)
        proposed = proposal is not None and proposal.state == Embargo.State.PROPOSED
        data = _validated(
            FindingAcceptProposedSerializer if proposed else FindingAcceptSerializer, request.data
        )
        finding = triage.finding_accept(
            actor=request.user,
            finding=finding,
            organizations=_organizations(data["defender_organizations"]),
            embargo_ends_at=data.get("embargo_ends_at"),
            note=data["note"],
            over_policy_reason=data["over_policy_reason"],
        )
        return finding_detail_response(request, finding)

    @extend_schema(
        summary="Reject a submitted finding",
        parameters=[REFERENCE],
        request=FindingRejectSerializer,
        responses=DETAIL_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, reference: str) -> Response:
        finding = self.get_object()
        _require(policies.can_triage(request.user), "Only coordinators can reject findings.")
        data = _validated(FindingRejectSerializer, request.data)
        finding = triage.finding_reject(actor=request.user, finding=finding, reason=data["reason"])
        return finding_detail_response(request, finding)

    @extend_schema(
        summary="Acknowledge, for your notified organizations, that you have read the finding",
        parameters=[REFERENCE],
        request=None,
        responses=DETAIL_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, reference: str) -> Response:
        finding = self.get_object()
        readiness.finding_acknowledge(actor=request.user, finding=finding)
        return finding_detail_response(request, finding)

    @extend_schema(
        summary="The finding's audit trail (its lab and coordinators only)",
        parameters=[REFERENCE],
        responses={
            200: AuditEventSerializer(many=True),
            401: ERRORS[401],
            403: ERRORS[403],
            404: ERRORS[404],
        },
    )
    @action(
        detail=True,
        methods=["get"],
        permission_classes=[CanReadAuditTrail],
        # Audit events are paged by number and not filtered like the findings list.
        pagination_class=PageNumberPagination,
        filter_backends=[],
    )
    def events(self, request: Request, reference: str) -> Response:
        # The view's own paginator is typed for findings; these are audit events.
        paginator = PageNumberPagination()
        events = selectors.audit_events_for(self.get_object())
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Released findings (public)"),
    retrieve=extend_schema(summary="One released finding (public)", parameters=[REFERENCE]),
)
class AdvisoryViewSet(viewsets.ReadOnlyModelViewSet[Finding]):
    """Released findings: public, no login needed."""

    lookup_field = "reference"
    lookup_value_regex = "[^/]+"
    permission_classes = [AllowAny]
    serializer_class = AdvisorySerializer

    def get_queryset(self) -> QuerySet[Finding]:
        return selectors.advisories_public().prefetch_related(*advisory_prefetches())

    def get_object(self) -> Finding:
        finding = selectors.advisory_get(reference=self.kwargs[self.lookup_field])
        prefetch_related_objects([finding], *advisory_prefetches())
        return finding
