"""The audience of a finding: the proposal for coordinators, adding and removing organizations
during the embargo, and every notified organization's readiness at a glance.

A finding the caller may not see is a 404 on every route; the proposal is a 404 for everyone but
coordinators. Adding and removing are the coordinators' (403 for others who see the finding).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization

from .. import policies, selectors, selectors_audience
from ..errors import ValidationFailed
from ..models import Finding, FindingRecipient
from ..services import audience as audience_service
from .permissions import FindingAccess
from .serializers import StrictInputSerializer
from .views import ERRORS, REFERENCE, _organizations, _require, _validated

# --- Shapes.


class ProposalItemSerializer(serializers.Serializer[Any]):
    organization = serializers.SlugField(help_text="The organization's slug.")
    name = serializers.CharField()
    proposed = serializers.BooleanField(
        help_text="Proposed from its subscriptions or sectors: pre-selected on the accept form."
    )
    notified = serializers.BooleanField(help_text="Already notified of this finding.")
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text='Why it is proposed, e.g. "subscribed to Cybersecurity >= high", '
        '"sector: Energy".',
    )


class ProposalSerializer(serializers.Serializer[Any]):
    organizations = ProposalItemSerializer(
        many=True, help_text="Every verified defender organization, the proposed ones first."
    )


class RecipientReadinessSerializer(serializers.ModelSerializer[FindingRecipient]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    acknowledged_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True
    )
    readiness_updated_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True
    )
    first_seen_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True
    )
    overdue = serializers.SerializerMethodField(
        help_text="Not acknowledged after the first reminder threshold, under embargo."
    )

    class Meta:
        model = FindingRecipient
        fields = (
            "organization",
            "organization_name",
            "added_at",
            "notified_revision",
            "acknowledged_at",
            "acknowledged_by",
            "readiness",
            "readiness_statement",
            "readiness_updated_at",
            "readiness_updated_by",
            "first_seen_at",
            "first_seen_by",
            "reminders_sent",
            "last_reminded_at",
            "overdue",
        )
        read_only_fields = fields

    def get_overdue(self, row: FindingRecipient) -> bool:
        return bool(getattr(row, "overdue", False))


class ReadinessCountsSerializer(serializers.Serializer[Any]):
    not_assessed = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    preparing = serializers.IntegerField()
    ready = serializers.IntegerField()
    not_affected = serializers.IntegerField()


class ReadinessSummarySerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField(help_text="Notified organizations counted.")
    readiness = ReadinessCountsSerializer()
    acknowledged = serializers.IntegerField()
    seen = serializers.IntegerField(help_text="Organizations one of whose users opened it.")
    overdue = serializers.IntegerField(help_text="Not acknowledged after the first reminder.")
    text = serializers.CharField(help_text='E.g. "5 of 8 ready".')


class RecipientsSerializer(serializers.Serializer[Any]):
    access = serializers.ChoiceField(
        choices=[policies.RECIPIENTS_ALL, policies.RECIPIENTS_OWN, policies.RECIPIENTS_COUNTS],
        help_text="all: coordinators; own: your organization's row; counts: the lab.",
    )
    summary = ReadinessSummarySerializer(
        help_text="Over every notified organization; a defender's over its own rows only."
    )
    recipients = RecipientReadinessSerializer(many=True)


class AudienceAddSerializer(StrictInputSerializer):
    defender_organizations = serializers.ListField(
        child=serializers.CharField(max_length=80),
        allow_empty=False,
        help_text="Slugs of verified defender organizations to notify; only the newcomers "
        "are told.",
    )


class AudienceRemoveSerializer(StrictInputSerializer):
    organization = serializers.CharField(max_length=80, help_text="The organization's slug.")
    reason = serializers.CharField(
        max_length=audience_service.REASON_MAX_LENGTH,
        help_text="Why it is removed; recorded in the audit trail.",
    )


# --- Views.


class _FindingView(APIView):
    permission_classes = [FindingAccess]
    detail = True  # FindingAccess: the lookup runs first, so an outsider gets the same 404

    def finding(self, request: Request, reference: str) -> Finding:
        finding = selectors.finding_get_for(user=request.user, reference=reference)
        self.check_object_permissions(request, finding)
        return finding


def recipients_response(
    request: Request, finding: Finding, *, status_code: int = status.HTTP_200_OK
) -> Response:
    rows = list(selectors.recipients_of(finding))
    access, shown = selectors_audience.recipients_for(request.user, finding, rows)
    if not access:  # e.g. anyone on a released finding: its audience is not public
        raise Http404("No finding with that reference.")
    counted = rows if access != policies.RECIPIENTS_OWN else shown
    data = {
        "access": access,
        "summary": selectors_audience.readiness_summary(finding, counted),
        "recipients": RecipientReadinessSerializer(shown, many=True).data,
    }
    return Response(data, status=status_code)


class AudienceProposalView(_FindingView):
    @extend_schema(
        summary="The proposed audience: verified defenders by subscription and sector "
        "(coordinators only)",
        parameters=[REFERENCE],
        responses={200: ProposalSerializer, 401: ERRORS[401], 404: ERRORS[404]},
    )
    def get(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        if not policies.can_manage_audience(request.user, finding):
            raise Http404("No finding with that reference.")
        proposal = {o.pk: reasons for o, reasons in audience_service.audience_propose(finding)}
        notified = set(finding.recipients.values_list("organization_id", flat=True))
        organizations = sorted(
            audience_service.defenders_verified(), key=lambda o: (o.pk not in proposal, o.name)
        )
        items = [
            {
                "organization": o.slug,
                "name": o.name,
                "proposed": o.pk in proposal,
                "notified": o.pk in notified,
                "reasons": proposal.get(o.pk, []),
            }
            for o in organizations
        ]
        return Response(ProposalSerializer({"organizations": items}).data)


class AudienceView(_FindingView):
    @extend_schema(
        summary="Notify more organizations of an embargoed finding (only the newcomers are told)",
        parameters=[REFERENCE],
        request=AudienceAddSerializer,
        responses={201: RecipientsSerializer, **ERRORS},
    )
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.can_manage_audience(request.user, finding),
            "Only coordinators can add organizations to the audience.",
        )
        data = _validated(AudienceAddSerializer, request.data)
        audience_service.audience_add(
            actor=request.user,
            finding=finding,
            organizations=_organizations(data["defender_organizations"]),
        )
        return recipients_response(request, finding, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Remove an organization from an embargoed finding's audience, with a reason",
        parameters=[REFERENCE],
        request=AudienceRemoveSerializer,
        responses={200: RecipientsSerializer, **ERRORS},
    )
    def delete(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.can_manage_audience(request.user, finding),
            "Only coordinators can remove organizations from the audience.",
        )
        data = _validated(AudienceRemoveSerializer, request.data)
        organization = Organization.objects.filter(slug=data["organization"]).first()
        if organization is None:
            raise ValidationFailed(
                {"organization": f"Unknown organization: {data['organization']}."}
            )
        audience_service.audience_remove(
            actor=request.user, finding=finding, organization=organization, reason=data["reason"]
        )
        return recipients_response(request, finding)


class RecipientsView(_FindingView):
    @extend_schema(
        summary="Readiness of the notified organizations: coordinators all, a defender its own, "
        "the lab counts only",
        parameters=[REFERENCE],
        responses={200: RecipientsSerializer, 401: ERRORS[401], 404: ERRORS[404]},
    )
    def get(self, request: Request, reference: str) -> Response:
        return recipients_response(request, self.finding(request, reference))
