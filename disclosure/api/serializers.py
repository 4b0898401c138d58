"""Shapes of the findings API. Input serializers only validate; the services write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import TextChoices
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organization

from ..csaf import csaf_url
from ..models import AuditEvent, Finding, FindingRecipient
from ..selectors_publication import AdvisoryVersion, advisory_versions
from .content import (
    CategorySerializer,
    ChangesSinceSerializer,
    CreditSerializer,
    EvaluationListField,
    EvaluationSerializer,
    MitigationListField,
    MitigationSerializer,
    PublicCreditSerializer,
    accepted_credits,
    described,
    surfaces_field,
    tlp_label,
    visibility,
    visibility_kwargs,
)
from .zoned import ZONED_HELP, ZonedDateTimeField, time_zone_field, zoned_validate

ACTIONS = (
    "edit",
    "submit",
    "acknowledge",
    # Triage (policies.triage_actions), named as their endpoints.
    "start-triage",
    "request-info",
    "provide-info",
    "accept",
    "reject",
    "duplicate",
    "withdraw",
    "assign",
)


class StrictInputSerializer(serializers.Serializer[Any]):
    """Refuses keys it does not know, so a typo or a ``state`` in the body is not silently lost."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: "Unknown field; it cannot be set here." for name in unknown}
                )
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """A datetime that must carry its zone: DRF would otherwise read a naive one as UTC."""

    default_error_messages = {
        "naive": "Give a time zone (e.g. 2026-12-01T12:00:00Z).",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            parsed = parse_datetime(value.strip())
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        elif isinstance(value, datetime) and timezone.is_naive(value):
            self.fail("naive")
        return super().to_internal_value(value)


def choice_field(choices: type[TextChoices], **kwargs: Any) -> serializers.ChoiceField:
    """A ChoiceField whose error lists the valid values, so a client can correct itself."""
    valid = ", ".join(choices.values)
    return serializers.ChoiceField(
        choices=choices.choices,
        error_messages={
            "invalid_choice": f'"{{input}}" is not a valid choice; use one of: {valid}.'
        },
        **kwargs,
    )


# --- Output.


class ErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.JSONField(help_text="A message, or messages keyed by field name.")


class DeveloperSerializer(serializers.ModelSerializer[Organization]):
    class Meta:
        model = Organization
        fields = ("slug", "name")
        read_only_fields = fields


class RecipientSerializer(serializers.ModelSerializer[FindingRecipient]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    sector = serializers.CharField(source="organization.sector", read_only=True)
    acknowledged = serializers.SerializerMethodField()

    class Meta:
        model = FindingRecipient
        fields = (
            "organization",
            "organization_name",
            "sector",
            "added_at",
            "acknowledged",
            "acknowledged_at",
            "notified_revision",
        )
        read_only_fields = fields

    def get_acknowledged(self, row: FindingRecipient) -> bool:
        return row.acknowledged_at is not None


class FindingSummarySerializer(serializers.ModelSerializer[Finding]):
    """What a list shows: no embargoed field, so listing never needs an audited read."""

    developer = DeveloperSerializer(read_only=True)
    category = CategorySerializer(
        read_only=True, help_text=described("category", "The capability category.")
    )
    # Declared: a ModelSerializer drops allow_blank from read-only fields, and the schema would
    # then refuse the "" of a finding without a residual risk.
    residual_risk_level = serializers.ChoiceField(
        choices=Finding.RiskLevel.choices,
        allow_blank=True,
        read_only=True,
        help_text=described("residual_risk_level", "After mitigations."),
    )
    tlp = serializers.SerializerMethodField(
        help_text=described(
            "tlp", "The TLP 2.0 label, e.g. 'TLP:AMBER'; 'TLP:CLEAR' once released."
        )
    )

    class Meta:
        model = Finding
        fields: tuple[str, ...] = (
            "reference",
            "developer",
            "title",
            "summary",
            "category",
            "risk_level",
            "residual_risk_level",
            "tlp",
            "model_name",
            "state",
            "embargo_ends_at",
            "submitted_at",
            "accepted_at",
            "released_at",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = fields
        extra_kwargs = visibility_kwargs()

    @extend_schema_field(serializers.ChoiceField(choices=Finding.Tlp.labels))
    def get_tlp(self, finding: Finding) -> str:
        # The detail gives the label this reader holds it under (policies.tlp_for: a defender
        # brought in by a release stage has that stage's label).
        if viewer_tlp := self.context.get("tlp"):
            return str(Finding.Tlp(viewer_tlp).label)
        return tlp_label(finding)


class FindingDetailSerializer(FindingSummarySerializer):
    """One finding for someone the selector let see it.

    The view passes ``audience`` (the recipient rows this user may see) and ``actions`` in the
    context; embargoed fields appear only when the context says the user may view the finding.
    """

    audience = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    affected_sectors: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug",
        many=True,
        read_only=True,
        help_text=described("affected_sectors", "Sector slugs (GET /api/sectors/)."),
    )
    deployment_surfaces = surfaces_field(
        help_text=described("deployment_surfaces", "Where the model is or will be available.")
    )
    evaluations = EvaluationSerializer(
        many=True, read_only=True, help_text=described("evaluations", "The evidence.")
    )
    mitigations = MitigationSerializer(
        many=True, read_only=True, help_text=described("mitigations", "With their status.")
    )
    credits = serializers.SerializerMethodField(
        help_text=described(
            "credits",
            "The lab and coordinators see every credit; others the accepted ones and their own.",
        )
    )
    revision = serializers.SerializerMethodField(
        help_text=described("revisions", "The current revision number (GET .../revisions/).")
    )
    notified_revision = serializers.SerializerMethodField(
        help_text="For a notified defender: the revision your organization was told of."
    )
    changes_since_notified = serializers.SerializerMethodField(
        help_text="For a notified defender: what changed since the revision you were told of."
    )

    # What only those who may view the finding receive (the selector normally guarantees it).
    EMBARGOED_OUTPUT = (
        *Finding.EMBARGOED_FIELDS,
        "evaluations",
        "mitigations",
        "credits",
        "revision",
        "notified_revision",
        "changes_since_notified",
    )

    class Meta(FindingSummarySerializer.Meta):
        fields = (
            *FindingSummarySerializer.Meta.fields,
            "affected_sectors",
            *Finding.EMBARGOED_FIELDS,
            "evaluations",
            "mitigations",
            "credits",
            "revision",
            "notified_revision",
            "changes_since_notified",
            "audience",
            "actions",
        )
        read_only_fields = fields

    def to_representation(self, instance: Finding) -> dict[str, Any]:
        if not self.context.get("may_view", False):
            # Drop before rendering, so the embargoed relations are not even read.
            for name in self.EMBARGOED_OUTPUT:
                self.fields.pop(name, None)
        return super().to_representation(instance)

    @extend_schema_field(CreditSerializer(many=True))
    def get_credits(self, finding: Finding) -> list[dict[str, Any]]:
        return CreditSerializer(self.context.get("credits", []), many=True).data  # type: ignore[return-value]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_revision(self, finding: Finding) -> int | None:
        return self.context.get("revision")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_notified_revision(self, finding: Finding) -> int | None:
        return self.context.get("notified_revision")

    @extend_schema_field(ChangesSinceSerializer(allow_null=True))
    def get_changes_since_notified(self, finding: Finding) -> dict[str, Any] | None:
        return self.context.get("changes_since_notified")

    @extend_schema_field(RecipientSerializer(many=True))
    def get_audience(self, finding: Finding) -> list[dict[str, Any]]:
        rows = self.context.get("audience", [])
        return RecipientSerializer(rows, many=True).data  # type: ignore[return-value]

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ACTIONS)))
    def get_actions(self, finding: Finding) -> list[str]:
        return list(self.context.get("actions", []))


