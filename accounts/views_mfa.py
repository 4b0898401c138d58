"""Login with a second step, MFA enrolment and devices, and re-authentication.

/login/ checks the password (django-axes counts the failures); a user with an authenticator
then gives a code (or uses a security key: accounts.views_webauthn) at /login/verify/ before
anything else opens. /account/security/ lists the user's authenticators, security keys and
recovery codes; adding an authenticator shows a QR code (an SVG served by its own
view, for the CSP) and the secret, and is confirmed with a code. Adding and removing devices
and new recovery codes need a fresh password or code (/account/reauthenticate/).
"""

from __future__ import annotations

from base64 import b32encode
from typing import Any
from urllib.parse import urlencode, urlsplit

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp_webauthn.models import WebAuthnCredential

from disclosure.errors import ValidationFailed
from disclosure.forms import form_add_application_error
from disclosure.services.audit import audit_record

from . import mfa, webauthn
from .access import mfa_required, reauth_challenge, reauth_required
from .forms import EmailAuthenticationForm
from .forms_mfa import CodeForm, KeyAnswerForm, ReauthForm, SetupCodeForm
from .middleware import mfa_owed
from .models import SealedTOTPDevice
from .views import AuthenticatedRequest


def next_url(request: HttpRequest, default: str = "home") -> str:
    """The page to go on to: a safe ?next= (or posted next), else ``default``.

    Only a URL of this site with an absolute path: redirect() would take a bare word for a URL
    pattern's name and fail (a 500) when there is none."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if urlsplit(wanted).path.startswith("/") and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return resolve_url(default)


def redirect_via(name: str, after: str) -> HttpResponse:
    """To the page ``name``, which comes back to ``after``."""
    return redirect(f"{reverse(name)}?{urlencode({'next': after})}")


class LoginView(auth_views.LoginView):
    """The password step; then the code (or enrolment, for coordinators) before anything else."""

    authentication_form = EmailAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        owed = mfa_owed(self.request)
        if owed is not None:
            return redirect_via(owed, self.get_success_url())
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        """The form again with what is wrong, as a 400 (as every refused form here is)."""
        response = super().form_invalid(form)
        response.status_code = 400
        return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: AuthenticatedRequest) -> HttpResponse:
    """The second step of logging in: a code from the authenticator app, or a recovery code.
    (A security key's answer goes to views_webauthn.key_verify.)"""
    after = next_url(request)
    if mfa.mfa_verified(request):
        return redirect(after)
    if not mfa.user_has_mfa(request.user):
        return redirect_via("mfa-setup", after) if mfa_owed(request) else redirect(after)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                device = mfa.mfa_verify(user=request.user, token=form.cleaned_data["token"])
            except ValidationFailed as exc:
                form_add_application_error(form, exc)
            else:
                mfa.session_mfa_mark(request, device)
                if not isinstance(device, SealedTOTPDevice):
                    left = mfa.recovery_codes_remaining(request.user)
                    messages.warning(
                        request,
                        f"You used a recovery code; {left} left. If you lost your authenticator, "
                        "set up a new one and remove the old one under Security.",
                    )
                return redirect(after)
    return verify_page(request, after=after, form=form, status=status)


def verify_page(
    request: AuthenticatedRequest,
    *,
    after: str,
    form: CodeForm | None = None,
    key_form: KeyAnswerForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The second step's page: a security key (if the user has one) or a code."""
    form = form or CodeForm()
    key_options = webauthn.key_verification_options(request)
    if key_options:
        form.fields["token"].widget.attrs.pop("autofocus", None)  # the key comes first
    context = {
        "form": form,
        "key_form": key_form or KeyAnswerForm(),
        "key_options": key_options,
        "next": after,
    }
    return render(request, "accounts/mfa_verify.html", context, status=status)


def _secret_display(device: SealedTOTPDevice) -> str:
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup(request: AuthenticatedRequest) -> HttpResponse:
    """Add an authenticator app: scan the QR code (or type the secret), confirm with a code."""
    after = next_url(request, "account-security")
    if mfa.user_has_mfa(request.user) and not mfa.mfa_verified(request):
        # No new device on a password alone.
        return redirect_via("mfa-verify", request.get_full_path())
    if challenge := reauth_challenge(request):
        return challenge
    device = mfa.totp_device_pending(user=request.user)
    form = SetupCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                codes = mfa.totp_device_confirm(
                    actor=request.user, device=device, token=form.cleaned_data["token"]
                )
            except ValidationFailed as exc:
                form_add_application_error(form, exc)
            else:
                mfa.session_mfa_mark(request, device)
                messages.success(request, "Two-factor authentication is on.")
                if codes:
                    shown = {"codes": codes, "next": after}
                    return render(request, "accounts/recovery_codes.html", shown)
                return redirect(after)
    context: dict[str, Any] = {
        "form": form,
        "secret": _secret_display(device),
        "next": after,
        "first": not mfa.user_has_mfa(request.user),
    }
    return render(request, "accounts/mfa_setup.html", context, status=status)


@never_cache
@login_required
@require_GET
def mfa_setup_qr(request: AuthenticatedRequest) -> HttpResponseBase:
    """The QR code of the authenticator being set up, as an SVG image (no inline data: CSP)."""
    if mfa.user_has_mfa(request.user) and not mfa.mfa_verified(request):
        raise Http404("Nothing to show.")
    device = mfa.totp_device_pending_get(user=request.user)
    if device is None:
        raise Http404("No authenticator is being set up.")
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    response = HttpResponse(image.to_string(), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@never_cache
@login_required
@require_GET
def account_security(request: AuthenticatedRequest) -> HttpResponse:
    """The user's authenticators, security keys and recovery codes, with the actions on them."""
    devices = SealedTOTPDevice.objects.filter(user=request.user, confirmed=True)
    devices = devices.order_by("created_at")
    keys = webauthn.keys_of(request.user).order_by("created_at")
    context = {
        "devices": list(devices),
        "keys": list(keys),
        "recovery_left": mfa.recovery_codes_remaining(request.user),
        "verified": mfa.mfa_verified(request),
    }
    return render(request, "accounts/account_security.html", context)


@never_cache
@login_required
@mfa_required
@reauth_required
@require_POST
def recovery_codes_new(request: AuthenticatedRequest) -> HttpResponse:
    try:
        codes = mfa.recovery_codes_regenerate(actor=request.user)
    except ValidationFailed as exc:
        messages.error(request, str(exc.detail))
        return redirect("account-security")
    messages.success(request, "New recovery codes: the old ones no longer work.")
    context = {"codes": codes, "next": reverse("account-security")}
    return render(request, "accounts/recovery_codes.html", context)


@never_cache
@login_required
@mfa_required
@reauth_required
@require_POST
def mfa_device_remove(
    request: AuthenticatedRequest,
    pk: int,
    model: type[SealedTOTPDevice | WebAuthnCredential] = SealedTOTPDevice,
) -> HttpResponse:
    """Remove an authenticator app, or a security key (``model``, given by the URL)."""
    device = get_object_or_404(model, pk=pk, user=request.user, confirmed=True)
    still = mfa.mfa_device_remove(actor=request.user, device=device)
    if still:
        messages.success(request, f"“{device.name}” is removed.")
    else:
        mfa.session_mfa_clear(request)
        messages.warning(
            request,
            f"“{device.name}” is removed, and with it your recovery codes: two-factor "
            "authentication is off. Embargoed details need it on again.",
        )
    return redirect("account-security")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reauthenticate(request: AuthenticatedRequest) -> HttpResponse:
    """Confirm it is you (password or code) before a sensitive change."""
    after = next_url(request)
    form = ReauthForm(request.POST or None)
    has_mfa = mfa.user_has_mfa(request.user)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            token = form.cleaned_data.get("token") if has_mfa else ""
            password = form.cleaned_data.get("password")
            if token:
                try:
                    device = mfa.mfa_verify(user=request.user, token=token, step="reauth")
                except ValidationFailed as exc:
                    form_add_application_error(form, exc)
                else:
                    mfa.session_mfa_mark(request, device)
                    return redirect(after)
            elif password:
                user = authenticate(request, username=request.user.email, password=password)
                if user is not None and user.pk == request.user.pk:
                    mfa.reauth_mark(request)
                    audit_record(
                        actor=request.user,
                        action="auth.reauthenticated",
                        data={"method": "password"},
                    )
                    return redirect(after)
                form.add_error("password", "That password is not right.")
            else:
                form.add_error(None, "Give your password.")
    return reauth_page(request, after=after, form=form, has_mfa=has_mfa, status=status)


def reauth_page(
    request: AuthenticatedRequest,
    *,
    after: str,
    form: ReauthForm | None = None,
    key_form: KeyAnswerForm | None = None,
    has_mfa: bool,
    status: int = 200,
) -> HttpResponse:
    """Confirm it is you: a password, a code, or a security key (if the user has one)."""
    context = {
        "form": form or ReauthForm(),
        "key_form": key_form or KeyAnswerForm(),
        "key_options": webauthn.key_verification_options(request) if has_mfa else None,
        "next": after,
        "has_mfa": has_mfa,
    }
    return render(request, "accounts/reauthenticate.html", context, status=status)
