"""TOTP secrets are stored encrypted (accounts.totp_keys): an authenticator set up through the
pages works with the secret shown there while the database (and a dump of it) holds only a
token; migration 0006 sealed the hex keys stored before (and unseals them going back); key
rotation moves the tokens to the newest key; a token no configured key opens is a wrong code."""

from __future__ import annotations

import importlib
import logging
import re
import time
from base64 import b32decode, b32encode
from io import StringIO
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.models import SealedTOTPDevice, User
from accounts.totp_keys import (
    MAX_SECRET_BYTES,
    SecretTooLong,
    is_token,
    totp_key_id,
    totp_key_open,
    totp_key_seal,
)
from disclosure.encryption import keyring
from disclosure.errors import ValidationFailed
from disclosure.management.commands.seed_demo import DEMO_TOTP_SECRET
from disclosure.services.encryption import encryption_check, encryption_rotate
from tests.disclosure.encryption.conftest import KEY_A, KEY_B
from tests.disclosure.encryption.test_dump import database_dump, leaks
from tests.mfa import KNOWN_KEY, totp_code, totp_device

MIGRATION = ("accounts", "0006_totp_keys_encrypted")
migration = importlib.import_module("accounts.migrations.0006_totp_keys_encrypted")
SETUP = reverse("mfa-setup")
VERIFY = reverse("mfa-verify")
SECRET_RE = re.compile(r'<code class="token-value" id="mfa-secret">([A-Z2-7 ]+)</code>')


