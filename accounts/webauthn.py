"""Security keys (WebAuthn) as a second factor, with django-otp-webauthn.

A key is a django-otp device (``WebAuthnCredential``), so it counts for MFA as an authenticator
app does. The library's helper (py_webauthn underneath) makes the options the browser needs and
checks the key's answers against OTP_WEBAUTHN_RP_ID and OTP_WEBAUTHN_ALLOWED_ORIGINS. Forewarn
keeps each ceremony's state in the session, names the keys, records audit events and turns every
refusal into ``ValidationFailed``. The library's own views are not used: they would open a
passwordless login, record nothing and answer some malformed input with a 500.

A challenge is taken out of the session before the answer is checked, so it serves once, and
only within OTP_WEBAUTHN_TIMEOUT_SECONDS of being made.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django_otp_webauthn.exceptions import (
    CredentialNotFound,
    CredentialUserMismatch,
    OTPWebAuthnApiError,
)
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential, as_credential_descriptors
from django_otp_webauthn.settings import app_settings
from webauthn.helpers.exceptions import WebAuthnException

from disclosure.errors import ValidationFailed
from disclosure.services.audit import audit_record

from .mfa import recovery_codes_first
from .models import User

KEY_NAME_DEFAULT = "Security key"
REGISTER_STATE = "webauthn_register"
VERIFY_STATE = "webauthn_verify"
EXPIRED = "The request to your security key expired or was already answered: try again."
NO_ANSWER = "No answer from a security key came with the form: try again."
REFUSED = "Your security key's answer was not accepted: try again, or use another key."
UNKNOWN_KEY = "That security key is not registered to your account."
DUPLICATE = "That security key is already registered."


class _Refusal(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def keys_of(user: Any) -> QuerySet[WebAuthnCredential]:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True)


class Helper(WebAuthnHelper):
    """The library's helper (OTP_WEBAUTHN_HELPER_CLASS), asking only for keys that are not
    disabled: an administrator may unconfirm one."""

    def get_generate_authentication_options_kwargs(
        self, *, user: Any = None, require_user_verification: bool
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_generate_authentication_options_kwargs(
            user=None, require_user_verification=require_user_verification
        )
        if user is not None:
            recent_first = F("last_used_at").desc(nulls_last=True)
            kwargs["allow_credentials"] = as_credential_descriptors(
                keys_of(user).order_by(recent_first, "-id")
            )
        return kwargs


def _helper(request: HttpRequest) -> Any:
    return WebAuthnCredential.get_webauthn_helper(request=request)


def _state_keep(request: HttpRequest, key: str, state: dict[str, Any]) -> None:
    request.session[key] = {**state, "made_at": time.time()}


def _state_take(request: HttpRequest, key: str) -> dict[str, Any]:
    """The ceremony's state, removed from the session (and saved so, even if checking fails)."""
    state = request.session.pop(key, None)
    request.session.save()
    made_at = state.get("made_at") if isinstance(state, dict) else None
    timeout = app_settings.OTP_WEBAUTHN_TIMEOUT_SECONDS
    if not isinstance(made_at, int | float) or time.time() - made_at > timeout:
        raise _Refusal("expired", EXPIRED)
    return state  # type: ignore[return-value]  # a dict, checked above


def _answer(credential: Any) -> dict[str, Any]:
    """The browser's answer, a JSON object (PublicKeyCredential.toJSON())."""
    try:
        data = json.loads(credential) if isinstance(credential, str) else credential
    except (ValueError, RecursionError):  # not JSON, or nested past what the parser follows
        data = None
    if not isinstance(data, dict):
        raise _Refusal("malformed", NO_ANSWER)
    return data


def _refusal(exc: Exception) -> _Refusal:
    """What a failed check of the key's answer tells the user and the audit log."""
    if isinstance(exc, _Refusal):
        return exc
    if isinstance(exc, CredentialNotFound | CredentialUserMismatch):
        return _Refusal("unknown_key", UNKNOWN_KEY)
    if isinstance(exc, IntegrityError):
        return _Refusal("duplicate", DUPLICATE)
    if isinstance(exc, OTPWebAuthnApiError):
        return _Refusal(str(exc.code), REFUSED)
    if isinstance(exc, WebAuthnException):
        return _Refusal("invalid", REFUSED)
    return _Refusal("malformed", REFUSED)  # ValueError, TypeError, KeyError on odd input


# py_webauthn's refusals, the library's, and what odd input makes either raise.
_FAILURES = (
    _Refusal,
    OTPWebAuthnApiError,
    WebAuthnException,
    IntegrityError,
    ValueError,
    TypeError,
    KeyError,
)


# --- Registration.


def key_registration_options(request: HttpRequest) -> str:
    """The options for navigator.credentials.create() (JSON), for the logged-in user; the
    user's keys are excluded, so a key cannot be registered twice."""
    options, state = _helper(request).register_begin(user=request.user)
    _state_keep(request, REGISTER_STATE, state)
    return json.dumps(options)


def key_register(
    *, actor: User, request: HttpRequest, name: str, credential: Any
) -> tuple[WebAuthnCredential, list[str]]:
    """Check the new key's answer and keep the key under ``name``.

    Returns the key and new recovery codes if the user had none (shown once), else [].
    Raises ValidationFailed({"credential": ...}) if the answer is missing, stale or invalid.
    """
    try:
        state = _state_take(request, REGISTER_STATE)
        data = _answer(credential)
        with transaction.atomic():
            key = _helper(request).register_complete(user=actor, state=state, data=data)
            key.name = name.strip()[:64] or KEY_NAME_DEFAULT
            key.save(update_fields=["name"])
            audit_record(
                actor=actor,
                action="mfa.device_added",
                data={"device": key.persistent_id, "name": key.name},
            )
            codes = recovery_codes_first(actor=actor)
    except _FAILURES as exc:
        refusal = _refusal(exc)
        audit_record(
            actor=actor,
            action="mfa.failed",
            data={"kind": "security_key", "step": "setup", "reason": refusal.reason},
        )
        raise ValidationFailed({"credential": refusal.message}) from exc
    return key, codes


# --- Verification.


def key_verification_options(request: HttpRequest) -> str | None:
    """The options for navigator.credentials.get() (JSON) naming the logged-in user's keys, or
    None if the user has none."""
    options, state = _helper(request).authenticate_begin(
        user=request.user, require_user_verification=False
    )
    if not options.get("allowCredentials"):
        return None
    _state_keep(request, VERIFY_STATE, state)
    return json.dumps(options)


def key_verify(
    *, request: HttpRequest, user: User, credential: Any, step: str = "login"
) -> WebAuthnCredential:
    """The user's key that gave this answer to the session's challenge, audited either way.

    Raises ValidationFailed({"credential": ...}) on a missing, stale, replayed or invalid answer,
    or one from a key that is not the user's.
    """
    try:
        state = _state_take(request, VERIFY_STATE)
        data = _answer(credential)
        key = _helper(request).authenticate_complete(user=user, state=state, data=data)
        if not key.confirmed:
            raise _Refusal("disabled", UNKNOWN_KEY)
    except _FAILURES as exc:
        refusal = _refusal(exc)
        audit_record(
            actor=user,
            action="mfa.failed",
            data={"kind": "security_key", "step": step, "reason": refusal.reason},
        )
        raise ValidationFailed({"credential": refusal.message}) from exc
    audit_record(
        actor=user, action="mfa.verified", data={"device": key.persistent_id, "step": step}
    )
    return key
