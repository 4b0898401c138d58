from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django_otp.plugins.otp_totp import admin as otp_totp_admin  # noqa: F401 (registers)
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.admin import WebAuthnCredentialAdmin
from django_otp_webauthn.models import WebAuthnCredential

from .models import (
    ApiToken,
    Invitation,
    Membership,
    OpenPGPKey,
    Organization,
    SealedTOTPDevice,
    User,
    UserSession,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("organization",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff")
    search_fields = ("email", "full_name")
    inlines = (MembershipInline,)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "sector")
    list_filter = ("kind",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role")
    list_filter = ("role", "organization__kind")
    autocomplete_fields = ("user", "organization")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "user",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
    search_fields = ("user__email", "name")

    def has_add_permission(self, request):  # tokens are made where the raw value can be shown
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "role", "created_at", "accepted_at", "revoked_at")
    search_fields = ("email", "organization__name")
    readonly_fields = ("token_hash",)

    def has_add_permission(self, request):  # invitations are sent by the registry service
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OpenPGPKey)
class OpenPGPKeyAdmin(admin.ModelAdmin):
    list_display = ("user", "fingerprint", "expires_at", "updated_at")
    search_fields = ("user__email", "fingerprint")

    def has_add_permission(self, request):  # keys are validated by the upload service
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    """Who is logged in where; ending sessions is offboarding's job (accounts.offboarding)."""

    list_display = ("user", "created_at", "ip_address", "user_agent")
    search_fields = ("user__email", "ip_address")
    readonly_fields = ("user", "session_key", "created_at", "ip_address", "user_agent")

    def has_add_permission(self, request):  # written at login
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Security keys: django-otp-webauthn ships the admin but leaves registering it to the project.
# Keys cannot be added here (only a browser can make one); unticking "confirmed" disables one.
admin.site.register(WebAuthnCredential, WebAuthnCredentialAdmin)

# django-otp's admin for authenticator apps shows and edits TOTPDevice.key as a hex secret, and
# its QR code would decode the key as hex: here the column holds a token of the secret
# (accounts.totp_keys), so that admin is taken away (importing it first registers it whatever
# the order of INSTALLED_APPS). Users add and remove authenticators under Security; staff see
# who has one, never the secret.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(SealedTOTPDevice)
class SealedTOTPDeviceAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__email",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request):  # only the user's own app can be enrolled
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):  # removal is the user's, re-authenticated
        return False