def code_from(secret: bytes, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app holding ``secret`` shows now (or ``steps_ahead`` later)."""
    generator = TOTP(secret)
    generator.time = time.time() + steps_ahead * 30
    return f"{generator.token():06d}"


def totp_code_of(hex_key: str) -> str:
    return code_from(bytes.fromhex(hex_key))


def stored_keys() -> list[str]:
    """TOTPDevice.key as the database holds it, read past the ORM."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM otp_totp_totpdevice ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def enrol(client: Client, user: User) -> bytes:
    """Set up an authenticator through the pages, as a person does; the secret shown."""
    client.force_login(user)
    shown = SECRET_RE.search(client.get(SETUP).content.decode())
    assert shown is not None
    secret = b32decode(shown.group(1).replace(" ", ""))
    response = client.post(SETUP, {"token": code_from(secret), "next": "/inbox/"})
    assert response.status_code == 200  # the recovery codes
    assert mfa.user_has_mfa(user)
    return secret


def refused(user: User, code: str) -> str:
    with pytest.raises(ValidationFailed) as error:
        mfa.mfa_verify(user=user, token=code)
    detail = error.value.detail
    assert isinstance(detail, dict)
    return str(detail["token"])


@pytest.mark.mfa_unverified
@pytest.mark.django_db(transaction=True)
def test_an_authenticator_set_up_in_the_pages_logs_in_and_no_dump_holds_its_secret(world, password):
    secret = enrol(Client(), world.defender_user)
    client = Client()
    client.post(reverse("login"), {"username": world.defender_user.email, "password": password})
    response = client.post(VERIFY, {"token": code_from(secret, steps_ahead=1), "next": "/inbox/"})
    assert response.status_code == 302 and response["Location"] == "/inbox/"

    [stored] = stored_keys()
    assert is_token(stored) and len(stored) <= 80
    assert secret.hex() not in stored.lower()
    dump = database_dump()
    assert stored.encode() in dump  # the dump holds the row
    needles = (secret.hex().encode(), secret.hex().upper().encode(), b32encode(secret))
    assert leaks(dump, needles) == []


def test_a_device_saved_with_a_hex_key_stores_a_token_of_it(world):
    device = totp_device(world.defender_user)
    [stored] = stored_keys()
    assert is_token(stored) and KNOWN_KEY not in stored
    assert totp_key_id(stored) == keyring().newest.id
    assert SealedTOTPDevice.objects.get(pk=device.pk).bin_key == bytes.fromhex(KNOWN_KEY)
    mfa.mfa_verify(user=world.defender_user, token=totp_code(device))


def test_a_secret_too_long_for_the_column_is_refused_clearly():
    assert len(totp_key_seal(b"s" * MAX_SECRET_BYTES)) <= 80
    assert len(totp_key_seal(bytes(20))) <= 80  # django-otp's default
    with pytest.raises(SecretTooLong, match="at most 21 bytes"):
        totp_key_seal(b"s" * (MAX_SECRET_BYTES + 1))


def test_an_altered_token_opens_with_no_key():
    token = totp_key_seal(b"12345678901234567890")
    altered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert totp_key_open(token) == b"12345678901234567890"
    with pytest.raises(Exception, match="altered"):
        totp_key_open(altered)


def test_persistent_ids_are_django_otps_and_resolve_to_the_same_row(world):
    device = totp_device(world.defender_user)
    assert device.persistent_id == f"otp_totp.totpdevice/{device.pk}"
    loaded = Device.from_persistent_id(device.persistent_id)
    assert loaded is not None and loaded.pk == device.pk


def test_django_otps_admin_for_totp_devices_is_not_registered():
    assert not admin.site.is_registered(TOTPDevice)


def test_staff_see_who_has_an_authenticator_but_never_its_secret(world, client):
    device = totp_device(world.defender_user)
    secret = device.bin_key
    client.force_login(User.objects.create_superuser(email="root@example.org", password="x" * 16))
    listed = client.get(reverse("admin:accounts_sealedtotpdevice_changelist"))
    shown = client.get(reverse("admin:accounts_sealedtotpdevice_change", args=[device.pk]))
    assert listed.status_code == shown.status_code == 200
    assert world.defender_user.email in listed.content.decode()
    for body in (listed.content, shown.content):
        for form in (device.key, secret.hex(), b32encode(secret).decode()):
            assert form.encode() not in body
    assert b'name="_save"' not in shown.content  # read-only: no change, no delete
    assert (
        client.post(
            reverse("admin:accounts_sealedtotpdevice_delete", args=[device.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert SealedTOTPDevice.objects.filter(pk=device.pk).exists()


def test_the_migration_seals_hex_keys_once_and_going_back_restores_the_hex(world):
    apps = MigrationExecutor(connection).loader.project_state(MIGRATION, at_end=False).apps
    editor = SimpleNamespace(connection=connection)
    totp_device(world.lab_user, key="00" * 20)  # stored sealed already
    TOTPDevice.objects.create(  # as stored before 0006: django-otp's hex
        user=world.defender_user, name="Old app", key=KNOWN_KEY, confirmed=True
    )
    assert stored_keys()[1] == KNOWN_KEY
    before = stored_keys()[0]

    migration.totp_keys_seal(apps, editor)
    after = stored_keys()
    migration.totp_keys_seal(apps, editor)

    assert stored_keys() == after  # a second run changes nothing
    assert after[0] == before and is_token(after[1])
    assert totp_key_open(after[1]) == bytes.fromhex(KNOWN_KEY)
    mfa.mfa_verify(user=world.defender_user, token=totp_code_of(KNOWN_KEY))

    migration.totp_keys_unseal(apps, editor)
    assert stored_keys() == ["00" * 20, KNOWN_KEY]


def test_rotation_moves_the_tokens_to_the_new_key_and_codes_work_without_the_old(world, settings):
    settings.ENCRYPTION_KEYS = [KEY_A]
    device = totp_device(world.defender_user)
    old_id = keyring().newest.id
    settings.ENCRYPTION_KEYS = [KEY_B, KEY_A]

    assert encryption_check().values.stale == 1
    report = encryption_rotate()
    assert report.values.stale == 1 and report.failed == []
    assert encryption_check().values.stale == 0

    settings.ENCRYPTION_KEYS = [KEY_B]
    [stored] = stored_keys()
    assert totp_key_id(stored) == keyring().newest.id != old_id
    mfa.mfa_verify(user=world.defender_user, token=totp_code_of(KNOWN_KEY))
    assert device.pk


@pytest.mark.mfa_unverified
def test_a_token_no_key_opens_is_a_wrong_code_logged_and_listed_by_the_check(
    client, world, password, settings, caplog
):
    settings.ENCRYPTION_KEYS = [KEY_A]
    device = totp_device(world.defender_user)
    code = totp_code_of(KNOWN_KEY)
    settings.ENCRYPTION_KEYS = [KEY_B]  # the key that sealed it is gone

    client.post(reverse("login"), {"username": world.defender_user.email, "password": password})
    with caplog.at_level(logging.ERROR, logger="accounts.models.totp"):
        response = client.post(VERIFY, {"token": code})
    assert response.status_code == 400
    assert mfa.WRONG_CODE.split(".")[0] in response.content.decode()
    assert any("not in FOREWARN_ENCRYPTION_KEYS" in r.getMessage() for r in caplog.records)

    row = f"otp_totp.TOTPDevice.key of row {device.pk}"
    assert row in encryption_check().failed
    with pytest.raises(CommandError, match="open with none of the configured keys"):
        call_command("encryption_rotate", "--check", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_the_demo_authenticator_is_sealed_and_its_code_logs_in(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--force", stdout=StringIO())
    user = User.objects.filter(totpdevice__confirmed=True).first()
    assert user is not None
    assert all(is_token(key) for key in stored_keys())
    secret = b32decode(DEMO_TOTP_SECRET)
    assert leaks(b"".join(k.encode() for k in stored_keys()), (secret.hex().encode(),)) == []
    mfa.mfa_verify(user=user, token=code_from(secret))


def test_a_wrong_code_on_a_readable_device_is_still_refused(world):
    totp_device(world.defender_user)
    right = totp_code_of(KNOWN_KEY)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert refused(world.defender_user, wrong) == mfa.WRONG_CODE


@pytest.mark.django_db(transaction=True)
def test_migrating_back_and_forth_keeps_the_same_code_working(world):
    totp_device(world.defender_user)
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0005_recovery_codes_hashed")])
    assert stored_keys() == [KNOWN_KEY]  # back to django-otp's hex
    executor.loader.build_graph()
    executor.migrate([MIGRATION])
    [stored] = stored_keys()
    assert is_token(stored) and totp_key_open(stored) == bytes.fromhex(KNOWN_KEY)
    mfa.mfa_verify(user=world.defender_user, token=totp_code_of(KNOWN_KEY))