class AdvisoryVersionSerializer(serializers.Serializer[AdvisoryVersion]):
    """One version in an advisory's public revision history."""

    number = serializers.IntegerField(help_text="1 is the release; each update adds one.")
    date = serializers.DateTimeField()
    summary = serializers.CharField(help_text="What changed (the coordinator's note).")
    changed_fields = serializers.ListField(
        child=serializers.CharField(), help_text="The content fields the update changed."
    )


class AdvisorySerializer(FindingSummarySerializer):
    """A released finding: everything is public now (TLP:CLEAR), credits as accepted."""

    affected_sectors: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    deployment_surfaces = surfaces_field()
    evaluations = EvaluationSerializer(many=True, read_only=True)
    mitigations = MitigationSerializer(many=True, read_only=True)
    credits = serializers.SerializerMethodField(help_text="Accepted credits only, by name.")
    revisions = serializers.SerializerMethodField(
        help_text="The public revision history: the release, then each update, oldest first."
    )
    csaf_url = serializers.SerializerMethodField(help_text="Its CSAF 2.0 document.")

    class Meta(FindingSummarySerializer.Meta):
        fields = (
            "reference",
            "developer",
            "title",
            "summary",
            "category",
            "risk_level",
            "residual_risk_level",
            "tlp",
            "model_name",
            "affected_sectors",
            *Finding.EMBARGOED_FIELDS,
            "evaluations",
            "mitigations",
            "credits",
            "embargo_ends_at",
            "released_at",
            "revisions",
            "csaf_url",
        )
        read_only_fields = fields
        extra_kwargs: dict[str, Any] = {}

    @extend_schema_field(PublicCreditSerializer(many=True))
    def get_credits(self, finding: Finding) -> list[dict[str, Any]]:
        return PublicCreditSerializer(accepted_credits(finding), many=True).data  # type: ignore[return-value]

    @extend_schema_field(AdvisoryVersionSerializer(many=True))
    def get_revisions(self, finding: Finding) -> list[dict[str, Any]]:
        versions = advisory_versions(finding)
        return AdvisoryVersionSerializer(versions, many=True).data  # type: ignore[arg-type, return-value]

    @extend_schema_field(serializers.URLField())
    def get_csaf_url(self, finding: Finding) -> str:
        return csaf_url(finding)


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    actor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email",
        read_only=True,
        allow_null=True,
        help_text="null for the system (the scheduler).",
    )

    class Meta:
        model = AuditEvent
        fields = ("id", "created_at", "actor", "action", "from_state", "to_state", "note", "data")
        read_only_fields = fields


