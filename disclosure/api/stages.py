"""A finding's staged release plan: ``GET`` and ``PUT /api/findings/{reference}/release-plan/``.

Coordinators and the lab read the whole plan, a notified defender a redacted one
(selectors_stages); anyone else gets a 404. Coordinators replace the stages that have not
fired (403 for others who may read it, before the body is read; 409 once released). Bad input
is a 400 naming ``stages[i].<field>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import mfa_api_require

from .. import policies, selectors
from ..errors import ValidationFailed
from ..models import Finding, ReleaseStage
from ..selectors_stages import Plan, PlanRow, release_plan_for
from ..services import stages as stages_service
from .permissions import FindingAccess
from .serializers import AwareDateTimeField, StrictInputSerializer
from .views import ERRORS, REFERENCE, _require

TLPS = ", ".join(Finding.Tlp.values)

# --- Shapes.


class StageSerializer(serializers.Serializer[PlanRow]):
    position = serializers.IntegerField(source="stage.position", help_text="1 is the first.")
    audience = serializers.ChoiceField(
        source="stage.audience",
        choices=ReleaseStage.Audience.choices,
        help_text="organizations: the organizations named and the verified defenders in the "
        "sectors named; community: every verified defender organization; public: everyone "
        "(the release).",
    )
    organizations = serializers.SerializerMethodField(
        help_text="Slugs of the organizations named. A notified defender sees only its own."
    )
    sectors = serializers.SerializerMethodField(
        help_text="Slugs of the sectors named (not shown to defenders)."
    )
    tlp = serializers.SerializerMethodField(
        help_text="The TLP label of what this stage's newcomers get, e.g. 'TLP:GREEN'."
    )
    scheduled_at = serializers.DateTimeField(source="stage.scheduled_at")
    fired = serializers.SerializerMethodField()
    fired_at = serializers.DateTimeField(source="stage.fired_at", allow_null=True)
    includes_you = serializers.BooleanField(
        help_text="For a notified defender: the stage names your organization or brought it in."
    )

    def get_organizations(self, row: PlanRow) -> list[str]:
        return [o.slug for o in row.organizations]

    def get_sectors(self, row: PlanRow) -> list[str]:
        return [s.slug for s in row.sectors]

    @extend_schema_field(serializers.ChoiceField(choices=Finding.Tlp.labels))
    def get_tlp(self, row: PlanRow) -> str:
        return str(Finding.Tlp(row.stage.tlp).label)

    def get_fired(self, row: PlanRow) -> bool:
        return row.stage.fired_at is not None


class PlanSerializer(serializers.Serializer[Plan]):
    access = serializers.ChoiceField(
        choices=[policies.PLAN_ALL, policies.PLAN_OWN],
        help_text="all: coordinators and the lab; own: a notified defender (redacted).",
    )
    editable = serializers.BooleanField(help_text="You may change the stages not yet fired (PUT).")
    stages = StageSerializer(many=True, source="rows")


class StageInputSerializer(StrictInputSerializer):
    audience = serializers.ChoiceField(choices=ReleaseStage.Audience.choices, required=False)
    organizations = serializers.ListField(
        child=serializers.CharField(max_length=80),
        required=False,
        help_text="organizations stages: slugs of verified defender organizations.",
    )
    sectors = serializers.ListField(
        child=serializers.CharField(max_length=60),
        required=False,
        help_text="organizations stages: sector slugs (GET /api/sectors/); their verified "
        "defenders are told at the stage's time.",
    )
    tlp = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=f"{TLPS}, with or without 'TLP:'. The public stage is CLEAR, the others "
        "never stricter than the stage before; left out: the previous stage's.",
    )
    scheduled_at = AwareDateTimeField(
        required=False, help_text="An ISO 8601 time with a zone, in the future."
    )
    # What GET gives besides; accepted so that a plan read can be sent back, and ignored.
    position = serializers.IntegerField(required=False, help_text="Ignored.")
    fired = serializers.BooleanField(required=False, help_text="Ignored.")
    fired_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Ignored.")
    includes_you = serializers.BooleanField(required=False, help_text="Ignored.")


class PlanInputSerializer(StrictInputSerializer):
    stages = StageInputSerializer(
        many=True,
        help_text="The whole plan in order: the fired stages first and unchanged (fields "
        "left out count as unchanged), then the new ones, the public release last.",
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="When the public release moves: why (required past the policy maximum for "
        "the finding's risk level); kept in the embargo's history.",
    )


# --- Views.


def _flat(errors: Any, prefix: str = "") -> dict[str, str]:
    """DRF's nested errors as ``{"stages[1].scheduled_at": "message"}``, like the service's."""
    if isinstance(errors, Mapping):
        flat: dict[str, str] = {}
        for key, value in errors.items():
            if key == "non_field_errors":
                name = prefix
            elif isinstance(key, int):  # a list's errors, by the index of the bad item
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flat(value, name))
        return flat
    if isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        return {prefix: " ".join(str(item) for item in errors)}
    if isinstance(errors, list):
        flat = {}
        for i, item in enumerate(errors):
            flat.update(_flat(item, f"{prefix}[{i}]"))
        return flat
    return {prefix: str(errors)}


class ReleasePlanView(APIView):
    permission_classes = [FindingAccess]
    detail = True  # FindingAccess: the lookup runs first, so an outsider gets the same 404

    def _finding(self, request: Request, reference: str) -> Finding:
        finding = selectors.finding_get_for(user=request.user, reference=reference)
        self.check_object_permissions(request, finding)
        if finding.state != Finding.State.RELEASED:
            mfa_api_require(request)  # after the 404: a session must have passed MFA
        return finding

    @extend_schema(
        summary="The staged release plan (coordinators and the lab whole; a notified defender "
        "without other organizations)",
        parameters=[REFERENCE],
        responses={200: PlanSerializer, 401: ERRORS[401], 404: ERRORS[404]},
    )
    def get(self, request: Request, reference: str) -> Response:
        finding = self._finding(request, reference)
        return Response(PlanSerializer(release_plan_for(request.user, finding)).data)

    @extend_schema(
        summary="Replace the stages not yet fired (coordinators)",
        parameters=[REFERENCE],
        request=PlanInputSerializer,
        responses={200: PlanSerializer, **ERRORS},
    )
    def put(self, request: Request, reference: str) -> Response:
        finding = self._finding(request, reference)
        _require(
            policies.can_edit_release_plan(request.user, finding),
            "Only coordinators can change the release plan.",
        )
        serializer = PlanInputSerializer(data=request.data)
        if not serializer.is_valid():
            raise ValidationFailed(_flat(serializer.errors))
        data = serializer.validated_data
        stages_service.plan_set(
            actor=request.user, finding=finding, stages=data["stages"], reason=data["reason"]
        )
        finding.refresh_from_db()
        return Response(PlanSerializer(release_plan_for(request.user, finding)).data)
