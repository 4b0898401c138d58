"""Sealing audit entries into the hash chain (services.audit_chain, audit_hash, migration 0008)."""

from __future__ import annotations

import importlib
import logging
import threading
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from disclosure.audit_hash import GENESIS, audit_key, entry_of, seal_valid, tag_valid
from disclosure.audit_verify import chain_verify
from disclosure.models import AuditEvent
from disclosure.services.audit import audit_record
from disclosure.services.audit_chain import audit_chain_seal, audit_key_check
from disclosure.tasks import seal_audit_chain
from tests.hardening.test_security_headers import _production

from .audit_helpers import (
    columns_of,
    insert_raw,
    note_stored,
    sealed_chain,
    tamper,
    triggers_off,
    written,
)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (its trigger, real concurrency)"
)


def _chain() -> list[tuple[int | None, str, str]]:
    return list(
        AuditEvent.objects.filter(sequence__isnull=False)
        .order_by("sequence")
        .values_list("sequence", "prev_hash", "entry_hash")
    )


def test_a_new_entry_is_tagged_and_waits_to_be_sealed(world):
    (event,) = written(1, actor=world.coordinator)
    event.refresh_from_db()
    assert event.sequence is None and event.prev_hash == ""
    assert tag_valid(entry_of(event), audit_key())


def test_sealing_chains_the_entries_in_id_order_from_the_genesis_hash(world):
    events = written(3, actor=world.coordinator)
    assert audit_chain_seal() == 3
    chain = _chain()
    assert [sequence for sequence, _, _ in chain] == [1, 2, 3]
    assert list(AuditEvent.objects.order_by("sequence").values_list("pk", flat=True)) == [
        e.pk for e in events
    ]
    assert chain[0][1] == GENESIS
    assert chain[1][1] == chain[0][2] and chain[2][1] == chain[1][2]
    for event in AuditEvent.objects.all():
        assert seal_valid(entry_of(event), audit_key())


def test_sealing_again_changes_nothing_and_later_entries_extend_the_chain(world):
    written(2, actor=world.coordinator)
    audit_chain_seal()
    before = _chain()
    assert audit_chain_seal() == 0
    assert _chain() == before
    written(1)
    assert audit_chain_seal() == 1
    after = _chain()
    assert after[:2] == before and after[2][0] == 3 and after[2][1] == before[1][2]


def test_more_entries_than_a_batch_are_all_sealed(world, monkeypatch):
    monkeypatch.setattr("disclosure.services.audit_chain.BATCH_SIZE", 4)
    written(10)
    assert audit_chain_seal() == 10
    assert [s for s, _, _ in _chain()] == list(range(1, 11))


