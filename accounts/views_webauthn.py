"""Security keys (WebAuthn): adding one, and using one at the second step of logging in or to
confirm it is you. (Keys are listed and removed with the other devices: views_mfa.)

A page carries the options for the browser in its form (data-webauthn-options); the static
script static/js/webauthn.js asks the key and sends its answer with the form, which is posted
as any other (CSRF token, rate limits in RATE_LIMITED_POSTS). Adding a key needs what adding an
authenticator app needs: a session that passed MFA if the user has a device already, and a
fresh password or code.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from disclosure.errors import ValidationFailed
from disclosure.forms import form_add_application_error

from . import mfa, webauthn
from .access import reauth_challenge
from .forms_mfa import KeyAddForm, KeyAnswerForm
from .views import AuthenticatedRequest
from .views_mfa import next_url, reauth_page, redirect_via, verify_page


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_key_add(request: AuthenticatedRequest) -> HttpResponse:
    """Name a new security key, touch it, and it is added (with recovery codes, if the user
    had none)."""
    after = next_url(request, "account-security")
    if mfa.user_has_mfa(request.user) and not mfa.mfa_verified(request):
        return redirect_via("mfa-verify", request.get_full_path())
    if challenge := reauth_challenge(request):
        return challenge
    form = KeyAddForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                key, codes = webauthn.key_register(
                    actor=request.user,
                    request=request,
                    name=form.cleaned_data["name"],
                    credential=form.cleaned_data["credential"],
                )
            except ValidationFailed as exc:
                form_add_application_error(form, exc)
            else:
                mfa.session_mfa_mark(request, key)
                messages.success(request, f"Security key “{key.name}” is added.")
                if codes:
                    shown = {"codes": codes, "next": after}
                    return render(request, "accounts/recovery_codes.html", shown)
                return redirect(after)
    context = {
        "form": form,
        "options": webauthn.key_registration_options(request),
        "next": after,
        "first": not mfa.user_has_mfa(request.user),
    }
    return render(request, "accounts/mfa_key_add.html", context, status=status)


@never_cache
@login_required
@require_POST
def key_verify(request: AuthenticatedRequest, step: str) -> HttpResponse:
    """A security key's answer, at the second step of logging in (``step="login"``) or to
    confirm it is you (``"reauth"``); a refused answer shows that page again, with a 400."""
    after = next_url(request)
    if step == "login" and mfa.mfa_verified(request):
        return redirect(after)
    form = KeyAnswerForm(request.POST)
    form.is_valid()  # nothing is required: the service names what is missing
    try:
        key = webauthn.key_verify(
            request=request,
            user=request.user,
            credential=form.cleaned_data.get("credential", ""),
            step=step,
        )
    except ValidationFailed as exc:
        form_add_application_error(form, exc)
        if step == "login":
            return verify_page(request, after=after, key_form=form, status=400)
        has_mfa = mfa.user_has_mfa(request.user)
        return reauth_page(request, after=after, key_form=form, has_mfa=has_mfa, status=400)
    mfa.session_mfa_mark(request, key)
    return redirect(after)
