"""A notified defender acknowledges and reports its organization's readiness."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Organization

from .. import policies
from ..errors import ValidationFailed
from ..models import FindingRecipient
from ..services import readiness as readiness_service
from .audience import RecipientReadinessSerializer, _FindingView
from .serializers import StrictInputSerializer
from .views import ERRORS, REFERENCE, _require, _validated


class ReadinessReportSerializer(StrictInputSerializer):
    readiness = serializers.CharField(
        help_text=f"One of: {', '.join(readiness_service.REPORTABLE)} (never back to not_assessed)."
    )
    statement = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Optional, for the coordinators; at most "
        f"{readiness_service.STATEMENT_MAX_LENGTH} characters.",
    )
    organization = serializers.CharField(
        required=False,
        max_length=80,
        help_text="Your organization's slug; needed only if several of yours were notified.",
    )


class ReadinessView(_FindingView):
    @extend_schema(
        summary="Report your organization's readiness (the first report also acknowledges)",
        parameters=[REFERENCE],
        request=ReadinessReportSerializer,
        responses={200: RecipientReadinessSerializer, **ERRORS},
    )
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        _require(
            policies.can_acknowledge(request.user, finding),
            "Only members of a notified defender organization can report their readiness.",
        )
        data = _validated(ReadinessReportSerializer, request.data)
        organization = None
        if "organization" in data:
            organization = Organization.objects.filter(slug=data["organization"]).first()
            if organization is None:
                raise ValidationFailed(
                    {"organization": f"Unknown organization: {data['organization']}."}
                )
        row: FindingRecipient = readiness_service.readiness_report(
            actor=request.user,
            finding=finding,
            readiness=data["readiness"],
            statement=data["statement"],
            organization=organization,
        )
        return Response(RecipientReadinessSerializer(row).data)
