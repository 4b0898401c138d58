"""The site's OpenPGP key: it signs every encrypted email, and its public half is published
(/openpgp-key.asc and Web Key Directory) so recipients can check that mail came from Forewarn.

``OPENPGP_SIGNING_KEY_FILE`` names an ASCII-armored secret key (``OPENPGP_SIGNING_KEY_PASSPHRASE``
unlocks it if protected). Local and test settings set ``OPENPGP_SIGNING_KEY_GENERATE``: a missing
file is then created on first use. Production must be given one (system check disclosure.E101);
``manage.py openpgp_site_key`` creates it.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pysequoia
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone


@dataclass(frozen=True)
class SiteKey:
    signer: pysequoia.PySigner
    public: pysequoia.Cert

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint.upper()

    @property
    def armored_public(self) -> str:
        return str(self.public)


_lock = threading.Lock()
_cache: dict[tuple[str, int, str], SiteKey] = {}


def site_key_path() -> Path | None:
    value = getattr(settings, "OPENPGP_SIGNING_KEY_FILE", "")
    return Path(value) if value else None


def site_key_user_id() -> str:
    """The key's user ID: the address mail comes from, so clients match the two."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return f"{name or 'Forewarn'} <{address or 'forewarn@localhost'}>"


def site_key_create(path: Path) -> bool:
    """Write a new key (Ed25519 signing, Cv25519) to ``path`` unless one is there.

    Returns False when the file existed. The file is created atomically with mode 0600, so
    processes racing to create it all end up using the one that won.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tsk = pysequoia.Tsk.generate(site_key_user_id())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(str(tsk))
        try:
            os.link(tmp, path)  # fails if another process created it meanwhile
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _load(path: Path, passphrase: str) -> SiteKey:
    data = path.read_bytes()
    # Sequoia warns "use Tsk" when a Cert holds secrets; a Tsk would not say if it holds none.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            cert = pysequoia.Cert.from_bytes(data)
        except Exception as exc:
            message = f"{path} is not an OpenPGP key: {_first_line(exc)}"
            raise ImproperlyConfigured(message) from exc
        tsk = cert.secrets
    if tsk is None:
        raise ImproperlyConfigured(f"{path} holds a public key only; the secret key is needed.")
    if cert.is_revoked:
        raise ImproperlyConfigured(f"The site key in {path} is revoked.")
    if cert.expiration is not None and cert.expiration <= timezone.now():
        raise ImproperlyConfigured(f"The site key in {path} expired on {cert.expiration}.")
    try:
        signer = tsk.signer(passphrase or None)
        pysequoia.sign(signer, b"", mode=pysequoia.SignatureMode.DETACHED)
    except Exception as exc:
        raise ImproperlyConfigured(
            f"The site key in {path} cannot sign ({_first_line(exc)}); check that it has a "
            "signing key and OPENPGP_SIGNING_KEY_PASSPHRASE."
        ) from exc
    return SiteKey(signer=signer, public=tsk.extract_certificate())


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or ["unknown error"])[0]


def site_key() -> SiteKey:
    """The configured key, loaded once per process (again if the file changes)."""
    path = site_key_path()
    if path is None:
        raise ImproperlyConfigured("OPENPGP_SIGNING_KEY_FILE is not set.")
    passphrase = getattr(settings, "OPENPGP_SIGNING_KEY_PASSPHRASE", "")
    with _lock:
        if not path.exists():
            if not getattr(settings, "OPENPGP_SIGNING_KEY_GENERATE", False):
                raise ImproperlyConfigured(f"OPENPGP_SIGNING_KEY_FILE {path} does not exist.")
            site_key_create(path)
        stamp = (str(path), path.stat().st_mtime_ns, passphrase)
        key = _cache.get(stamp)
        if key is None:
            key = _load(path, passphrase)
            _cache.clear()
            _cache[stamp] = key
        return key


def site_key_sign_detached(data: bytes) -> bytes:
    """An ASCII-armored detached signature of ``data`` by the site key (CSAF's ``.asc``)."""
    signature: bytes = pysequoia.sign(
        site_key().signer, data, mode=pysequoia.SignatureMode.DETACHED
    )
    return signature


@checks.register(checks.Tags.security)
def site_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Encrypted mail must be signed: production needs a usable site key before it starts."""
    path = site_key_path()
    generate = getattr(settings, "OPENPGP_SIGNING_KEY_GENERATE", False)
    hint = (
        "Set OPENPGP_SIGNING_KEY_FILE to an ASCII-armored secret key, or create one there "
        "with: python manage.py openpgp_site_key"
    )
    if path is None:
        return [
            checks.Error(
                "OPENPGP_SIGNING_KEY_FILE is not set: encrypted email could not be signed.",
                hint=hint,
                id="disclosure.E101",
            )
        ]
    if not path.exists():
        if generate:
            return []  # created on first use (local and test settings)
        return [
            checks.Error(
                f"OPENPGP_SIGNING_KEY_FILE {path} does not exist.", hint=hint, id="disclosure.E101"
            )
        ]
    try:
        site_key()
    except (ImproperlyConfigured, OSError) as exc:
        return [checks.Error(str(exc), hint=hint, id="disclosure.E102")]
    return []
