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

from ..models import AuditEvent, Finding, FindingRecipient

ACTIONS = ("edit", "submit", "accept", "reject", "acknowledge")


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
        )
        read_only_fields = fields

    def get_acknowledged(self, row: FindingRecipient) -> bool:
        return row.acknowledged_at is not None


class FindingSummarySerializer(serializers.ModelSerializer[Finding]):
    """What a list shows: no embargoed field, so listing never needs an audited read."""

    developer = DeveloperSerializer(read_only=True)

    class Meta:
        model = Finding
        fields: tuple[str, ...] = (
            "reference",
            "developer",
            "title",
            "summary",
            "category",
            "risk_level",
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


class FindingDetailSerializer(FindingSummarySerializer):
    """One finding for someone the selector let see it.

    The view passes ``audience`` (the recipient rows this user may see) and ``actions`` in the
    context; embargoed fields appear only when the context says the user may view the finding.
    """

    audience = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta(FindingSummarySerializer.Meta):
        fields = (
            *FindingSummarySerializer.Meta.fields,
            *Finding.EMBARGOED_FIELDS,
            "audience",
            "actions",
        )
        read_only_fields = fields

    def to_representation(self, instance: Finding) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("may_view", False):
            for name in Finding.EMBARGOED_FIELDS:
                data.pop(name, None)
        return data

    @extend_schema_field(RecipientSerializer(many=True))
    def get_audience(self, finding: Finding) -> list[dict[str, Any]]:
        rows = self.context.get("audience", [])
        return RecipientSerializer(rows, many=True).data  # type: ignore[return-value]

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ACTIONS)))
    def get_actions(self, finding: Finding) -> list[str]:
        return list(self.context.get("actions", []))


class AdvisorySerializer(FindingSummarySerializer):
    """A released finding: everything is public now."""

    class Meta(FindingSummarySerializer.Meta):
        fields = (
            "reference",
            "developer",
            "title",
            "summary",
            "category",
            "risk_level",
            "model_name",
            *Finding.EMBARGOED_FIELDS,
            "embargo_ends_at",
            "released_at",
        )
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    actor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, help_text="Empty for the system (the scheduler)."
    )

    class Meta:
        model = AuditEvent
        fields = ("id", "created_at", "actor", "action", "from_state", "to_state", "note", "data")
        read_only_fields = fields


# --- Input.


class FindingCreateSerializer(StrictInputSerializer):
    developer = serializers.SlugField(
        required=False,
        help_text="Slug of your developer organization; optional when you belong to only one.",
    )
    model_name = serializers.CharField(max_length=200)
    model_version = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=300)
    summary = serializers.CharField(help_text="Public: shown before release.")
    details = serializers.CharField(help_text="Embargoed until release.")
    category = serializers.CharField(
        max_length=130, help_text="'<taxonomy>:<code>', e.g. 'openai-pf-v2:cybersecurity'."
    )
    risk_level = choice_field(Finding.RiskLevel)
    recommended_actions = serializers.CharField(required=False, allow_blank=True)
    submit = serializers.BooleanField(
        required=False, default=False, help_text="Submit to the coordinators at once."
    )


class FindingUpdateSerializer(StrictInputSerializer):
    """Every editable field, all optional (PATCH)."""

    model_name = serializers.CharField(max_length=200, required=False)
    model_version = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=300, required=False)
    summary = serializers.CharField(required=False)
    details = serializers.CharField(required=False)
    category = serializers.CharField(max_length=130, required=False)
    risk_level = choice_field(Finding.RiskLevel, required=False)
    recommended_actions = serializers.CharField(required=False, allow_blank=True)


class FindingAcceptSerializer(StrictInputSerializer):
    defender_organizations = serializers.ListField(
        child=serializers.CharField(max_length=80),
        allow_empty=False,
        help_text="Slugs of the defender organizations to notify.",
    )
    embargo_ends_at = AwareDateTimeField(
        help_text="When the finding becomes public: an ISO 8601 time with a zone, in the future."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class FindingRejectSerializer(StrictInputSerializer):
    reason = serializers.CharField(help_text="Why the finding is rejected; the lab sees it.")
