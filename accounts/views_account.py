"""The account page: who you are, your time zone, and links to your tokens, key and security."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from disclosure.errors import ApplicationError
from disclosure.forms import form_add_application_error, time_zone_field
from disclosure.timezones import UTC_NAME, zone_names

from .models import User
from .profile import user_time_zone_set


class TimeZoneForm(forms.Form):
    time_zone = time_zone_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].help_text = (
            "Times are shown in UTC and in this zone, e.g. “2026-12-01 12:00 UTC (13:00 "
            "Europe/Berlin)”. An IANA name; empty or UTC: UTC only."
        )


class AuthenticatedRequest(HttpRequest):
    user: User  # login_required guarantees it


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    status = 200
    if request.method == "POST":
        form = TimeZoneForm(request.POST)
        if form.is_valid():
            try:
                user_time_zone_set(actor=user, user=user, time_zone=form.cleaned_data["time_zone"])
            except ApplicationError as exc:
                form_add_application_error(form, exc)
                status = exc.status_code
            else:
                shown = f"UTC and {user.time_zone}" if user.time_zone else "UTC only"
                messages.success(request, f"Times are now shown in {shown}.")
                return redirect("account")
        else:
            status = 400
    else:
        form = TimeZoneForm(initial={"time_zone": user.time_zone or UTC_NAME})
    context = {"form": form, "zones": zone_names(), "now_utc": timezone.now()}
    return render(request, "accounts/account.html", context, status=status)
