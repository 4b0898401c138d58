"""Shapes of the registry API. Input serializers only check shape; the services decide."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from disclosure.api.serializers import StrictInputSerializer
from disclosure.models import Finding, Subscription

from . import contacts
from .models import Invitation, Membership, Organization


class OrganizationProfileSerializer(serializers.ModelSerializer[Organization]):
    sectors = serializers.SlugRelatedField[Any](slug_field="slug", many=True, read_only=True)
    country = serializers.CharField(source="country.code", read_only=True)
    country_name = serializers.CharField(source="country.name", read_only=True)
    # Not a URLField: the schema would then call the "" of an organization without one invalid.
    website = serializers.CharField(read_only=True, help_text="Its website, or empty.")

    class Meta:
        model = Organization
        fields = (
            "id",
            "slug",
            "name",
            "kind",
            "status",
            "status_reason",
            "verified_at",
            "country",
            "country_name",
            "sectors",
            "website",
            "description",
            "requires_encryption",
            "created_at",
        )
        read_only_fields = fields


class ApplicantSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(source="applicant_name", read_only=True)
    email = serializers.EmailField(source="applicant_email", read_only=True)
    applied_at = serializers.DateTimeField(read_only=True)


class ApplicationItemSerializer(OrganizationProfileSerializer):
    applicant = serializers.SerializerMethodField()

    class Meta(OrganizationProfileSerializer.Meta):
        fields: tuple[str, ...] = (*OrganizationProfileSerializer.Meta.fields, "applicant")  # type: ignore[assignment]
        read_only_fields = fields  # type: ignore[assignment]

    @extend_schema_field(ApplicantSerializer(allow_null=True))
    def get_applicant(self, organization: Organization) -> dict[str, Any] | None:
        application = self.context["applications"].get(organization.pk)
        return None if application is None else ApplicantSerializer(application).data


class ApplicationCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(help_text="The organization's name (unique on Forewarn).")
    sectors = serializers.ListField(
        child=serializers.CharField(), help_text="Sector slugs (GET /api/sectors/), at least one."
    )
    country = serializers.CharField(help_text="ISO 3166 country code, e.g. 'DE'.")
    website = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(
        help_text="Who you are and why you need early notice of dangerous AI capabilities."
    )
    applicant_name = serializers.CharField(help_text="Your name.")
    applicant_email = serializers.CharField(
        help_text="Your email address: the invitation link that makes you the organization's "
        "admin and primary contact goes there."
    )


class ApplicationReceivedSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    slug = serializers.SlugField()
    status = serializers.ChoiceField(choices=Organization.Status.choices)
    detail = serializers.CharField()


class OrganizationUpdateSerializer(StrictInputSerializer):
    sectors = serializers.ListField(child=serializers.CharField(), required=False)
    country = serializers.CharField(required=False)
    website = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False)
    requires_encryption = serializers.BooleanField(
        required=False,
        help_text="Never send plaintext mail: contacts without a usable OpenPGP key get none.",
    )


class ReasonSerializer(StrictInputSerializer):
    reason = serializers.CharField(help_text="Why; the organization's admins see it.")


class ContactSerializer(serializers.ModelSerializer[Membership]):
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    email_verified_at = serializers.DateTimeField(
        source="user.email_verified_at", read_only=True, allow_null=True
    )

    class Meta:
        model = Membership
        fields = (
            "id",
            "email",
            "full_name",
            "role",
            "contact_role",
            "email_verified_at",
            "created_at",
        )
        read_only_fields = fields


class ContactUpdateSerializer(StrictInputSerializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False)
    contact_role = serializers.ChoiceField(
        choices=Membership.ContactRole.choices, required=False, allow_blank=True
    )


class InvitationSerializer(serializers.ModelSerializer[Invitation]):
    state = serializers.SerializerMethodField()
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, default=None)

    class Meta:
        model = Invitation
        fields = (
            "id",
            "email",
            "role",
            "contact_role",
            "state",
            "invited_by",
            "created_at",
            "expires_at",
        )
        read_only_fields = fields

    def get_state(self, invitation: Invitation) -> str:
        return contacts.invitation_state(invitation)


class InvitationCreateSerializer(StrictInputSerializer):
    email = serializers.CharField(help_text="The address to invite; the link goes there.")
    role = serializers.ChoiceField(
        choices=Membership.Role.choices, required=False, default=Membership.Role.MEMBER
    )
    contact_role = serializers.ChoiceField(
        choices=Membership.ContactRole.choices, required=False, allow_blank=True, default=""
    )


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    category = serializers.CharField(source="category.key", read_only=True)
    category_label = serializers.CharField(source="category.label", read_only=True)

    class Meta:
        model = Subscription
        fields = ("id", "category", "category_label", "min_risk_level", "created_at")
        read_only_fields = fields


class SubscriptionCreateSerializer(StrictInputSerializer):
    category = serializers.CharField(
        help_text="A capability category as '<taxonomy>:<code>' (GET /api/taxonomies/)."
    )
    min_risk_level = serializers.ChoiceField(
        choices=Finding.RiskLevel.choices, required=False, default=Finding.RiskLevel.MEDIUM
    )
