from django.contrib import admin

from .models import AuditEvent, Delivery, Finding, FindingRecipient, ReferenceCounter


class FindingRecipientInline(admin.TabularInline):
    model = FindingRecipient
    extra = 0
    readonly_fields = ("added_by", "added_at", "acknowledged_at", "acknowledged_by")


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    """Read-mostly: state changes go through the services, so they are audited."""

    list_display = ("reference", "title", "developer", "state", "risk_level", "embargo_ends_at")
    list_filter = ("state", "risk_level", "category")
    search_fields = ("reference", "title", "model_name")
    readonly_fields = (
        "reference",
        "state",
        "embargo_ends_at",
        "submitted_at",
        "accepted_at",
        "released_at",
        "created_at",
        "updated_at",
    )
    inlines = (FindingRecipientInline,)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("finding", "event", "recipient", "channel", "state", "attempts", "sent_at")
    list_filter = ("state", "event", "channel")
    search_fields = ("finding__reference", "recipient__email")
    readonly_fields = [f.name for f in Delivery._meta.fields]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "actor", "finding", "from_state", "to_state")
    list_filter = ("action",)
    search_fields = ("finding__reference", "actor__email", "action")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(FindingRecipient)
class FindingRecipientAdmin(admin.ModelAdmin):
    list_display = ("finding", "organization", "added_at", "acknowledged_at")


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(admin.ModelAdmin):
    list_display = ("year", "last_number")
