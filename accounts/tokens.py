"""API tokens: high-entropy secrets, stored as SHA-256 (a slow hash adds nothing at 256 bits).

A token has scopes (read: safe methods only; write: every method), an expiry (at most
TOKEN_MAX_TTL_DAYS ahead) and can be revoked. Bearer tokens are the API's second factor: they
are made by a logged-in (and, where required, MFA-verified) user and shown once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from disclosure.errors import ValidationFailed
from disclosure.services.audit import audit_record

from .models import ApiToken, User

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "fw_"  # noqa: S105 (a public marker, not a secret)
LAST_USED_RESOLUTION = timedelta(minutes=1)
Scope = ApiToken.Scope
SCOPES = tuple(Scope.values)


class TokenRefused(Exception):
    """The token exists no more for the API: unknown, revoked, expired, or its user is gone."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def scopes_clean(value: Any) -> str:
    """A list (or space-separated string) of scopes -> the stored form; read is always in."""
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, Iterable) or not all(isinstance(s, str) for s in items):
        raise ValidationFailed({"scopes": "Give a list of scopes: read, write."})
    wanted = set(items)
    unknown = wanted - set(SCOPES)
    if unknown:
        raise ValidationFailed(
            {"scopes": f"Unknown scope {sorted(unknown)[0]!r}; choose from: {', '.join(SCOPES)}."}
        )
    if Scope.READ not in wanted:
        raise ValidationFailed({"scopes": "Every token has the read scope; add read."})
    return " ".join(s for s in SCOPES if s in wanted)


def expiry_days_clean(value: Any) -> int:
    """Days until a token expires: the default when not given, else 1 to TOKEN_MAX_TTL_DAYS."""
    if value is None or value == "":
        return int(settings.TOKEN_DEFAULT_TTL_DAYS)
    days = 0
    if isinstance(value, int) and not isinstance(value, bool):
        days = value
    elif isinstance(value, str) and value.strip().isdigit():
        days = int(value)
    maximum = int(settings.TOKEN_MAX_TTL_DAYS)
    if not 1 <= days <= maximum:
        raise ValidationFailed({"expires_in_days": f"Give a whole number of days, 1 to {maximum}."})
    return days


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    scopes: Any = (Scope.READ, Scope.WRITE),
    expires_in_days: Any = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the raw token, which is never stored."""
    scope_text = scopes_clean(scopes)
    days = expiry_days_clean(expires_in_days)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100] or "API token",
        prefix=raw[:10],
        key_hash=token_hash(raw),
        scopes=scope_text,
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit_record(
        actor=user,
        action="api_token.created",
        data={
            "token": token.prefix,
            "scopes": scope_text,
            "expires_at": token.expires_at.isoformat(),
        },
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Any = None) -> None:
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        audit_record(
            actor=actor or token.user, action="api_token.revoked", data={"token": token.prefix}
        )


def api_tokens_revoke_all(*, actor: Any, user: User, reason: str) -> int:
    """Revoke every live token of ``user`` (offboarding); one audit event names them."""
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    prefixes = list(live.values_list("prefix", flat=True))
    if not prefixes:
        return 0
    live.update(revoked_at=timezone.now())
    audit_record(
        actor=actor,
        action="api_token.revoked",
        data={"user": user.pk, "tokens": prefixes, "reason": reason},
    )
    return len(prefixes)


def _refuse(token: ApiToken, reason: str, detail: str) -> TokenRefused:
    # The prefix names the token (it is shown on the tokens page); the secret is never logged.
    logger.warning("API token %s of user %s refused: %s", token.prefix, token.user_id, reason)
    audit_record(
        actor=None,
        action="api_token.refused",
        data={"token": token.prefix, "user": token.user_id, "reason": reason},
    )
    return TokenRefused(detail)


def api_token_check(raw: str) -> ApiToken:
    """The live token for ``raw`` (its user loaded), or TokenRefused saying why.

    One query when the token is good. A refused token that exists is audited; an unknown one
    is only logged, so that guessing costs the site no writes.
    """
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(raw)).first()
    if token is None:
        logger.warning("API request with an unknown bearer token")
        raise TokenRefused("Invalid or revoked token.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise _refuse(token, "revoked", "Invalid or revoked token.")
    if not token.user.is_active:
        raise _refuse(token, "user inactive", "Invalid or revoked token.")
    if token.expires_at <= now:
        raise _refuse(token, "expired", "Token expired.")
    # Record use at most once a minute: a write (and its commit) on every API request would
    # cost more than the read it serves, and the admin needs no finer "last used".
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_authenticate(raw: str) -> User | None:
    try:
        return api_token_check(raw).user
    except TokenRefused:
        return None
