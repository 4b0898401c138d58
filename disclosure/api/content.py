"""What a finding records, as the API shows and takes it: category, TLP, evidence, credits,
revisions. The finding serializers in serializers.py are built from these pieces.

Input shapes here document the API (OpenAPI); the services validate the values themselves, so
that the API, the pages and seed data are held to the same rules and give the same messages.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import policies, selectors_content
from ..models import (
    CapabilityCategory,
    Credit,
    Evaluation,
    Finding,
    FindingRecipient,
    FindingRevision,
    Mitigation,
    Taxonomy,
)
from ..selectors_publication import advisory_updates_prefetch
from ..services.revisions import CONTENT_FIELDS, EVALUATION_FIELDS, MITIGATION_FIELDS

PUBLIC = "Public: shown before release to everyone who may see the finding."
EMBARGOED = (
    "Embargoed: only the lab, the coordinators and the notified defenders see it until release."
)


def visibility(name: str) -> str:
    """Whether a finding field is public before release or embargoed, for the schema."""
    if name in Finding.PUBLIC_FIELDS:
        return PUBLIC
    if name in Finding.EMBARGOED_FIELDS or name in Finding.EMBARGOED_RELATIONS:
        return EMBARGOED
    return ""


def described(name: str, text: str) -> str:
    """A field's description followed by whether it is public or embargoed."""
    return f"{text} {visibility(name)}".strip()


def visibility_kwargs() -> dict[str, dict[str, str]]:
    """ModelSerializer ``extra_kwargs`` describing each plain finding field and its visibility."""
    kwargs = {}
    for name in (*Finding.PUBLIC_FIELDS, *Finding.EMBARGOED_FIELDS):
        field = Finding._meta.get_field(name)
        if not field.is_relation:
            kwargs[name] = {"help_text": described(name, str(getattr(field, "help_text", "")))}
    return kwargs


def surfaces_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=Finding.Surface.choices), read_only=True, **kwargs
    )


def tlp_label(finding: Finding) -> str:
    """The label in force: the finding's own until release, TLP:CLEAR once it is public."""
    if finding.is_public:
        return Finding.Tlp.CLEAR.label
    return str(Finding.Tlp(finding.tlp).label)


def person_name(user: Any) -> str:
    """How a credit names someone: their name, never their email address."""
    return (getattr(user, "full_name", "") or "").strip() or "(name not given)"


# --- Output.


class TaxonomyRefSerializer(serializers.ModelSerializer[Taxonomy]):
    class Meta:
        model = Taxonomy
        fields = ("slug", "framework", "version")
        read_only_fields = fields


class CategorySerializer(serializers.ModelSerializer[CapabilityCategory]):
    key = serializers.CharField(
        read_only=True, help_text="'<taxonomy>:<code>': what to send as a finding's category."
    )
    taxonomy = TaxonomyRefSerializer(read_only=True)

    class Meta:
        model = CapabilityCategory
        fields = ("key", "label", "taxonomy")
        read_only_fields = fields


class EvaluationSerializer(serializers.ModelSerializer[Evaluation]):
    modifications = serializers.ListField(
        child=serializers.ChoiceField(choices=Evaluation.Modification.choices),
        read_only=True,
        help_text="Modification testing done.",
    )

    class Meta:
        model = Evaluation
        fields = EVALUATION_FIELDS
        read_only_fields = fields


class MitigationSerializer(serializers.ModelSerializer[Mitigation]):
    class Meta:
        model = Mitigation
        fields = MITIGATION_FIELDS
        read_only_fields = fields


class CreditSerializer(serializers.ModelSerializer[Credit]):
    name = serializers.SerializerMethodField(help_text="The person's name (never their email).")

    class Meta:
        model = Credit
        fields: tuple[str, ...] = ("id", "name", "type", "status", "created_at", "answered_at")
        read_only_fields: tuple[str, ...] = fields

    def get_name(self, credit: Credit) -> str:
        return person_name(credit.user)


class PublicCreditSerializer(CreditSerializer):
    """A credit as a public advisory shows it: an accepted one, by name and type."""

    class Meta(CreditSerializer.Meta):
        fields = ("name", "type")
        read_only_fields = fields


