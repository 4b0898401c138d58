"""Encryption at rest: the keys, and encrypting and decrypting values with them.

Embargoed fields (``encryption.fields``) and attachment files (``encryption.files``) are
encrypted with the Fernet keys in ``settings.ENCRYPTION_KEYS`` (env FOREWARN_ENCRYPTION_KEYS),
newest first. The newest encrypts; every key listed decrypts, so a new key goes in front while
``manage.py encryption_rotate`` re-encrypts what the older ones encrypted, and then they go.

A value is a Fernet token (PyCA cryptography: AES-128-CBC and HMAC-SHA256, authenticated) made
by MultiFernet. A value that no listed key opens (a missing or wrong key, or an altered value)
raises DecryptionError: it never reads as empty, and never as its ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

SETTING = "FOREWARN_ENCRYPTION_KEYS"
GENERATE = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class EncryptionKeyError(ImproperlyConfigured):
    """ENCRYPTION_KEYS is empty or holds something that is not a Fernet key."""


class DecryptionError(Exception):
    """Stored ciphertext that no configured key opens, or that was altered.

    ``reason`` is "key" when the value names a key that is not configured (files do), else
    "integrity" (Fernet tokens do not say which key made them, so for them it may be either).
    """

    def __init__(self, message: str, *, reason: str = "integrity") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Key:
    secret: bytes  # the 32 bytes of the Fernet key: its signing half, then its encryption half
    fernet: Fernet
    id: str  # names the key in files and messages without revealing anything of it

    @property
    def id_bytes(self) -> bytes:
        return bytes.fromhex(self.id)


class Keyring:
    def __init__(self, keys: list[Key]) -> None:
        self.keys = keys
        self.newest = keys[0]
        self.multi = MultiFernet([key.fernet for key in keys])
        self._by_id = {key.id: key for key in keys}

    def get(self, key_id: str) -> Key | None:
        return self._by_id.get(key_id)


def key_id(secret: bytes) -> str:
    """16 hex digits derived from the key (HMAC): the same key always has the same id."""
    return hmac.new(secret, b"forewarn key id v1", hashlib.sha256).hexdigest()[:16]


def _key(raw: object, position: int, count: int) -> Key:
    where = f"{SETTING}: key {position} of {count}"
    text = str(raw).strip()
    try:
        secret = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        secret = b""
    if len(secret) != 32:
        # Never echo the value: it may be a real key with a typo in it.
        raise EncryptionKeyError(
            f"{where} is not a Fernet key (32 bytes in URL-safe base64: 44 characters). "
            f"Generate one with: {GENERATE}"
        )
    return Key(secret=secret, fernet=Fernet(text), id=key_id(secret))


def _load() -> Keyring:
    configured = getattr(settings, "ENCRYPTION_KEYS", None) or []
    if isinstance(configured, str):
        configured = configured.split(",")
    raws = [raw for raw in configured if str(raw).strip()]
    if not raws:
        raise EncryptionKeyError(
            f"No encryption key: set {SETTING} to one or more Fernet keys, newest first, "
            f"comma-separated (README, 'Encryption at rest'). Generate one with: {GENERATE}"
        )
    keys = [_key(raw, i, len(raws)) for i, raw in enumerate(raws, start=1)]
    seen: set[str] = set()
    for i, key in enumerate(keys, start=1):
        if key.id in seen:
            raise EncryptionKeyError(f"{SETTING}: key {i} of {len(keys)} is listed twice.")
        seen.add(key.id)
    return Keyring(keys)


_keyring: Keyring | None = None


def keyring() -> Keyring:
    """The configured keys, read once per process (and again when a test changes them)."""
    global _keyring
    if _keyring is None:
        _keyring = _load()
    return _keyring


@receiver(setting_changed)
def _keyring_reset(*, setting: str, **kwargs: Any) -> None:
    global _keyring
    if setting == "ENCRYPTION_KEYS":
        _keyring = None


def _unreadable(what: str) -> DecryptionError:
    count = len(keyring().keys)
    return DecryptionError(
        f"Cannot decrypt {what}: none of the {count} key(s) in {SETTING} opens it. Either the "
        "key it was encrypted with is missing from the list, or the stored value was altered."
    )


def encrypt(plaintext: bytes) -> str:
    """A Fernet token of ``plaintext`` under the newest key."""
    return keyring().newest.fernet.encrypt(plaintext).decode("ascii")


def encrypt_text(text: str) -> str:
    return encrypt(text.encode("utf-8"))


def decrypt(token: str, *, what: str = "an encrypted value") -> bytes:
    """The plaintext of a token made with any configured key; DecryptionError otherwise."""
    try:
        return keyring().multi.decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError, AttributeError) as exc:
        raise _unreadable(what) from exc


def decrypt_text(token: str, *, what: str = "an encrypted value") -> str:
    return decrypt(token, what=what).decode("utf-8")


def needs_rotation(token: str, *, what: str = "an encrypted value") -> bool:
    """True if the newest key did not make ``token`` (another configured key did).

    DecryptionError if no configured key opens it: such a value can never be rotated.
    """
    try:
        keyring().newest.fernet.decrypt(token.encode("ascii"))
    except InvalidToken:
        decrypt(token, what=what)
        return True
    except UnicodeEncodeError as exc:
        raise _unreadable(what) from exc
    return False


def rotate(token: str, *, what: str = "an encrypted value") -> str:
    """The same plaintext as a token under the newest key."""
    try:
        return keyring().multi.rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise _unreadable(what) from exc


@checks.register(checks.Tags.security)
def encryption_keys_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The keys must be there and be Fernet keys before anything is stored or read."""
    try:
        _load()
    except EncryptionKeyError as exc:
        return [checks.Error(str(exc), id="disclosure.E002")]
    return []
