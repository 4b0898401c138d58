"""Recovery codes as keyed digests: django-otp's StaticToken.token holds an HMAC of the code,
never the code, so a copy of the database alone gives nobody a working code.

The digest is HMAC-SHA256 keyed with SECRET_KEY (Django's salted_hmac), base32, cut to the 16
characters the column holds (80 bits). A code made under a key now in SECRET_KEY_FALLBACKS
still works, so SECRET_KEY can be rotated the Django way. The codes themselves are django-otp's
(StaticToken.random_token: 8 lowercase base32 characters, 40 bits), so someone who also has
SECRET_KEY can find them by trying every one.
"""

from __future__ import annotations

import re
from base64 import b32encode
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac
from django_otp.plugins.otp_static.models import StaticDevice

SALT = "forewarn.mfa.recovery-code"
DIGEST_LENGTH = 16  # StaticToken.token is a varchar(16)
# A digest is upper-case base32 of exactly that length; django-otp's codes are 8 lower-case
# characters, so the two cannot be confused (the migration that hashed the old rows relies on it).
DIGEST_RE = re.compile(rf"^[A-Z2-7]{{{DIGEST_LENGTH}}}$")


def code_clean(value: Any) -> str:
    """A code as typed, without spaces or hyphens, in lower case ("" for anything not text)."""
    return re.sub(r"[\s-]", "", value).lower() if isinstance(value, str) else ""


def recovery_code_digest(code: str, *, key: str | bytes | None = None) -> str:
    """What is stored for ``code``: its keyed digest under ``key`` (default SECRET_KEY)."""
    mac = salted_hmac(SALT, code_clean(code), secret=key or settings.SECRET_KEY, algorithm="sha256")
    return b32encode(mac.digest()).decode()[:DIGEST_LENGTH]


def recovery_code_digests(code: str) -> list[str]:
    """The digests ``code`` may be stored under: one per key, SECRET_KEY and its fallbacks."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return list(dict.fromkeys(recovery_code_digest(code, key=key) for key in keys))


def is_digest(stored: str) -> bool:
    return bool(DIGEST_RE.match(stored))


def recovery_code_use(device: StaticDevice, code: str) -> bool:
    """StaticDevice.verify_token with digests in place of the code (which it would compare as
    plaintext): the matching code is deleted (one use), and django-otp's throttling applies (a
    wrong code doubles the wait, a right one resets it). Call with the device row locked."""
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return False
    match = device.token_set.filter(token__in=recovery_code_digests(code)).first()
    if match is None:
        device.throttle_increment()
        return False
    match.delete()
    device.throttle_reset(commit=False)
    device.set_last_used_timestamp(commit=False)
    device.save()
    return True