# --- Input.


def _content_fields(*, partial: bool) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
    """The finding's content as input: types only; intake checks the values.

    ``partial`` (PATCH) makes every field optional; lists given in a PATCH replace the old ones.
    """
    needed: dict[str, Any] = {"required": False} if partial else {}
    surfaces = ", ".join(Finding.Surface.values)
    tlps = ", ".join(Finding.Tlp.values)
    return {
        "model_name": serializers.CharField(
            max_length=200, help_text=visibility("model_name"), **needed
        ),
        "model_version": serializers.CharField(
            max_length=200,
            required=False,
            allow_blank=True,
            help_text=described("model_version", "Version or checkpoint."),
        ),
        "deployment_surfaces": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text=described("deployment_surfaces", f"Any of: {surfaces}."),
        ),
        "planned_availability": serializers.DateField(
            required=False,
            allow_null=True,
            help_text=described("planned_availability", "When the model becomes available."),
        ),
        "title": serializers.CharField(max_length=300, help_text=visibility("title"), **needed),
        "summary": serializers.CharField(
            help_text=described("summary", "A short summary."), **needed
        ),
        "details": serializers.CharField(help_text=visibility("details"), **needed),
        "category": serializers.CharField(
            max_length=130,
            help_text=described(
                "category",
                "'<taxonomy>:<code>', e.g. 'openai-pf-v2:cybersecurity' (GET /api/taxonomies/).",
            ),
            **needed,
        ),
        "risk_level": choice_field(
            Finding.RiskLevel,
            help_text=described("risk_level", "Before mitigations."),
            **needed,
        ),
        "residual_risk_level": choice_field(
            Finding.RiskLevel,
            required=False,
            allow_blank=True,
            allow_null=True,
            help_text=described(
                "residual_risk_level", "After mitigations; never above risk_level."
            ),
        ),
        "tlp": serializers.CharField(
            required=False,
            help_text=described(
                "tlp", f"TLP 2.0 label: {tlps}, with or without 'TLP:'. Default AMBER+STRICT."
            ),
        ),
        "affected_sectors": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text=described("affected_sectors", "Sector slugs (GET /api/sectors/)."),
        ),
        "evaluations": EvaluationListField(
            required=False, help_text=described("evaluations", "The evidence.")
        ),
        "mitigations": MitigationListField(
            required=False, help_text=described("mitigations", "With their status.")
        ),
        "recommended_actions": serializers.CharField(
            required=False,
            allow_blank=True,
            help_text=described("recommended_actions", "What defenders should do."),
        ),
    }


class FindingCreateSerializer(StrictInputSerializer):
    developer = serializers.SlugField(
        required=False,
        help_text="Slug of your developer organization; optional when you belong to only one.",
    )
    submit = serializers.BooleanField(
        required=False, default=False, help_text="Submit to the coordinators at once."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {**super().get_fields(), **_content_fields(partial=False)}


class FindingUpdateSerializer(StrictInputSerializer):
    """Every editable field, all optional (PATCH); a list given replaces the old one."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return _content_fields(partial=True)


class FindingAcceptSerializer(StrictInputSerializer):
    defender_organizations = serializers.ListField(
        child=serializers.CharField(max_length=80),
        allow_empty=False,
        help_text="Slugs of the defender organizations to notify.",
    )
    embargo_ends_at = ZonedDateTimeField(
        help_text="When the finding becomes public, in the future: " + ZONED_HELP + " May be "
        "left out when an embargo was proposed (POST .../embargo/propose/): its end is taken."
    )
    time_zone = time_zone_field()
    note = serializers.CharField(required=False, allow_blank=True, default="")
    over_policy_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the end is beyond the policy maximum for the finding's risk "
        "level (EMBARGO_POLICY_MAX_DAYS); stored and shown on the timeline.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return zoned_validate(attrs, "embargo_ends_at")


class FindingAcceptProposedSerializer(FindingAcceptSerializer):
    """The same, for a finding with a proposed embargo: the end may be left out."""

    embargo_ends_at = ZonedDateTimeField(required=False, help_text=ZONED_HELP)


class FindingRejectSerializer(StrictInputSerializer):
    reason = serializers.CharField(help_text="Why the finding is rejected; the lab sees it.")
