"""The site's OpenPGP signing key: configuration, the system check, the management command, and
its publication for recipients (/openpgp-key.asc and Web Key Directory)."""

from __future__ import annotations

import stat
from io import StringIO
from pathlib import Path
from typing import Any

import pysequoia
import pytest
from django.core.management import call_command

from accounts.openpgp import fingerprint_display
from disclosure.services.channels.site_key import site_key, site_key_check
from disclosure.views.openpgp import wkd_hash
from tests.gpg import GnuPG


@pytest.fixture
def production_like(settings: Any, tmp_path: Path) -> Path:
    """No key is generated on first use; returns where the key would go."""
    settings.OPENPGP_SIGNING_KEY_GENERATE = False
    settings.OPENPGP_SIGNING_KEY_PASSPHRASE = ""
    settings.OPENPGP_SIGNING_KEY_FILE = str(tmp_path / "site-key.asc")
    return tmp_path / "site-key.asc"


def _ids() -> list[str]:
    return [message.id for message in site_key_check()]


def test_production_without_a_key_fails_the_system_check(settings: Any, production_like: Path):
    settings.OPENPGP_SIGNING_KEY_FILE = ""
    assert _ids() == ["disclosure.E101"]
    settings.OPENPGP_SIGNING_KEY_FILE = str(production_like)  # set, but no file there
    assert _ids() == ["disclosure.E101"]


def test_a_public_key_or_garbage_is_not_a_signing_key(production_like: Path, gnupg: GnuPG):
    production_like.write_text(gnupg.export(gnupg.generate("Site <site@example.org>")))
    (error,) = site_key_check()
    assert error.id == "disclosure.E102"
    assert "public key only" in error.msg
    production_like.write_text("not a key")
    assert _ids() == ["disclosure.E102"]


def test_a_passphrase_protected_key_needs_its_passphrase(
    settings: Any, production_like: Path, gnupg: GnuPG
):
    gnupg.run(
        "--passphrase", "s3cret", "--quick-gen-key", "Site <site@example.org>", "future-default"
    )
    fpr = gnupg.fingerprint("site@example.org")
    exported = gnupg.run(
        "--passphrase",
        "s3cret",
        "--pinentry-mode",
        "loopback",
        "--armor",
        "--export-secret-keys",
        fpr,
    ).stdout
    production_like.write_bytes(exported)
    settings.OPENPGP_SIGNING_KEY_PASSPHRASE = "wrong"
    (error,) = site_key_check()
    assert (error.id, "cannot sign" in error.msg) == ("disclosure.E102", True)
    settings.OPENPGP_SIGNING_KEY_PASSPHRASE = "s3cret"
    assert site_key_check() == []
    assert site_key().fingerprint == fpr


def test_the_command_creates_a_private_key_file_once_and_prints_the_public_key(
    production_like: Path,
):
    out = StringIO()
    call_command("openpgp_site_key", stdout=out, stderr=StringIO())
    assert stat.S_IMODE(production_like.stat().st_mode) == 0o600
    fingerprint = site_key().fingerprint
    printed = out.getvalue()
    assert f"Fingerprint: {fingerprint_display(fingerprint)}" in printed
    assert "-----BEGIN PGP PUBLIC KEY BLOCK-----" in printed
    assert "PRIVATE" not in printed
    assert site_key_check() == []
    again = StringIO()
    call_command("openpgp_site_key", "--fingerprint", stdout=again, stderr=StringIO())
    assert again.getvalue().strip() == f"Fingerprint: {fingerprint_display(fingerprint)}"


def test_local_and_test_settings_create_the_key_on_first_use(settings: Any, tmp_path: Path):
    settings.OPENPGP_SIGNING_KEY_GENERATE = True
    settings.OPENPGP_SIGNING_KEY_FILE = str(tmp_path / "var" / "key.asc")
    assert site_key_check() == []
    key = site_key()
    assert (tmp_path / "var" / "key.asc").exists()
    assert site_key().fingerprint == key.fingerprint  # the same key from then on
    assert str(key.public.user_ids[0]) == "Forewarn <forewarn@localhost>"


def test_the_public_key_is_published_for_recipients(client: Any, db: None):
    response = client.get("/openpgp-key.asc")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/pgp-keys")
    text = response.content.decode()
    assert "PRIVATE" not in text
    cert = pysequoia.Cert.from_bytes(response.content)
    assert cert.fingerprint.upper() == site_key().fingerprint


def test_web_key_directory_serves_the_key_for_the_sender_address_only(client: Any, db: None):
    assert wkd_hash("Joe.Doe") == "iy9q119eutrkn8s1mk4r39qejnbu3n5q"  # the draft's example
    response = client.get(f"/.well-known/openpgpkey/hu/{wkd_hash('forewarn')}?l=forewarn")
    assert response.status_code == 200
    assert pysequoia.Cert.from_bytes(response.content).fingerprint.upper() == (
        site_key().fingerprint
    )
    assert client.get(f"/.well-known/openpgpkey/hu/{wkd_hash('someone')}").status_code == 404
    assert client.get("/.well-known/openpgpkey/policy").status_code == 200
