"""Two-factor helpers for tests: authenticators with a known secret, their codes, and sessions
marked as having passed MFA.

`client.force_login` gives a session that passed MFA (tests/conftest.py patches it), as a real
login with a code would; mark a test `@pytest.mark.mfa_unverified` for a password-only session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa import MFA_AT, REAUTH_AT
from accounts.models import SealedTOTPDevice, User
from accounts.signals import LOGIN_AUDIT, login_audit
from accounts.totp_keys import totp_key_open

# The RFC 6238 test secret ("12345678901234567890"), hex-encoded as django-otp stores it.
KNOWN_KEY = "3132333435363738393031323334353637383930"
# What force_login puts in the session: no device row is needed to count as verified.
FORCED = "tests.force_login/0"


def totp_device(user: User, *, key: str = KNOWN_KEY, confirmed: bool = True) -> SealedTOTPDevice:
    """An authenticator with the secret ``key`` (hex), stored encrypted as the app stores it."""
    return SealedTOTPDevice.objects.create(user=user, name="Test app", key=key, confirmed=confirmed)


def totp_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The device's code for the current time step (or one ``steps_ahead``)."""
    secret = totp_key_open(device.key)  # a TOTPDevice of django-otp's class too
    generator = TOTP(secret, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time() + steps_ahead * device.step
    return f"{generator.token():0{device.digits}d}"


def totp_code_unused(device: TOTPDevice) -> str:
    """A code the device will still accept: django-otp takes each time step once, so after a
    code of this step was used, give the next step's (within its tolerance of one step)."""
    device.refresh_from_db()
    now_t = int((time.time() - device.t0) // device.step)
    if device.last_t >= now_t + 1:  # both used: wait for the step after
        time.sleep(device.step - (time.time() - device.t0) % device.step + 0.05)
        return totp_code_unused(device)
    return totp_code(device, steps_ahead=1 if device.last_t >= now_t else 0)


def session_mfa_verified(client: Client, *, reauth_age: float = 0) -> None:
    """Mark the client's session as having passed MFA, with a password given ``reauth_age``
    seconds ago."""
    session = client.session
    now = int(time.time())
    session[DEVICE_ID_SESSION_KEY] = session.get(DEVICE_ID_SESSION_KEY) or FORCED
    session[MFA_AT] = now
    session[REAUTH_AT] = int(now - reauth_age)
    session.save()


def session_edit(client: Client, **values: Any) -> None:
    """Change values in the client's session (e.g. age its timestamps)."""
    session = client.session
    for key, value in values.items():
        if value is None:
            session.pop(key, None)
        else:
            session[key] = value
    session.save()


@contextmanager
def login_not_audited() -> Iterator[None]:
    """A forced login is a test's setup, not a login: no auth.login audit event for it (the
    session is still stamped and indexed as at any login)."""
    user_logged_in.disconnect(dispatch_uid=LOGIN_AUDIT)
    try:
        yield
    finally:
        user_logged_in.connect(login_audit, dispatch_uid=LOGIN_AUDIT)