def test_entries_are_sealed_when_their_transaction_commits(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        written(3, actor=world.lab_user)
        assert not AuditEvent.objects.filter(sequence__isnull=False).exists()
    assert len(callbacks) == 1  # one seal per transaction, not one per entry
    assert AuditEvent.objects.filter(sequence__isnull=True).count() == 0


def test_a_transactions_seal_leaves_older_waiting_entries_to_their_own_seal_or_the_sweep(
    world, django_capture_on_commit_callbacks
):
    with mock.patch("disclosure.services.audit.audit_chain_seal_on_commit"):
        (older,) = written(1)  # its process died before its seal ran
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        (mine,) = written(1)
    assert AuditEvent.objects.get(pk=mine.pk).sequence == 1
    assert AuditEvent.objects.get(pk=older.pk).sequence is None
    assert seal_audit_chain() == 1
    assert AuditEvent.objects.get(pk=older.pk).sequence == 2


def test_an_entry_in_a_rolled_back_savepoint_does_not_cancel_the_seal(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                written(1)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        written(1)
    assert [s for s, _, _ in _chain()] == [1]


def test_numbers_text_and_nesting_in_data_seal_as_the_database_returns_them(world):
    data = {
        "float": 0.1,
        "huge": 1e300,
        "tiny": 1.5e-7,
        "whole_float": 1000.0,
        "big_int": 2**70,
        "negative": -3,
        "text": 'naïve — 東京 \u2028 "quoted"',
        "nested": [{"b": 1, "a": [None, False]}],
        "empty": {},
    }
    audit_record(actor=None, action="test.data", data=data, note="ünïcode note")
    assert audit_chain_seal() == 1
    assert chain_verify().ok


def test_a_row_written_straight_into_the_database_is_never_sealed(world, caplog):
    (real,) = written(1)
    forged = columns_of(real.pk) | {
        "id": real.pk + 100,
        "note": note_stored("forged"),
        "entry_hash": "0" * 64,
    }
    insert_raw(forged)
    with caplog.at_level(logging.ERROR, logger="disclosure.services.audit_chain"):
        assert audit_chain_seal() == 1
        audit_chain_seal()
    assert AuditEvent.objects.get(pk=real.pk + 100).sequence is None
    refused = [r for r in caplog.records if f"id {real.pk + 100} " in r.getMessage()]
    assert len(refused) == 1  # logged once, not at every seal
    assert "tag does not match" in refused[0].getMessage()


def test_a_copy_of_a_tagged_row_is_refused_as_a_replay(world):
    (real,) = written(1)
    insert_raw(columns_of(real.pk) | {"id": real.pk + 100})
    assert audit_chain_seal() == 1
    assert AuditEvent.objects.get(pk=real.pk).sequence == 1
    assert AuditEvent.objects.get(pk=real.pk + 100).sequence is None


def test_a_row_changed_before_it_was_sealed_is_not_sealed(world):
    (event,) = written(1)
    tamper("UPDATE {table} SET note = %s WHERE id = %s", [note_stored("changed"), event.pk])
    assert audit_chain_seal() == 0
    assert AuditEvent.objects.get(pk=event.pk).sequence is None


def test_the_periodic_sweep_seals_what_a_dead_process_left(world):
    written(2)  # in the test's transaction: the after-commit seal never runs
    assert seal_audit_chain() == 2


def test_the_migration_tags_rows_written_before_the_chain(world):
    (old,) = written(1)
    # As before 0008: no tag, and the note in plaintext (0011 encrypts it).
    tamper("UPDATE {table} SET entry_hash = '', note = %s WHERE id = %s", [old.note, old.pk])
    assert audit_chain_seal() == 0  # untagged: refused
    editor = SimpleNamespace(connection=connection)
    tag_existing_rows = importlib.import_module(
        "disclosure.migrations.0008_audit_chain"
    ).tag_existing_rows
    with triggers_off():  # the migration tags before it creates the trigger
        tag_existing_rows(apps, editor)
    importlib.import_module("disclosure.migrations.0011_encrypt_audit_notes").encrypt_values(
        apps, editor
    )
    assert audit_chain_seal() == 1


def test_the_key_must_be_long_and_not_the_secret_key(settings):
    settings.AUDIT_HMAC_KEY = "short"
    assert [m.id for m in audit_key_check()] == ["disclosure.E111"]
    settings.AUDIT_HMAC_KEY = settings.SECRET_KEY = "s" * 40
    assert [m.id for m in audit_key_check()] == ["disclosure.E112"]
    settings.AUDIT_HMAC_KEY = "k" * 40
    assert audit_key_check() == []


def test_the_chain_depends_on_the_key(world, settings):
    sealed_chain(2)
    settings.AUDIT_HMAC_KEY = "another-key-of-at-least-thirty-two-chars"
    assert {p.kind for p in chain_verify().problems} == {"modified"}


# --- PostgreSQL: the trigger, and sealers running at once.


@postgresql_only
def test_the_database_refuses_to_delete_an_entry(world):
    (event,) = sealed_chain(1)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@postgresql_only
@pytest.mark.parametrize(
    "change",
    [
        {"sequence": 99},
        {"entry_hash": "f" * 64},
        {"created_at": timezone.now() - timedelta(days=1)},
    ],
)
def test_the_database_refuses_to_change_a_sealed_entry(world, change):
    (event,) = sealed_chain(1)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(**change)


@postgresql_only
def test_the_database_refuses_to_change_an_entry_while_sealing_it(world):
    (event,) = written(1)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(sequence=1, note="rewritten")
    AuditEvent.objects.filter(pk=event.pk).update(sequence=1, prev_hash=GENESIS)  # sealing: ok


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_make_one_consistent_chain(world):
    """Eight threads, each with its own connection, write entries in their own transactions
    (each sealing after its commit) while two more threads seal in a loop."""
    writers, per_writer = 8, 15
    errors: list[BaseException] = []
    start = threading.Barrier(writers + 2)
    done = threading.Event()

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                with transaction.atomic():
                    audit_record(actor=None, action="test.concurrent", data={"w": n, "i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def seal() -> None:
        try:
            start.wait()
            while not done.is_set():
                audit_chain_seal()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    sealers = [threading.Thread(target=seal) for _ in range(2)]
    for thread in threads + sealers:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    for thread in sealers:
        thread.join()
    assert not errors, errors
    total = writers * per_writer
    assert AuditEvent.objects.filter(sequence__isnull=True).count() == 0
    assert sorted(AuditEvent.objects.values_list("sequence", flat=True)) == list(
        range(1, total + 1)
    )
    result = chain_verify()
    assert result.ok, [str(p) for p in result.problems]
    assert result.entries == total


@pytest.mark.parametrize("key", ["", "too-short"])
def test_the_production_settings_fail_the_deployment_check_without_a_proper_key(tmp_path, key):
    check = """
        import django
        from django.core.management import call_command
        django.setup()
        call_command("check", deploy=True, fail_level="WARNING")
        """
    result = _production(check, tmp_path, AUDIT_HMAC_KEY=key)
    assert result.returncode != 0 and "disclosure.E111" in result.stderr
