"""Multi-factor authentication with django-otp: TOTP authenticator apps, security keys
(WebAuthn, accounts.webauthn) and recovery codes.

A session is *MFA-verified* once its user has given a code from one of their devices (the
session then holds the device's id, as django_otp.login leaves it). Sensitive changes also
need a *fresh* proof: a password or a code within REAUTH_MAX_AGE_SECONDS.

Throttling and replay protection are django-otp's: a wrong code doubles the wait before the
next try on that device, and a TOTP code is accepted at most once (only a later time step
passes after it). Authenticator secrets are stored encrypted (accounts.totp_keys: every
device is a SealedTOTPDevice here), recovery codes as keyed digests (accounts.recovery_codes).
"""

from __future__ import annotations

import re
import time
from typing import Any

import django_otp
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp_webauthn.models import WebAuthnCredential

from disclosure.errors import ValidationFailed
from disclosure.services.audit import audit_record

from .models import SealedTOTPDevice, User
from .recovery_codes import code_clean, recovery_code_digest, recovery_code_use
from .sessions import session_key_cycle

MFA_AT = "mfa_at"
REAUTH_AT = "reauth_at"
RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
TOTP_RE = re.compile(r"^\d{6}$")
WRONG_CODE = "That code is not right. Check your device's clock, or use a recovery code."
THROTTLED = "Too many wrong codes: wait {seconds} seconds, then try again."


# --- State of the session.


def mfa_verified(request: HttpRequest) -> bool:
    """Whether this session has passed MFA (no query: the session says so)."""
    return bool(request.session.get(django_otp.DEVICE_ID_SESSION_KEY))


def reauth_fresh(request: HttpRequest) -> bool:
    return reauth_fresh_at(request.session)


def reauth_fresh_at(session: Any) -> bool:
    """Whether a password or code was given within REAUTH_MAX_AGE_SECONDS in this session."""
    proved = session.get(REAUTH_AT)
    return isinstance(proved, int | float) and (
        time.time() - proved <= settings.REAUTH_MAX_AGE_SECONDS
    )


def reauth_mark(request: HttpRequest) -> None:
    request.session[REAUTH_AT] = int(time.time())


def session_mfa_mark(request: HttpRequest, device: Device) -> None:
    """Record in the session that its user passed MFA with ``device``, under a new session id."""
    session_key_cycle(request)
    django_otp.login(request, device)
    request.session[MFA_AT] = int(time.time())
    reauth_mark(request)


def session_mfa_clear(request: HttpRequest) -> None:
    for key in (django_otp.DEVICE_ID_SESSION_KEY, MFA_AT):
        request.session.pop(key, None)


def user_has_mfa(user: Any) -> bool:
    """Whether the user has an authenticator app or a security key (recovery codes alone do not
    count: they come with, and go with, the last of those)."""
    return (
        SealedTOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    )


# --- Enrolment and devices.


def totp_device_pending_get(*, user: User) -> SealedTOTPDevice | None:
    """The user's authenticator being set up (unconfirmed), if any whose secret can be read."""
    device = SealedTOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device if device is not None and device.key_readable() else None


