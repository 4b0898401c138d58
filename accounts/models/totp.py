"""Authenticator apps whose secret is stored encrypted (accounts.totp_keys)."""

from __future__ import annotations

import logging
from typing import Any

from django_otp.plugins.otp_totp.models import TOTPDevice

from disclosure.encryption import DecryptionError

from ..totp_keys import is_token, totp_key_open, totp_key_seal

logger = logging.getLogger(__name__)


class SealedTOTPDevice(TOTPDevice):
    """django-otp's TOTPDevice with ``key`` holding a token of the secret, never the hex.

    Saving seals a hex key (django-otp's default, or one given), so verify_token and
    config_url work on the secret while the column holds only its token. Persistent ids are
    django-otp's (``otp_totp.totpdevice/<id>``): a session or audit entry names the same
    device either way.
    """

    key: str  # django-otp's CharField (its module has no types)

    class Meta:
        proxy = True
        verbose_name = "authenticator app"

    @classmethod
    def model_label(cls) -> str:
        return TOTPDevice.model_label()

    @property
    def bin_key(self) -> bytes:
        """The secret (DecryptionError if no configured key opens the stored token)."""
        return totp_key_open(self.key, what=f"the key of authenticator {self.pk}")

    def key_readable(self) -> bool:
        """Whether a configured key opens the stored token; logs an error if not."""
        try:
            self.bin_key  # noqa: B018
        except DecryptionError as exc:
            logger.error("TOTP device %s of user %s: %s", self.pk, self.user_id, exc)
            return False
        return True

    def verify_token(self, token: Any) -> bool:
        """django-otp's check; a token no key opens fails as a wrong code does (and logs)."""
        verify_allowed, _ = self.verify_is_allowed()
        if verify_allowed and not self.key_readable():
            self.throttle_increment(commit=True)
            return False
        return bool(super().verify_token(token))

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not is_token(self.key):
            self.key = totp_key_seal(bytes.fromhex(self.key))
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "key"}
        super().save(*args, **kwargs)