class FieldDiffSerializer(serializers.Serializer[Any]):
    field = serializers.ChoiceField(choices=CONTENT_FIELDS, read_only=True)
    diff = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Unified diff lines of the old and new value ('-' removed, '+' added).",
    )


class ChangesSinceSerializer(serializers.Serializer[Any]):
    since = serializers.IntegerField(read_only=True, help_text="The revision you were told of.")
    current = serializers.IntegerField(read_only=True, help_text="The current revision.")
    diff = FieldDiffSerializer(many=True, read_only=True, help_text="Empty if nothing changed.")


class RevisionSerializer(serializers.ModelSerializer[FindingRevision]):
    author = serializers.SerializerMethodField(help_text="Who made the edit, by name.")
    changed_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=CONTENT_FIELDS), read_only=True
    )

    class Meta:
        model = FindingRevision
        fields: tuple[str, ...] = ("number", "author", "created_at", "changed_fields")
        read_only_fields: tuple[str, ...] = fields

    def get_author(self, revision: FindingRevision) -> str:
        return person_name(revision.author)


class RevisionDetailSerializer(RevisionSerializer):
    content = serializers.JSONField(
        read_only=True, help_text="The finding's content as it was after this edit."
    )
    diff = serializers.SerializerMethodField(help_text="What changed against the revision before.")

    class Meta(RevisionSerializer.Meta):
        fields = (*RevisionSerializer.Meta.fields, "content", "diff")
        read_only_fields = fields

    @extend_schema_field(FieldDiffSerializer(many=True))
    def get_diff(self, revision: FindingRevision) -> list[dict[str, Any]]:
        return list(self.context.get("diff", []))


# --- Input shapes (documentation; the services check the values).


class EvaluationInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    method = serializers.CharField()
    checkpoint = serializers.ChoiceField(choices=Evaluation.Checkpoint.choices)
    modifications = serializers.ListField(
        child=serializers.ChoiceField(choices=Evaluation.Modification.choices),
        required=False,
        help_text="Modification testing done; 'none' excludes the others.",
    )
    metric = serializers.CharField()
    result = serializers.CharField()
    baseline = serializers.CharField(required=False, allow_blank=True)
    uplift = serializers.CharField(required=False, allow_blank=True, help_text="Measured uplift.")
    evaluated_on = serializers.DateField()


class MitigationInputSerializer(serializers.Serializer[Any]):
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=Mitigation.Status.choices)


@extend_schema_field(EvaluationInputSerializer(many=True))
class EvaluationListField(serializers.ListField):
    """A list of objects; intake checks each evaluation and names the bad one."""

    child = serializers.DictField()


@extend_schema_field(MitigationInputSerializer(many=True))
class MitigationListField(serializers.ListField):
    child = serializers.DictField()


# --- The content part of a finding's detail, for the user reading it.


def detail_context(user: Any, finding: Finding, recipients: list[FindingRecipient]) -> dict:
    """Context for FindingDetailSerializer's content fields; call only if the user may view."""
    selectors_content.content_prefetch(finding)
    notified = selectors_content.notified_revision_for(user, recipients)
    current = selectors_content.revision_current(finding)
    return {
        "credits": list(selectors_content.credits_visible_to(user, finding)),
        "revision": current.number if current else None,
        "notified_revision": notified,
        "changes_since_notified": selectors_content.changes_since(finding, notified, current),
        "may_manage_credits": policies.can_manage_credits(user, finding),
    }


def advisory_prefetches() -> list[Any]:
    """What an advisory shows besides the finding row: a query each, whatever the count."""
    accepted = Credit.objects.filter(status=Credit.Status.ACCEPTED).select_related("user")
    return [
        "affected_sectors",
        "evaluations",
        "mitigations",
        Prefetch("credits", queryset=accepted, to_attr="accepted_credits"),
        advisory_updates_prefetch(),  # its public revision history
    ]


def accepted_credits(finding: Finding) -> list[Credit]:
    """The accepted credits, prefetched by advisory_prefetches or read now."""
    prefetched = getattr(finding, "accepted_credits", None)
    if prefetched is not None:
        return list(prefetched)
    return list(selectors_content.credits_public(finding))
