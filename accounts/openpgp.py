"""Contacts' OpenPGP public keys: validated on upload, then mail to the contact is encrypted.

A key is accepted when it is one ASCII-armored certificate with no secret key material, is
neither revoked nor expired, and has an encryption-capable (sub)key that is valid now. A key
whose user IDs do not name the account's address is accepted with a warning: people often
receive notifications at a role address (``cert@...``) while their key names their personal
one, and what matters is that the key is the one they chose, shown by its fingerprint.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any

import pysequoia
from django.db import IntegrityError, transaction
from django.utils import timezone
from pysequoia.packet import PacketPile, SignatureType, Tag

from disclosure.errors import NotAllowed, ValidationFailed
from disclosure.policies import can_manage_openpgp_key
from disclosure.services.audit import audit_record

from .models import OpenPGPKey, User

MAX_BYTES = 64 * 1024
# Warn when a key stops working this soon after the upload.
EXPIRY_WARNING = timedelta(days=30)
FIELD = "armored"
PUBLIC_HEADER = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
SECRET_HEADER = "-----BEGIN PGP PRIVATE KEY BLOCK-----"  # noqa: S105 (a marker)
EXPORT_HINT = "gpg --armor --export you@example.org"

# Self-signatures that carry the primary key's flags (SignatureType is not hashable).
_CERTIFICATIONS = (
    SignatureType.PositiveCertification,
    SignatureType.GenericCertification,
    SignatureType.CasualCertification,
    SignatureType.PersonaCertification,
    SignatureType.DirectKey,
)


@dataclass(frozen=True)
class ParsedKey:
    fingerprint: str  # upper-case hex, no spaces
    user_ids: list[str]
    expires_at: datetime | None  # when the key can no longer be encrypted to
    armored: str  # re-armored by Sequoia: the certificate as it was understood


def fingerprint_display(fingerprint: str) -> str:
    """``ABCD 1234 ...``: groups of four, as people compare them."""
    return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed({FIELD: message})


def _sequoia_error(exc: Exception) -> str:
    # Sequoia's errors carry a Rust backtrace after the first line.
    return (str(exc).strip().splitlines() or ["unknown error"])[0].rstrip(".")


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _encryption_expiries(cert: pysequoia.Cert) -> list[tuple[bool, datetime | None]]:
    """For each encryption-capable key of the certificate: (revoked, own expiry or None).

    Read from the binding signatures that Sequoia kept when it parsed the certificate; the
    primary key's expiry (``cert.expiration``) bounds them all and is applied by the caller.
    """
    found: list[tuple[bool, datetime | None]] = []
    primary_flags_encrypt = False
    primary_fpr = cert.fingerprint.lower()
    # The subkey being read, its latest binding signature's (time, flags, validity) and revocation.
    current: dict[str, Any] | None = None

    def close(sub: dict[str, Any] | None) -> None:
        if sub and sub["binding"] is not None:
            _, flags, validity = sub["binding"]
            if flags is not None and (flags.transport_encryption or flags.storage_encryption):
                expiry = sub["created"] + validity if validity else None
                found.append((sub["revoked"], expiry))

    for packet in PacketPile.from_bytes(bytes(cert)):
        if packet.tag == Tag.PublicSubkey:
            close(current)
            current = {"created": packet.key_created, "binding": None, "revoked": False}
        elif packet.tag == Tag.Signature and current is not None:
            if packet.signature_type == SignatureType.SubkeyBinding:
                created = packet.signature_created
                if current["binding"] is None or (created and created >= current["binding"][0]):
                    current["binding"] = (
                        created,
                        packet.key_flags,
                        packet.key_validity_period,
                    )
            elif packet.signature_type == SignatureType.SubkeyRevocation:
                current["revoked"] = True
        elif packet.tag == Tag.Signature and packet.signature_type in _CERTIFICATIONS:
            flags = packet.key_flags
            issuer = packet.issuer_fingerprint
            if flags is not None and (issuer is None or issuer.lower() == primary_fpr):
                primary_flags_encrypt |= flags.transport_encryption or flags.storage_encryption
    close(current)
    if primary_flags_encrypt:
        found.append((False, None))  # the primary key itself encrypts; cert.expiration bounds it
    return found


def openpgp_key_parse(armored: Any, *, now: datetime | None = None) -> ParsedKey:
    """Validate an uploaded public key, or raise ValidationFailed naming ``armored``."""
    now = now or timezone.now()
    if isinstance(armored, bytes):
        armored = armored.decode("utf-8", errors="replace")
    if not isinstance(armored, str) or not armored.strip():
        raise _refuse(f"Paste your public key: the output of {EXPORT_HINT}.")
    if len(armored.encode()) > MAX_BYTES:
        raise _refuse(
            "The key is larger than 64 KB. Export it without third-party signatures: "
            "gpg --armor --export-options export-minimal --export you@example.org"
        )
    text = armored.strip()
    if SECRET_HEADER in text:
        raise _refuse(
            "This is a secret (private) key; it was not stored. Never share it: upload your "
            f"public key instead ({EXPORT_HINT})."
        )
    if not text.startswith(PUBLIC_HEADER):
        raise _refuse(
            f"This is not an ASCII-armored OpenPGP public key: it must begin with "
            f"{PUBLIC_HEADER} (export it with {EXPORT_HINT})."
        )
    # Sequoia warns "use Tsk" about certificates with secret material: that is refused below.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            certs = pysequoia.Cert.split_bytes(text.encode())
        except Exception as exc:  # Sequoia raises RuntimeError with its parser's message
            message = f"This is not a valid OpenPGP public key ({_sequoia_error(exc)})."
            raise _refuse(message) from exc
        has_secrets = any(cert.has_secret_keys for cert in certs)
    if len(certs) != 1:
        raise _refuse(
            f"This contains {len(certs)} keys; upload exactly one: your own."
            if certs
            else "No key was found in this text."
        )
    cert = certs[0]
    if has_secrets:
        raise _refuse(
            "This contains secret (private) key material; it was not stored. Never share it: "
            f"upload your public key instead ({EXPORT_HINT})."
        )
    if cert.is_revoked:
        raise _refuse("This key has been revoked by its owner; upload a current key.")
    primary_expiry = cert.expiration
    if primary_expiry is not None and primary_expiry <= now:
        raise _refuse(
            f"This key expired on {_utc(primary_expiry)}. Extend it "
            "(gpg --quick-set-expire <fingerprint> 1y '*') or upload a current key."
        )
    keys = _encryption_expiries(cert)
    if not keys:
        raise _refuse(
            "This key cannot encrypt: it has no encryption subkey (it is for signing only). "
            "Add one (gpg --quick-add-key <fingerprint> cv25519 encr) and upload it again."
        )
    alive = [expiry for revoked, expiry in keys if not revoked and (expiry is None or expiry > now)]
    if not alive:
        raise _refuse(
            "This key cannot encrypt: all its encryption subkeys are expired or revoked. "
            "Extend or add one (gpg --quick-add-key <fingerprint> cv25519 encr) and upload it "
            "again."
        )
    try:  # Sequoia's own judgement under its standard policy (weak algorithms, bad bindings)
        pysequoia.encrypt(b"", recipients=[cert])
    except Exception as exc:
        raise _refuse(f"This key cannot be encrypted to ({_sequoia_error(exc)}).") from exc
    expires_at = None if None in alive else max(e for e in alive if e is not None)
    if primary_expiry is not None:
        expires_at = primary_expiry if expires_at is None else min(expires_at, primary_expiry)
    return ParsedKey(
        fingerprint=cert.fingerprint.upper(),
        user_ids=[str(uid) for uid in cert.user_ids],
        expires_at=expires_at,
        armored=str(cert),
    )


def key_warnings(parsed: ParsedKey, user: User, *, now: datetime | None = None) -> list[str]:
    """What the uploader should know about an accepted key."""
    now = now or timezone.now()
    notes = []
    emails = {parseaddr(uid)[1].lower() for uid in parsed.user_ids}
    if user.email.lower() not in emails:
        notes.append(
            f"None of this key's user IDs is {user.email}. Mail to that address will still be "
            "encrypted to this key: check that the fingerprint is the one you expect."
        )
    if parsed.expires_at is not None and parsed.expires_at - now < EXPIRY_WARNING:
        notes.append(
            f"This key expires on {_utc(parsed.expires_at)}. Extend it and upload it again "
            "before then, or mail to you will no longer be encrypted."
        )
    return notes


def openpgp_key_usable(key: OpenPGPKey | None, *, now: datetime | None = None) -> bool:
    """Whether mail may be encrypted to ``key`` now (it was validated when uploaded)."""
    if key is None:
        return False
    return key.expires_at is None or key.expires_at > (now or timezone.now())


def _check_actor(actor: Any, user: User) -> None:
    if not can_manage_openpgp_key(actor, user):
        raise NotAllowed("You may not change this person's OpenPGP key.")


@transaction.atomic
def openpgp_key_set(*, actor: Any, user: User, armored: Any) -> tuple[OpenPGPKey, list[str]]:
    """Upload or replace ``user``'s key. Returns the key and warnings for the uploader."""
    _check_actor(actor, user)
    parsed = openpgp_key_parse(armored)
    if OpenPGPKey.objects.filter(fingerprint=parsed.fingerprint).exclude(user=user).exists():
        raise _refuse("This key is already registered for another account; each needs its own.")
    old = OpenPGPKey.objects.select_for_update().filter(user=user).first()
    values = {
        "armored": parsed.armored,
        "fingerprint": parsed.fingerprint,
        "user_ids": "\n".join(parsed.user_ids),
        "expires_at": parsed.expires_at,
    }
    try:
        with transaction.atomic():  # a concurrent upload of the same key loses cleanly
            key, _ = OpenPGPKey.objects.update_or_create(user=user, defaults=values)
    except IntegrityError as exc:
        raise _refuse(
            "This key is already registered for another account; each needs its own."
        ) from exc
    audit_record(
        actor=actor,
        action="openpgp_key.set",
        data={
            "user": user.pk,
            "old_fingerprint": old.fingerprint if old else None,
            "new_fingerprint": key.fingerprint,
            "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        },
    )
    return key, key_warnings(parsed, user)


@transaction.atomic
def openpgp_key_remove(*, actor: Any, user: User) -> bool:
    """Remove ``user``'s key; mail to them is plaintext again (or refused, if their
    organization requires encryption). Returns False when there was none."""
    _check_actor(actor, user)
    key = OpenPGPKey.objects.select_for_update().filter(user=user).first()
    if key is None:
        return False
    key.delete()
    audit_record(
        actor=actor,
        action="openpgp_key.removed",
        data={"user": user.pk, "old_fingerprint": key.fingerprint},
    )
    return True
