"""Account page: the user's OpenPGP key, to which their email is encrypted."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from disclosure.errors import ApplicationError
from disclosure.services.channels.site_key import site_key

from .access import mfa_required, reauth_required
from .forms import OpenPGPKeyForm
from .models import Membership, OpenPGPKey
from .openpgp import (
    fingerprint_display,
    openpgp_key_remove,
    openpgp_key_set,
    openpgp_key_usable,
)
from .views import AuthenticatedRequest


def _site_fingerprint() -> str:
    try:
        return fingerprint_display(site_key().fingerprint)
    except (ImproperlyConfigured, OSError):
        return ""  # the system check reports it; the page still works


@never_cache
@login_required
@mfa_required
@reauth_required
@require_http_methods(["GET", "POST"])
def openpgp_key(request: AuthenticatedRequest) -> HttpResponse:
    """Show the user's key; a POST uploads or replaces it."""
    status = 200
    form = OpenPGPKeyForm()
    if request.method == "POST":
        form = OpenPGPKeyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                saved, notes = openpgp_key_set(
                    actor=request.user, user=request.user, armored=form.key_text()
                )
            except ApplicationError as exc:
                detail = exc.detail if isinstance(exc.detail, dict) else {"armored": exc.detail}
                # Not echoed back: what was pasted may have been a secret key.
                form = OpenPGPKeyForm({"armored": ""})
                form.is_valid()
                for message in detail.values():
                    form.add_error("armored", str(message))
                status = exc.status_code
            else:
                messages.success(
                    request,
                    f"Key {fingerprint_display(saved.fingerprint)} saved: email to you is now "
                    "encrypted to it.",
                )
                for note in notes:
                    messages.warning(request, note)
                return redirect("account-openpgp-key")
        else:
            status = 400
    key = OpenPGPKey.objects.filter(user=request.user).first()
    context = {
        "form": form,
        "key": key,
        "fingerprint": fingerprint_display(key.fingerprint) if key else "",
        "user_ids": key.user_ids.splitlines() if key else [],
        "usable": openpgp_key_usable(key, now=timezone.now()),
        "requiring": list(
            Membership.objects.filter(user=request.user, organization__requires_encryption=True)
            .order_by("organization__name")
            .values_list("organization__name", flat=True)
        ),
        "site_fingerprint": _site_fingerprint(),
    }
    return render(request, "accounts/openpgp_key.html", context, status=status)


@never_cache
@login_required
@mfa_required
@reauth_required
@require_POST
def openpgp_key_delete(request: AuthenticatedRequest) -> HttpResponse:
    if not openpgp_key_remove(actor=request.user, user=request.user):
        messages.info(request, "You had no OpenPGP key.")
        return redirect("account-openpgp-key")
    messages.success(request, "Your OpenPGP key is removed.")
    requiring = Membership.objects.filter(
        user=request.user, organization__requires_encryption=True
    ).values_list("organization__name", flat=True)
    if requiring:
        messages.warning(
            request,
            f"{', '.join(sorted(requiring))} requires encrypted email: until you upload a key, "
            "you receive no email from Forewarn about its findings (only the in-app inbox).",
        )
    else:
        messages.info(request, "Email to you is sent unencrypted from now on.")
    return redirect("account-openpgp-key")
