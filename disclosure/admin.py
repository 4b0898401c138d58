from django.contrib import admin

from .models import AuditEvent, Delivery, Finding, FindingRecipient, ReferenceCounter


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
