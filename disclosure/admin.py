from django.contrib import admin

from .models import (
    Attachment,
    AuditEvent,
    CalendarFeed,
    CapabilityCategory,
    Comment,
    Credit,
    Delivery,
    Embargo,
    EmbargoEvent,
    Evaluation,
    ExtensionRequest,
    Finding,
    FindingRecipient,
    FindingRevision,
    Mitigation,
    ReferenceCounter,
    ReleaseStage,
    Sector,
    Subscription,
    Taxonomy,
    Thread,
    WebhookEndpoint,
)


class FindingRecipientInline(admin.TabularInline):
    model = FindingRecipient
    extra = 0
    readonly_fields = ("added_by", "added_at", "acknowledged_at", "acknowledged_by")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changes go through the services, which check policy and write the audit trail."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    """Operations view only: embargoed fields are never shown here (their reads go unaudited)."""

    exclude = Finding.EMBARGOED_FIELDS

    list_display = ("reference", "title", "developer", "state", "risk_level", "embargo_ends_at")
    list_filter = ("state", "risk_level", "category")
    search_fields = ("reference", "title", "model_name")
    inlines = (FindingRecipientInline,)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("finding", "event", "recipient", "channel", "state", "attempts", "sent_at")
    list_filter = ("state", "event", "channel")
    search_fields = ("finding__reference", "recipient__email")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor", "finding", "from_state", "to_state")
    list_filter = ("action",)
    search_fields = ("finding__reference", "actor__email", "action")


@admin.register(FindingRecipient)
class FindingRecipientAdmin(ReadOnlyAdmin):
    list_display = ("finding", "organization", "added_at", "acknowledged_at")


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(ReadOnlyAdmin):
    list_display = ("year", "last_number")


# Content models: listed for operations, their embargoed text is never shown here.
@admin.register(Taxonomy)
class TaxonomyAdmin(ReadOnlyAdmin):
    list_display = ("framework", "version", "slug", "created_by")


@admin.register(CapabilityCategory)
class CapabilityCategoryAdmin(ReadOnlyAdmin):
    list_display = ("label", "code", "taxonomy", "kind")
    list_filter = ("taxonomy",)


@admin.register(Sector)
class SectorAdmin(ReadOnlyAdmin):
    list_display = ("name", "slug")


# Evaluations and mitigations are embargoed whole (and encrypted at rest): only their place.
@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ("finding", "position")
    fields = ("finding", "position")


@admin.register(Mitigation)
class MitigationAdmin(ReadOnlyAdmin):
    list_display = ("finding", "position")
    fields = ("finding", "position")


@admin.register(Credit)
class CreditAdmin(ReadOnlyAdmin):
    list_display = ("finding", "user", "type", "status")


@admin.register(FindingRevision)
class FindingRevisionAdmin(ReadOnlyAdmin):
    list_display = ("finding", "number", "author", "created_at")
    fields = ("finding", "number", "author", "changed_fields")


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("finding", "content_type", "size", "uploaded_by", "created_at")
    fields = ("finding", "content_type", "size", "sha256", "uploaded_by")


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ("finding", "scope", "organization", "created_by", "created_at")
    fields = ("finding", "scope", "organization", "created_by")


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("thread", "author", "created_at")
    fields = ("thread", "author")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("organization", "category", "min_risk_level")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("url", "organization", "created_at", "disabled_at")
    # Signing secrets are never shown here; they are shown once to the organization's admin.
    exclude = ("secret", "previous_secret")


@admin.register(Embargo)
class EmbargoAdmin(ReadOnlyAdmin):
    list_display = ("finding", "state", "ends_at", "end_kind")


@admin.register(EmbargoEvent)
class EmbargoEventAdmin(ReadOnlyAdmin):
    list_display = ("embargo", "kind", "actor", "at", "new_ends_at")


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    list_display = ("embargo", "organization", "requested_ends_at", "state")


@admin.register(ReleaseStage)
class ReleaseStageAdmin(ReadOnlyAdmin):
    list_display = ("finding", "position", "audience", "tlp", "scheduled_at", "fired_at")


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdmin):
    list_display = ("organization", "prefix", "created_at", "revoked_at")
    exclude = ("token_hash",)
