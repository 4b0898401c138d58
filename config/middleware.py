"""Response hardening that Django's own middleware does not cover, and rate limits on form posts.

- ``SecurityHeadersMiddleware``: ``Permissions-Policy`` on every response, and
  ``Cache-Control: no-store`` on every response whose view did not choose its own caching.
  Storing nothing is the default because any page or API answer may hold embargoed text; the
  few public documents meant to be cached (the Atom feed, CSAF files, the site's OpenPGP key)
  say so with their own ``Cache-Control``.
- ``FormRateLimitMiddleware``: per-IP limits on the POSTs of the views named in
  ``RATE_LIMITED_POSTS`` (log in, apply for an organization), answered with a 429 and
  ``Retry-After``. The API's own limits are DRF throttles (config.throttling).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .throttling import FormPostThrottle

NO_STORE = "no-store"


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """``{"camera": [], "fullscreen": ["self"]}`` -> ``camera=(), fullscreen=(self)``."""
    return ", ".join(f"{feature}=({' '.join(allow)})" for feature, allow in policy.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.permissions_policy = permissions_policy_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.permissions_policy:
            response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        if "Cache-Control" not in response:
            response["Cache-Control"] = NO_STORE
        return response


def too_many_requests(request: HttpRequest, wait: float | None) -> HttpResponse:
    """A 429 that says when to come back: JSON under /api/, a page elsewhere."""
    seconds = max(1, math.ceil(wait or 1))
    message = f"Too many requests from your address. Try again in {seconds} seconds."
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response


class FormRateLimitMiddleware:
    """Counts the POSTs to each view in ``RATE_LIMITED_POSTS`` per client IP, per scope.

    Before the view runs (``process_view``), so a refused request does no work: no password
    hash, no lockout bookkeeping, no row written. Views sharing a scope share the budget, so
    the application page and the application API are one door.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if request.method != "POST" or request.resolver_match is None:
            return None
        scope = settings.RATE_LIMITED_POSTS.get(request.resolver_match.view_name)
        if scope is None:
            return None
        throttle = FormPostThrottle(scope)
        # DRF's throttles read only the client address from the request: a plain one will do.
        if throttle.allow_request(request, None):  # type: ignore[arg-type]
            return None
        return too_many_requests(request, throttle.wait())
