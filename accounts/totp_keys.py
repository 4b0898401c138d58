"""TOTP secrets encrypted at rest: django-otp's TOTPDevice.key holds a token of the secret,
never the secret, so a copy of the database alone gives nobody a working code.

A token is ``"fw1:"`` and, in URL-safe base64 without padding, the id of the configured key
that made it (8 bytes, disclosure.encryption.key_id), a random 12-byte nonce, and the secret
sealed with AES-256-GCM (its 16-byte tag included). The AES key is derived with HKDF-SHA256
from that configured key (FOREWARN_ENCRYPTION_KEYS, the keyring of embargoed fields), and the
prefix and key id are associated data, bound to this purpose. The column is a varchar(80): a
secret of up to MAX_SECRET_BYTES bytes fits (django-otp makes 20).

accounts.models.totp.SealedTOTPDevice reads and writes the column through this module;
``manage.py encryption_rotate`` re-encrypts tokens made under an older key.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from disclosure.encryption import SETTING, DecryptionError, Key, keyring

PREFIX = "fw1:"
PURPOSE = b"forewarn totp key v1"
COLUMN_LENGTH = 80  # TOTPDevice.key is a varchar(80)
KEY_ID_BYTES = 8
NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD_BYTES = KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES
# Base64 without padding: n characters carry 3n/4 bytes.
MAX_SECRET_BYTES = (COLUMN_LENGTH - len(PREFIX)) * 3 // 4 - OVERHEAD_BYTES  # 21


class SecretTooLong(ValueError):
    """A TOTP secret whose token would not fit the column."""


def is_token(stored: str) -> bool:
    """Whether a stored key is a token (django-otp's plaintext keys are hex: no colon)."""
    return stored.startswith(PREFIX)


def _cipher(key: Key) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(key.secret)
    return AESGCM(derived)


def _aad(key_id: bytes) -> bytes:
    return PURPOSE + PREFIX.encode() + key_id


def totp_key_seal(secret: bytes, *, key: Key | None = None) -> str:
    """The token of ``secret`` under ``key`` (default the newest configured key)."""
    if not secret:
        raise ValueError("A TOTP secret cannot be empty.")
    if len(secret) > MAX_SECRET_BYTES:
        raise SecretTooLong(
            f"A TOTP secret of {len(secret)} bytes does not fit TOTPDevice.key once encrypted: "
            f"at most {MAX_SECRET_BYTES} bytes (django-otp makes 20)."
        )
    key = key or keyring().newest
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(key).encrypt(nonce, secret, _aad(key.id_bytes))
    packed = base64.urlsafe_b64encode(key.id_bytes + nonce + sealed).decode().rstrip("=")
    return PREFIX + packed


def _unpack(token: str, what: str) -> tuple[str, bytes, bytes]:
    """The key id (hex), nonce and sealed secret of a token; DecryptionError if malformed."""
    if not is_token(token):
        raise DecryptionError(
            f"Cannot decrypt {what}: it is not an encrypted TOTP key (a device added outside "
            "Forewarn, with django-otp's own tools, which is not supported)."
        )
    text = token.removeprefix(PREFIX)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError(f"Cannot decrypt {what}: the stored value was altered.") from exc
    if len(raw) <= OVERHEAD_BYTES:
        raise DecryptionError(f"Cannot decrypt {what}: the stored value was altered.")
    nonce_end = KEY_ID_BYTES + NONCE_BYTES
    return raw[:KEY_ID_BYTES].hex(), raw[KEY_ID_BYTES:nonce_end], raw[nonce_end:]


def totp_key_id(token: str, *, what: str = "a TOTP key") -> str:
    """The id of the configured key a token names (DecryptionError if it is not a token)."""
    return _unpack(token, what)[0]


def totp_key_open(token: str, *, what: str = "a TOTP key") -> bytes:
    """The secret in ``token``; DecryptionError if no configured key opens it."""
    key_id, nonce, sealed = _unpack(token, what)
    key = keyring().get(key_id)
    if key is None:
        raise DecryptionError(
            f"Cannot decrypt {what}: it was encrypted with key {key_id}, which is not in "
            f"{SETTING}.",
            reason="key",
        )
    try:
        return _cipher(key).decrypt(nonce, sealed, _aad(key.id_bytes))
    except InvalidTag as exc:
        raise DecryptionError(f"Cannot decrypt {what}: the stored value was altered.") from exc


def totp_key_needs_rotation(token: str, *, what: str = "a TOTP key") -> bool:
    """True if an older configured key made ``token`` (DecryptionError if none opens it)."""
    totp_key_open(token, what=what)
    return totp_key_id(token, what=what) != keyring().newest.id


def totp_key_rotate(token: str, *, what: str = "a TOTP key") -> str:
    """The same secret as a token under the newest key."""
    return totp_key_seal(totp_key_open(token, what=what))
