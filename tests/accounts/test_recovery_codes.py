"""Recovery codes are stored as keyed digests: each code works once, typed in any case or
spacing; a wrong one is throttled; the database (and a dump of it) holds no code; a code made
under an old SECRET_KEY works while that key is in SECRET_KEY_FALLBACKS; migration 0005 turned
the codes stored before into digests that accept the same codes."""

from __future__ import annotations

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts import mfa
from accounts.models import User
from accounts.recovery_codes import is_digest, recovery_code_digest
from disclosure.errors import ValidationFailed
from tests.disclosure.encryption.test_dump import database_dump, leaks
from tests.mfa import totp_device

BEFORE = ("accounts", "0004_authentication")
MIGRATION = ("accounts", "0005_recovery_codes_hashed")
migration = importlib.import_module("accounts.migrations.0005_recovery_codes_hashed")
OLD_KEY = "old-secret-key-" + "o" * 40
NEW_KEY = "new-secret-key-" + "n" * 40


def codes_for(user: User) -> list[str]:
    """A user with an authenticator app and a fresh set of recovery codes."""
    totp_device(user)
    return mfa.recovery_codes_first(actor=user)


def refused(user: User, code: str) -> str:
    with pytest.raises(ValidationFailed) as error:
        mfa.mfa_verify(user=user, token=code)
    detail = error.value.detail
    assert isinstance(detail, dict)
    return str(detail["token"])


def stored_tokens() -> list[str]:
    """StaticToken.token as the database holds it, read past the ORM."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM otp_static_statictoken ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def plaintext_codes_stored(user: User, count: int = 3) -> list[str]:
    """Codes stored as they were before migration 0005: django-otp's codes, as they are."""
    device = StaticDevice.objects.create(user=user, name=mfa.RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(count)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def test_a_code_works_once_however_it_is_typed(world):
    user = world.defender_user
    codes = codes_for(user)
    typed = f"  {codes[0][:4].upper()}-{codes[0][4:]} "
    assert isinstance(mfa.mfa_verify(user=user, token=typed), StaticDevice)
    assert isinstance(mfa.mfa_verify(user=user, token=codes[1]), StaticDevice)
    assert mfa.recovery_codes_remaining(user) == mfa.RECOVERY_CODES - 2
    assert refused(user, codes[0]) == mfa.WRONG_CODE


def test_a_wrong_code_is_refused_and_the_right_one_then_waits(world, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 60  # a wait no test outlasts
    user = world.defender_user
    codes = codes_for(user)
    assert refused(user, "abcd-efgh") == mfa.WRONG_CODE
    device = StaticDevice.objects.get(user=user)
    assert device.throttling_failure_count == 1
    assert "wait" in refused(user, codes[0])
    assert mfa.recovery_codes_remaining(user) == mfa.RECOVERY_CODES  # not used up meanwhile

    StaticDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(minutes=2)
    )
    mfa.mfa_verify(user=user, token=codes[0])
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_the_database_holds_digests_not_codes(world):
    codes = codes_for(world.defender_user)
    stored = stored_tokens()
    assert len(stored) == mfa.RECOVERY_CODES
    assert all(is_digest(token) for token in stored)
    assert not [code for code in codes for token in stored if code in token.lower()]


@pytest.mark.django_db(transaction=True)
def test_a_dump_of_the_database_reveals_no_recovery_code(world):
    codes = codes_for(world.defender_user)
    dump = database_dump()
    assert recovery_code_digest(codes[0]).encode() in dump  # the rows are in it
    needles = tuple(form.encode() for code in codes for form in (code, code.upper()))
    assert leaks(dump, needles) == []


def test_a_code_made_under_an_old_secret_key_works_with_that_key_in_the_fallbacks(world, settings):
    user = world.defender_user
    settings.SECRET_KEY = OLD_KEY
    codes = codes_for(user)
    settings.SECRET_KEY = NEW_KEY
    settings.SECRET_KEY_FALLBACKS = [OLD_KEY]
    mfa.mfa_verify(user=user, token=codes[0])
    settings.SECRET_KEY_FALLBACKS = []
    assert refused(user, codes[1]) == mfa.WRONG_CODE  # the old key gone, its codes go too


def test_the_migration_hashes_stored_codes_once_and_leaves_digests_alone(world):
    apps = MigrationExecutor(connection).loader.project_state(MIGRATION, at_end=False).apps
    editor = SimpleNamespace(connection=connection)
    old = plaintext_codes_stored(world.defender_user)
    new = codes_for(world.lab_user)
    digests_before = set(
        StaticToken.objects.filter(device__user=world.lab_user).values_list("token", flat=True)
    )
    migration.recovery_codes_hash(apps, editor)
    after = stored_tokens()
    migration.recovery_codes_hash(apps, editor)

    assert stored_tokens() == after  # a second run changes nothing
    assert all(is_digest(token) for token in after)
    assert set(after) == digests_before | {recovery_code_digest(code) for code in old}
    mfa.mfa_verify(user=world.defender_user, token=old[0])
    mfa.mfa_verify(user=world.lab_user, token=new[0])


@pytest.mark.django_db(transaction=True)
def test_migrating_forward_keeps_the_codes_stored_before_working(world):
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])  # going back leaves rows as they are
    old = plaintext_codes_stored(world.defender_user)
    try:
        executor.loader.build_graph()
        executor.migrate([MIGRATION])
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert all(is_digest(token) for token in stored_tokens())
    mfa.mfa_verify(user=world.defender_user, token=old[0])
    assert refused(world.defender_user, old[0]) == mfa.WRONG_CODE