def totp_device_pending(*, user: User) -> SealedTOTPDevice:
    """The user's authenticator being set up (unconfirmed), made with a new secret if none (or
    if its secret can no longer be read: a key removed from the keyring)."""
    device = totp_device_pending_get(user=user)
    if device is None:
        SealedTOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = SealedTOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def _codes_new(user: User) -> list[str]:
    """New recovery codes for ``user``, replacing any; only their digests are stored."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=recovery_code_digest(code)) for code in codes
    )
    return codes


def recovery_codes_remaining(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def recovery_codes_first(*, actor: User) -> list[str]:
    """Recovery codes for a user who just added a device and has none (shown once), else []."""
    if recovery_codes_remaining(actor):
        return []
    codes = _codes_new(actor)
    audit_record(actor=actor, action="mfa.recovery_codes_created", data={})
    return codes


def _throttled(devices: list[Device]) -> str | None:
    for device in devices:
        allowed, info = device.verify_is_allowed()
        if not allowed and info and info.get("locked_until"):
            wait = max(1, int((info["locked_until"] - timezone.now()).total_seconds() + 0.999))
            return THROTTLED.format(seconds=wait)
    return None


def totp_device_confirm(*, actor: User, device: SealedTOTPDevice, token: Any) -> list[str]:
    """Confirm a pending authenticator with a code from it; returns new recovery codes if the
    user had none (shown once), else an empty list."""
    code = code_clean(token)
    with transaction.atomic():
        locked = SealedTOTPDevice.objects.select_for_update().get(pk=device.pk, user=actor)
        throttled = _throttled([locked])
        ok = throttled is None and bool(TOTP_RE.match(code)) and locked.verify_token(code)
    if not ok:
        audit_record(
            actor=actor, action="mfa.failed", data={"device": device.persistent_id, "step": "setup"}
        )
        raise ValidationFailed({"token": throttled or WRONG_CODE})
    with transaction.atomic():
        SealedTOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
        audit_record(
            actor=actor,
            action="mfa.device_added",
            data={"device": device.persistent_id, "name": device.name},
        )
        return recovery_codes_first(actor=actor)


@transaction.atomic
def recovery_codes_regenerate(*, actor: User) -> list[str]:
    """New recovery codes for the actor; the old ones stop working."""
    if not user_has_mfa(actor):
        raise ValidationFailed("Set up an authenticator app or a security key first.")
    codes = _codes_new(actor)
    audit_record(actor=actor, action="mfa.recovery_codes_created", data={})
    return codes


@transaction.atomic
def mfa_device_remove(*, actor: User, device: SealedTOTPDevice | WebAuthnCredential) -> bool:
    """Remove one of the actor's authenticator apps or security keys. With the last of them go
    the recovery codes.

    Returns whether the user still has MFA.
    """
    removed = type(device).objects.filter(pk=device.pk, user=actor).delete()[0]
    if not removed:
        raise ValidationFailed("No such device.")
    still = user_has_mfa(actor)
    if not still:
        StaticDevice.objects.filter(user=actor).delete()
    audit_record(
        actor=actor,
        action="mfa.device_removed",
        data={"device": device.persistent_id, "name": device.name, "mfa_left": still},
    )
    return still


# --- Verification.


def mfa_verify(*, user: User, token: Any, step: str = "login") -> Device:
    """The device that accepts ``token`` (a TOTP code or a recovery code), audited either way.

    Raises ValidationFailed({"token": ...}) on a wrong, replayed or throttled code.
    """
    code = code_clean(token)
    totp = bool(TOTP_RE.match(code))
    model: type[Device] = SealedTOTPDevice if totp else StaticDevice
    accepted: Device | None = None
    throttled: str | None = None
    with transaction.atomic():
        devices = list(model.objects.devices_for_user(user, confirmed=True).select_for_update())
        throttled = _throttled(devices)
        if code and throttled is None:
            for device in devices:
                if isinstance(device, StaticDevice):
                    # Stored as digests: StaticDevice.verify_token would compare the code.
                    ok = recovery_code_use(device, code)
                else:
                    ok = device.verify_token(code)
                if ok:
                    accepted = device
                    break
    if accepted is None:
        audit_record(
            actor=user,
            action="mfa.failed",
            data={"kind": "totp" if totp else "recovery_code", "step": step},
        )
        raise ValidationFailed({"token": throttled or WRONG_CODE})
    if totp:
        audit_record(
            actor=user, action="mfa.verified", data={"device": accepted.persistent_id, "step": step}
        )
    else:
        audit_record(
            actor=user,
            action="mfa.recovery_code_used",
            data={"remaining": recovery_codes_remaining(user), "step": step},
        )
    return accepted
