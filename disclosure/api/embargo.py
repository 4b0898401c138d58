"""The embargo API: a finding's embargo and its history, proposing, moving the end, breaking,
extension requests and their decisions, and the finding's timeline.

Like every finding route, a finding the caller may not see is a 404 (a defender not notified,
another lab, anonymous callers for anything unreleased); a caller who sees it but may not act
gets a 403 before the body is read; a move the embargo's state does not allow is a 409. What
each caller sees of the history and the requests is selectors_embargo's rules.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Organization

from .. import policies
from ..errors import ValidationFailed
from ..models import Embargo, ExtensionRequest, Finding
from ..selectors_embargo import (
    COORDINATOR,
    DEFENDER,
    LAB,
    SYSTEM,
    EmbargoView,
    embargo_view_for,
    extension_request_get_for,
)
from ..selectors_timeline import timeline_for
from ..services import embargo as embargo_service
from ..services import embargo_ending
from ..services import embargo_extensions as extensions
from .serializers import StrictInputSerializer, choice_field
from .triage import FindingActionView
from .views import ERRORS, REFERENCE, _require, _validated
from .zoned import ZONED_HELP, ZonedDateTimeField, time_zone_field, zoned_validate

# --- Shapes.


class EntrySerializer(serializers.Serializer[Any]):
    """One line of the embargo's history or the finding's timeline."""

    at = serializers.DateTimeField(help_text="UTC.")
    kind = serializers.CharField(
        help_text="e.g. filed, notified, acknowledged, readiness, embargo.proposed, "
        "embargo.changed, embargo.extension_requested, embargo.broken, stage_fired, "
        "finding.released."
    )
    title = serializers.CharField()
    actor = serializers.EmailField(
        allow_null=True, help_text="Who, where you may know it; else only actor_role."
    )
    actor_role = serializers.ChoiceField(choices=[COORDINATOR, LAB, DEFENDER, SYSTEM])
    organization = serializers.CharField(
        allow_null=True, help_text="The organization concerned, where you may see it."
    )
    old_ends_at = serializers.DateTimeField(allow_null=True)
    new_ends_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(help_text="Empty where you may not read it.")
    over_policy = serializers.BooleanField(
        help_text="The new end is beyond the policy maximum for the risk level."
    )
    extra = serializers.DictField(help_text="e.g. break_kind, stage, extension id.")


class ExtensionRequestSerializer(serializers.ModelSerializer[ExtensionRequest]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    requested_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True
    )
    decided_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True
    )

    class Meta:
        model = ExtensionRequest
        fields = (
            "id",
            "organization",
            "organization_name",
            "requested_by",
            "requested_ends_at",
            "reason",
            "state",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_note",
        )
        read_only_fields = fields


EMBARGO_ACTIONS = ("propose", "end", "break", "decide", "request-extension")


class EmbargoSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField()
    state = serializers.ChoiceField(
        choices=Embargo.State.choices,
        allow_null=True,
        help_text="null: no embargo was proposed yet.",
    )
    starts_at = serializers.DateTimeField(allow_null=True, help_text="When it became active.")
    ends_at = serializers.DateTimeField(
        allow_null=True, help_text="The public release (proposed, planned, or when it ended)."
    )
    ended_at = serializers.DateTimeField(allow_null=True)
    end_kind = serializers.CharField(help_text="released, broken, or empty.")
    break_kind = serializers.CharField(help_text="leaked, exploited, published, other, or empty.")
    break_reason = serializers.CharField(help_text="For those who took part in the disclosure.")
    policy_max_days = serializers.IntegerField(
        allow_null=True,
        help_text="The policy maximum for the finding's risk level (0: no embargo needed).",
    )
    over_policy_reason = serializers.CharField(
        help_text="The coordinator's reason for going beyond the policy maximum, if it does."
    )
    history = EntrySerializer(many=True)
    extension_requests = ExtensionRequestSerializer(
        many=True,
        help_text="Coordinators see every request; the lab and defenders their own organization's.",
    )
    actions = serializers.ListField(child=serializers.ChoiceField(choices=EMBARGO_ACTIONS))


class TimelineSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField()
    entries = EntrySerializer(many=True)


class EndInputSerializer(StrictInputSerializer):
    ends_at = ZonedDateTimeField(help_text=ZONED_HELP)
    time_zone = time_zone_field()
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Why; required beyond the policy maximum for the risk level, and then stored.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return zoned_validate(attrs, "ends_at")


class BreakInputSerializer(StrictInputSerializer):
    kind = choice_field(Embargo.BreakKind, help_text="Why it ends early.")
    reason = serializers.CharField(help_text="What happened; everyone told reads it.")


class ExtensionInputSerializer(EndInputSerializer):
    reason = serializers.CharField(help_text="Why the embargo should last longer.")
    organization = serializers.SlugField(
        required=False,
        help_text="The organization asking; needed only if you may ask for several.",
    )


class DecisionInputSerializer(StrictInputSerializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="To the requester. Required to deny, and to approve beyond the policy "
        "maximum (it is then the stored reason).",
    )


def embargo_data(view: EmbargoView) -> dict[str, Any]:
    embargo = view.embargo
    return {
        "reference": view.finding.reference,
        "state": embargo.state if embargo else None,
        "starts_at": embargo.starts_at if embargo else None,
        "ends_at": embargo.ends_at if embargo else None,
        "ended_at": embargo.ended_at if embargo else None,
        "end_kind": embargo.end_kind if embargo else "",
        "break_kind": embargo.break_kind if embargo else "",
        "break_reason": view.break_reason,
        "policy_max_days": view.policy_max_days,
        "over_policy_reason": view.over_policy_reason,
        "history": [vars(entry) for entry in view.history],
        "extension_requests": view.requests,
        "actions": view.actions,
    }


def _embargo_response(
    request: Request, finding: Finding, code: int = status.HTTP_200_OK
) -> Response:
    finding.refresh_from_db()
    view = embargo_view_for(request.user, finding)
    return Response(EmbargoSerializer(embargo_data(view)).data, status=code)


EMBARGO_RESPONSES = {200: EmbargoSerializer, **ERRORS}
EXTENSION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The request's id.")


def _schema(
    summary: str, request: Any = None, *, parameters: Any = (), created: bool = False
) -> Any:
    responses: dict[int, Any] = dict(EMBARGO_RESPONSES)
    if created:
        responses = {201: EmbargoSerializer, **ERRORS}
    return extend_schema(
        summary=summary,
        parameters=[REFERENCE, *parameters],
        request=request,
        responses=responses,
    )


# --- Views.


class EmbargoDetailView(FindingActionView):
    @extend_schema(
        summary="The finding's embargo: state, times, policy maximum, history, extension requests",
        parameters=[REFERENCE],
        responses={200: EmbargoSerializer, 401: ERRORS[401], 404: ERRORS[404]},
    )
    def get(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        return Response(
            EmbargoSerializer(embargo_data(embargo_view_for(request.user, finding))).data
        )


class EmbargoProposeView(FindingActionView):
    @_schema(
        "Propose an embargo end while the finding is in triage (again: replace it)",
        EndInputSerializer,
    )
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.can_manage_embargo(request.user, finding),
            "Only coordinators can propose an embargo.",
        )
        data = _validated(EndInputSerializer, request.data)
        embargo_service.embargo_propose(
            actor=request.user, finding=finding, ends_at=data["ends_at"], reason=data["reason"]
        )
        return _embargo_response(request, finding)


class EmbargoEndView(FindingActionView):
    @_schema("Move the end of a running embargo; everyone told hears of it", EndInputSerializer)
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.can_manage_embargo(request.user, finding),
            "Only coordinators can change an embargo's end.",
        )
        data = _validated(EndInputSerializer, request.data)
        embargo_service.embargo_end_set(
            actor=request.user, finding=finding, ends_at=data["ends_at"], reason=data["reason"]
        )
        return _embargo_response(request, finding)


class EmbargoBreakView(FindingActionView):
    @_schema(
        "Break the embargo: it ends now and the finding is released at once", BreakInputSerializer
    )
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.can_manage_embargo(request.user, finding),
            "Only coordinators can break an embargo.",
        )
        data = _validated(BreakInputSerializer, request.data)
        embargo_ending.embargo_break(
            actor=request.user, finding=finding, kind=data["kind"], reason=data["reason"]
        )
        return _embargo_response(request, finding)


class ExtensionRequestView(FindingActionView):
    @_schema(
        "Ask for a later embargo end (the lab or a notified defender)",
        ExtensionInputSerializer,
        created=True,
    )
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.can_request_extension(request.user, finding),
            "Only the lab and notified defender organizations can ask for an extension; "
            "coordinators change the end directly.",
        )
        data = _validated(ExtensionInputSerializer, request.data)
        organization = None
        if data.get("organization"):
            organization = Organization.objects.filter(slug=data["organization"]).first()
            if organization is None:
                raise ValidationFailed(
                    {"organization": f"Unknown organization: {data['organization']}."}
                )
        extensions.extension_request(
            actor=request.user,
            finding=finding,
            ends_at=data["ends_at"],
            reason=data["reason"],
            organization=organization,
        )
        return _embargo_response(request, finding, status.HTTP_201_CREATED)


class ExtensionDecisionView(FindingActionView):
    decision = ""

    def post(self, request: Request, reference: str, id: int) -> Response:
        finding = self.finding(request, reference)
        if self.decision != "withdraw":
            _require(
                policies.can_manage_embargo(request.user, finding),
                "Only coordinators can decide extension requests.",
            )
        extension = extension_request_get_for(user=request.user, finding=finding, pk=id)
        if self.decision == "withdraw":
            extensions.extension_withdraw(actor=request.user, request=extension)
        else:
            data = _validated(DecisionInputSerializer, request.data)
            extensions.extension_decide(
                actor=request.user,
                request=extension,
                approve=self.decision == "approve",
                note=data["note"],
            )
        return _embargo_response(request, finding)


class ExtensionApproveView(ExtensionDecisionView):
    decision = "approve"

    @_schema(
        "Approve an extension request: the end moves to the requested one",
        DecisionInputSerializer,
        parameters=[EXTENSION_ID],
    )
    def post(self, request: Request, reference: str, id: int) -> Response:
        return super().post(request, reference, id)


class ExtensionDenyView(ExtensionDecisionView):
    decision = "deny"

    @_schema(
        "Deny an extension request, with a note", DecisionInputSerializer, parameters=[EXTENSION_ID]
    )
    def post(self, request: Request, reference: str, id: int) -> Response:
        return super().post(request, reference, id)


class ExtensionWithdrawView(ExtensionDecisionView):
    decision = "withdraw"

    @_schema("Withdraw your pending extension request", None, parameters=[EXTENSION_ID])
    def post(self, request: Request, reference: str, id: int) -> Response:
        return super().post(request, reference, id)


class TimelineView(FindingActionView):
    @extend_schema(
        summary="The finding's timeline: filed, accepted, notified, acknowledged, readiness, "
        "the embargo's history, stages fired, released; each with its time",
        parameters=[REFERENCE],
        responses={200: TimelineSerializer, 401: ERRORS[401], 404: ERRORS[404]},
    )
    def get(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        entries = [vars(entry) for entry in timeline_for(request.user, finding)]
        return Response(
            TimelineSerializer({"reference": finding.reference, "entries": entries}).data
        )


urlpatterns = [
    path(f"findings/<str:reference>/{route}", view.as_view(), name=name)
    for route, view, name in (
        ("embargo/", EmbargoDetailView, "finding-embargo"),
        ("embargo/propose/", EmbargoProposeView, "finding-embargo-propose"),
        ("embargo/end/", EmbargoEndView, "finding-embargo-end"),
        ("embargo/break/", EmbargoBreakView, "finding-embargo-break"),
        ("embargo/extensions/", ExtensionRequestView, "finding-embargo-extensions"),
        (
            "embargo/extensions/<int:id>/approve/",
            ExtensionApproveView,
            "finding-embargo-extension-approve",
        ),
        ("embargo/extensions/<int:id>/deny/", ExtensionDenyView, "finding-embargo-extension-deny"),
        (
            "embargo/extensions/<int:id>/withdraw/",
            ExtensionWithdrawView,
            "finding-embargo-extension-withdraw",
        ),
        ("timeline/", TimelineView, "finding-timeline"),
    )
]
