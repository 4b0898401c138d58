"""Account pages: the user's API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from disclosure.errors import ApplicationError
from disclosure.forms import form_add_application_error

from .access import mfa_required, reauth_required
from .forms import ApiTokenCreateForm
from .models import ApiToken, User
from .tokens import api_token_create, api_token_revoke


class AuthenticatedRequest(HttpRequest):
    user: User  # login_required guarantees it


@never_cache
@login_required
@mfa_required  # a token is a factor of its own: only a session that passed MFA makes one
@reauth_required
@require_http_methods(["GET", "POST"])
def tokens(request: AuthenticatedRequest) -> HttpResponse:
    """List the user's tokens; a POST creates one and shows its raw value in this response only."""
    raw_token = None
    status = 200
    if request.method == "POST":
        form = ApiTokenCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                token, raw_token = api_token_create(
                    user=request.user,
                    name=data["name"],
                    scopes=data["access"],
                    expires_in_days=data["expires_in_days"],
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, f"Token “{token.name}” created. Copy it now.")
                form = ApiTokenCreateForm()
        else:
            status = 400
    else:
        form = ApiTokenCreateForm()
    context = {
        "form": form,
        "raw_token": raw_token,
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id"),
        "now": timezone.now(),
    }
    return render(request, "accounts/tokens.html", context, status=status)


@never_cache
@login_required
@require_POST
def token_revoke(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    # Only the user's own tokens: anyone else's is "not found", like one that does not exist.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) is revoked.")
    return redirect("tokens")
