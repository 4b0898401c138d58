"""Rate limits: DRF throttles for the API, and the same counters for form posts.

Each scope's rate comes from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``"30/min"``; ``None``
turns the scope off), read when the throttle is made, so changed settings apply at once. The
counters live in Django's cache: Redis when ``REDIS_URL`` is set, so every process shares them.

- ``anon``: anonymous API requests, per client IP.
- ``user``: authenticated API requests, per user, however they authenticate.
- ``token``: requests made with an API token, per token (on top of ``user``).
- ``login``, ``mfa`` and ``public_form``: POSTs to the views in ``RATE_LIMITED_POSTS``, per
  client IP (config.middleware.FormRateLimitMiddleware).

The client IP is ``REMOTE_ADDR``, or with ``NUM_PROXIES`` set, the address that many proxies
back in ``X-Forwarded-For`` (DRF's ``get_ident``).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ScopedSettingsThrottle(SimpleRateThrottle):
    """A ``SimpleRateThrottle`` that looks its rate up in the current settings."""

    def get_rate(self) -> str | None:
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate set for the {self.scope!r} scope.")
        rate = rates[self.scope]
        return None if rate is None else str(rate)

    def wait(self) -> float | None:
        # Whole seconds, rounded up: Retry-After is an integer and must not say "0".
        wait = super().wait()
        return None if wait is None else float(max(1, math.ceil(wait)))

    def cache_key(self, ident: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousThrottle(ScopedSettingsThrottle):
    scope = "anon"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_key(self.get_ident(request))


class UserThrottle(ScopedSettingsThrottle):
    scope = "user"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_key(request.user.pk)


class TokenThrottle(ScopedSettingsThrottle):
    scope = "token"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        # Imported here: DRF imports the throttle classes while the apps are still loading.
        from accounts.authentication import BearerTokenAuthentication

        authenticator = getattr(request, "successful_authenticator", None)
        if not isinstance(authenticator, BearerTokenAuthentication):
            return None
        token_id = getattr(request.auth, "pk", None)
        if token_id is None:  # an authenticator that gives no token row: key by the secret's hash
            header = request.headers.get("Authorization", "")
            token_id = hashlib.sha256(header.encode()).hexdigest()[:32]
        return self.cache_key(token_id)


class FormPostThrottle(ScopedSettingsThrottle):
    """Per client IP, for a scope given at construction (config.middleware)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_key(self.get_ident(request))
