"""Audit notes are encrypted at rest, and the audit chain covers their plaintext: migrating,
rotating the keys and re-encrypting leave every seal valid; a note that no key opens is
reported as unreadable, never a server error."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from disclosure.audit_verify import chain_verify
from disclosure.models import AuditEvent
from disclosure.models.audit import UNREADABLE_NOTE_TEXT
from disclosure.services import encryption as rotation
from disclosure.services.audit import audit_record
from disclosure.services.audit_chain import audit_chain_seal
from tests.disclosure.audit_helpers import note_stored, sealed_chain, tamper, written
from tests.disclosure.encryption.conftest import KEY_A, KEY_B

migration = importlib.import_module("disclosure.migrations.0011_encrypt_audit_notes")
EDITOR = SimpleNamespace(connection=connection)
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="its trigger")


def _stored_notes() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, note FROM disclosure_auditevent ORDER BY id")
        return dict(cursor.fetchall())


def test_a_note_is_stored_encrypted_and_reads_as_written(world, keys):
    event = audit_record(actor=None, action="test.note", note="SECRET-REASON: uplift found")
    assert _stored_notes()[event.pk].startswith("gAAAAA")
    assert "SECRET" not in _stored_notes()[event.pk]
    assert AuditEvent.objects.get(pk=event.pk).note == "SECRET-REASON: uplift found"
    assert audit_chain_seal() >= 1
    assert chain_verify().ok


def test_the_migration_encrypts_plaintext_notes_and_every_seal_stays_valid(world, keys):
    chain = sealed_chain(4)
    plain = {event.pk: event.note for event in chain}
    for pk, note in plain.items():  # as stored before 0011
        tamper("UPDATE {table} SET note = %s WHERE id = %s", [note, pk])
    assert not chain_verify().ok  # plaintext is not what the chain reads now

    migration.encrypt_values(apps, EDITOR)

    stored = _stored_notes()
    assert all(stored[pk].startswith("gAAAAA") for pk in plain)
    assert {e.pk: e.note for e in AuditEvent.objects.filter(pk__in=plain)} == plain
    result = chain_verify()
    assert result.ok and result.entries == 4

    migration.decrypt_values(apps, EDITOR)  # backwards: plaintext again
    assert {pk: _stored_notes()[pk] for pk in plain} == plain


@pytest.mark.django_db(transaction=True)
def test_migrating_back_and_forth_keeps_notes_and_the_chain(world, keys):
    chain = sealed_chain(3)
    call_command("migrate", "disclosure", "0010_encrypt_webhook_secrets", verbosity=0)
    try:
        plain = [_stored_notes()[event.pk] for event in chain]
    finally:
        call_command("migrate", "disclosure", verbosity=0)
    assert plain == [event.note for event in chain]
    assert all(_stored_notes()[event.pk].startswith("gAAAAA") for event in chain)
    assert chain_verify().ok


def test_key_rotation_re_encrypts_notes_and_the_chain_still_verifies(world, keys):
    chain = sealed_chain(3)
    written(2)  # and two not sealed yet
    before = _stored_notes()
    keys(KEY_B, KEY_A)
    report = rotation.encryption_rotate()
    assert report.values.failed == []
    keys(KEY_B)  # the old key is gone: everything must open with the new one alone
    after = _stored_notes()
    assert all(after[pk] != before[pk] for pk in before)
    assert [AuditEvent.objects.get(pk=e.pk).note for e in chain] == [e.note for e in chain]
    assert audit_chain_seal() == 3  # the two written before, and the rotation's own entry
    result = chain_verify()
    assert result.ok, result.problems
    assert result.entries == 6


def test_a_key_removed_too_soon_makes_notes_unreadable_not_a_server_error(world, keys, client):
    chain = sealed_chain(2)
    (unsealed,) = written(1)
    keys(KEY_B)  # KEY_A, which encrypted them, removed without rotating first

    result = chain_verify()
    named = sorted((p.kind, p.entry.id) for p in result.problems)
    assert named == sorted(("unreadable", e.pk) for e in (*chain, unsealed))
    assert "removed before manage.py encryption_rotate ran" in str(result.problems[0])
    assert audit_chain_seal() == 0  # the unsealed one is not chained unread

    assert AuditEvent.objects.get(pk=chain[0].pk).note == UNREADABLE_NOTE_TEXT
    client.force_login(world.coordinator)
    response = client.get("/audit/")
    assert response.status_code == 200
    assert UNREADABLE_NOTE_TEXT in response.content.decode()
    assert "Tampered" in response.content.decode()


def test_a_note_replaced_with_garbage_is_named_and_its_neighbours_still_checked(world, keys):
    chain = sealed_chain(3)
    tamper("UPDATE {table} SET note = %s WHERE id = %s", ["not a token", chain[1].pk])
    result = chain_verify()
    assert [(p.kind, p.entry.sequence) for p in result.problems] == [("unreadable", 2)]


@postgresql_only
def test_the_database_lets_a_note_be_re_encrypted_and_nothing_else_with_it(world, keys):
    (event,) = sealed_chain(1)
    with connection.cursor() as cursor:  # the same plaintext, a new token: allowed
        cursor.execute(
            "UPDATE disclosure_auditevent SET note = %s WHERE id = %s",
            [note_stored(event.note), event.pk],
        )
    assert chain_verify().ok
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(note="rewritten", action="test.other")
    # Another plaintext gets past the trigger, but not past the seal.
    AuditEvent.objects.filter(pk=event.pk).update(note="rewritten")
    assert [p.kind for p in chain_verify().problems] == ["modified"]
