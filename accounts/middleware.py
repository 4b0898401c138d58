"""Session timeouts and the MFA gate, for every request.

SessionTimeoutMiddleware logs a session out after SESSION_IDLE_TIMEOUT_SECONDS without a
request, or SESSION_ABSOLUTE_TIMEOUT_SECONDS after login, whichever comes first.

MFAMiddleware keeps a session that has not passed MFA to the verification page when its user
has an authenticator (a password alone opens nothing), and sends coordinators without one to
enrolment: they may not use the app at all without MFA (nor may staff use the admin).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cache
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from disclosure.policies import is_coordinator

from .mfa import mfa_verified, user_has_mfa
from .sessions import session_seen, session_timed_out

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
TIMED_OUT = {
    "idle": "You were logged out after {minutes} minutes without activity. Log in again.",
    "absolute": "Your session reached its {hours}-hour limit. Log in again.",
}
MFA_PENDING_API = (
    "This session has not passed two-factor authentication: finish logging in at /login/, "
    "or use an API token."
)
Handler = Callable[[HttpRequest], HttpResponse]


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY not in session:
            if session.session_key is None and request.COOKIES.get(settings.SESSION_COOKIE_NAME):
                # The cookie names no session: expired and cleared, or forged. The caller is
                # anonymous; the cookie's value (maybe someone's live id) is not logged.
                logger.info("Session cookie names no session; the request is anonymous")
            return self.get_response(request)
        now = time.time()
        reason = session_timed_out(session, now)
        if reason is None:
            session_seen(session, now)
            return self.get_response(request)
        request.session_timed_out = reason  # type: ignore[attr-defined]  # for the audit
        logout(request)
        messages.info(
            request,
            TIMED_OUT[reason].format(
                minutes=settings.SESSION_IDLE_TIMEOUT_SECONDS // 60,
                hours=settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS // 3600,
            ),
        )
        if request.path.startswith(API_PREFIX):
            return self.get_response(request)  # anonymous now: the API answers as it does
        return redirect_to_login(request.get_full_path())


@cache
def _open_paths() -> dict[str, frozenset[str]]:
    """Where a session may go while it owes MFA: by the page it is sent to."""
    common = {reverse("logout"), reverse("login")}
    return {
        "mfa-verify": frozenset({*common, reverse("mfa-verify"), reverse("mfa-verify-key")}),
        "mfa-setup": frozenset(
            {
                *common,
                reverse("mfa-setup"),
                reverse("mfa-setup-qr"),
                reverse("mfa-key-add"),
                reverse("mfa-verify"),
                reverse("reauthenticate"),
            }
        ),
    }


class MFAMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        target = mfa_owed(request)
        if target is None or request.path in _open_paths()[target]:
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"detail": MFA_PENDING_API}, status=403)
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")


def mfa_owed(request: HttpRequest) -> str | None:
    """The MFA page this session must pass before anything else, or None."""
    if "HTTP_AUTHORIZATION" in request.META:
        return None  # token callers: the API authenticates them
    user = request.user
    if not user.is_authenticated or mfa_verified(request):
        return None
    if user_has_mfa(user):
        return "mfa-verify"
    admin = request.path.startswith(reverse("admin:index")) and user.is_staff
    if admin or is_coordinator(user):
        return "mfa-setup"
    return None
