"""Gates on views: `mfa_required` (this session passed MFA) and `reauth_required` (a password or
code was given within REAUTH_MAX_AGE_SECONDS), and their DRF counterparts.

Pages redirect to the verification, enrolment or re-authentication page and come back after.
The API answers 403: a session must be MFA-verified for these endpoints, while a bearer token
is a factor of its own (it was made by a logged-in user and is shown once), so token calls pass.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .mfa import mfa_verified, reauth_fresh, user_has_mfa

MFA_API_MESSAGE = (
    "This needs a session that passed two-factor authentication (log in again at /login/), "
    "or an API token."
)
MFA_SETUP_NOTE = (
    "Reading embargoed details and changing keys, webhooks or memberships needs two-factor "
    "authentication. Set it up now: it takes a minute."
)
REAUTH_NOTE = "Confirm it is you to continue."

View = Callable[..., HttpResponse]


def back_to(request: HttpRequest) -> str:
    """Where to return after a detour: this page for a GET, the form's page for a POST."""
    if request.method in {"GET", "HEAD"}:
        return request.get_full_path()
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("home")


def _detour(name: str, request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse(name)}?{urlencode({'next': back_to(request)})}")


def mfa_challenge(request: HttpRequest) -> HttpResponse | None:
    """None if the session passed MFA; else the way there (verify, or set up first)."""
    if mfa_verified(request):
        return None
    if user_has_mfa(request.user):
        return _detour("mfa-verify", request)
    messages.info(request, MFA_SETUP_NOTE)
    return _detour("mfa-setup", request)


def reauth_challenge(request: HttpRequest) -> HttpResponse | None:
    if reauth_fresh(request):
        return None
    if request.method not in SAFE_METHODS:
        messages.info(request, f"{REAUTH_NOTE} Then send the form again.")
    return _detour("reauthenticate", request)


def mfa_required(view: View) -> View:
    """The session must have passed MFA (login is required too)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return mfa_challenge(request) or view(request, *args, **kwargs)

    return wrapped


def reauth_required(view: View) -> View:
    """A recent password or code for changes (unsafe methods); reading the page needs none."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.method not in SAFE_METHODS and (challenge := reauth_challenge(request)):
            return challenge
        return view(request, *args, **kwargs)

    return wrapped


# --- The API.


def mfa_api_ok(request: Request) -> bool:
    """Only calls authenticated by their session cookie need it: a token is a factor, and
    anonymous callers meet the usual 401 or 404 instead."""
    if not isinstance(request.successful_authenticator, SessionAuthentication):
        return True
    return mfa_verified(request._request)


def mfa_api_require(request: Request) -> None:
    """For views that decide access themselves (404s first): refuse an unverified session."""
    if not mfa_api_ok(request):
        raise exceptions.PermissionDenied(MFA_API_MESSAGE)


class MFAVerifiedSession(BasePermission):
    """Session callers must have passed MFA; token callers pass."""

    message = MFA_API_MESSAGE

    def has_permission(self, request: Request, view: Any) -> bool:
        return mfa_api_ok(request)


class MFAVerifiedSessionToChange(MFAVerifiedSession):
    """As MFAVerifiedSession, for unsafe methods only (reading stays open)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or mfa_api_ok(request)
