from django.contrib.auth import views as auth_views
from django.urls import path
from django_otp_webauthn.models import WebAuthnCredential

from . import views, views_account, views_mfa, views_openpgp, views_webauthn
from . import views_registry as registry

urlpatterns = [
    path("login/", views_mfa.LoginView.as_view(), name="login"),
    path("login/verify/", views_mfa.mfa_verify, name="mfa-verify"),
    path(
        "login/verify/key/",
        views_webauthn.key_verify,
        {"step": "login"},
        name="mfa-verify-key",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Two-factor authentication and re-authentication (accounts.views_mfa).
    path("account/security/", views_mfa.account_security, name="account-security"),
    path("account/security/setup/", views_mfa.mfa_setup, name="mfa-setup"),
    path("account/security/setup/qr.svg", views_mfa.mfa_setup_qr, name="mfa-setup-qr"),
    path(
        "account/security/recovery-codes/",
        views_mfa.recovery_codes_new,
        name="mfa-recovery-codes",
    ),
    path(
        "account/security/devices/<int:pk>/remove/",
        views_mfa.mfa_device_remove,
        name="mfa-device-remove",
    ),
    path("account/security/keys/add/", views_webauthn.mfa_key_add, name="mfa-key-add"),
    path(
        "account/security/keys/<int:pk>/remove/",
        views_mfa.mfa_device_remove,
        {"model": WebAuthnCredential},
        name="mfa-key-remove",
    ),
    path("account/reauthenticate/", views_mfa.reauthenticate, name="reauthenticate"),
    path(
        "account/reauthenticate/key/",
        views_webauthn.key_verify,
        {"step": "reauth"},
        name="reauthenticate-key",
    ),
    path("account/", views_account.account, name="account"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("account/openpgp-key/", views_openpgp.openpgp_key, name="account-openpgp-key"),
    path(
        "account/openpgp-key/remove/",
        views_openpgp.openpgp_key_delete,
        name="account-openpgp-key-remove",
    ),
    # The defender registry.
    path("apply/", registry.apply, name="apply"),
    path("apply/done/", registry.apply_done, name="apply-done"),
    path("invitations/<str:token>/", registry.invitation_accept, name="invitation-accept"),
    path("organization/", registry.my_organization, name="my-organization"),
    path("organizations/", registry.organization_review, name="organization-review"),
    path("organizations/<slug:slug>/", registry.organization_detail, name="organization-detail"),
    path(
        "organizations/<slug:slug>/profile/",
        registry.organization_profile,
        name="organization-profile",
    ),
    *(
        path(
            f"organizations/<slug:slug>/{decision}/",
            registry.organization_decide,
            {"decision": decision},
            name=f"organization-{decision}",
        )
        for decision in ("verify", "reject", "suspend")
    ),
    path(
        "organizations/<slug:slug>/invitations/",
        registry.invitation_create,
        name="organization-invite",
    ),
    path(
        "organizations/<slug:slug>/invitations/<int:pk>/revoke/",
        registry.invitation_revoke,
        name="organization-invitation-revoke",
    ),
    path(
        "organizations/<slug:slug>/invitations/<int:pk>/resend/",
        registry.invitation_resend,
        name="organization-invitation-resend",
    ),
    path(
        "organizations/<slug:slug>/contacts/<int:pk>/",
        registry.contact_update,
        name="organization-contact-update",
    ),
    path(
        "organizations/<slug:slug>/contacts/<int:pk>/remove/",
        registry.contact_remove,
        name="organization-contact-remove",
    ),
    path(
        "organizations/<slug:slug>/subscriptions/",
        registry.subscription_add,
        name="organization-subscription-add",
    ),
    path(
        "organizations/<slug:slug>/subscriptions/<int:pk>/remove/",
        registry.subscription_remove,
        name="organization-subscription-remove",
    ),
]
