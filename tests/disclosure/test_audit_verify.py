"""``manage.py audit_verify``: an intact chain passes; every kind of tampering is found and the
entry named; garbage in the rows is reported, never a traceback."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from disclosure.audit_verify import chain_verify, verification_last
from disclosure.models import AuditEvent
from disclosure.tasks import verify_audit_chain

from .audit_helpers import (
    columns_of,
    insert_raw,
    note_stored,
    sealed_chain,
    stored,
    tamper,
    written,
)

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL")
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's loose types")


def verify(*args: str) -> tuple[int, str]:
    """Run the command: (exit status, what it printed)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def problems(*args: str) -> list[tuple[str, int | None, int | None]]:
    """(kind, sequence, id) of each problem, from the JSON output."""
    _, output = verify("--json", *args)
    body = json.loads(output[: output.rindex("}") + 1])
    return [(p["kind"], p["sequence"], p["id"]) for p in body["problems"]]


@pytest.fixture
def chain(world) -> list[AuditEvent]:
    return sealed_chain(5, actor=world.coordinator)


def test_an_intact_chain_passes_and_prints_its_head(chain):
    status, output = verify()
    assert status == 0
    head = chain[-1]
    assert f"Head: 5:{head.entry_hash}" in output
    assert "Checked 5 sealed audit entries" in output
    assert "The chain is intact." in output
    assert verify("--expect-head", f"5:{head.entry_hash}")[0] == 0
    assert verification_last()["ok"] is True


def test_an_empty_trail_is_intact(db):
    status, output = verify()
    assert status == 0 and "nothing is sealed yet" in output


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("note", "nothing happened"),
        ("data", '{"i": 2, "ratio": 0.5}'),
        ("data", "[1, 2, 3]"),
        ("data", '"not an object"'),
        ("action", "test.harmless"),
        ("actor_id", None),
        ("from_state", "draft"),
    ],
)
def test_a_modified_entry_is_named(chain, column, value):
    target = chain[2]
    sql = f"UPDATE {{table}} SET {column} = %s WHERE id = %s"  # noqa: S608
    tamper(sql, [stored(column, value), target.pk])
    status, output = verify()
    assert status == 1
    assert f"modified   #3 (id {target.pk}, " in output
    assert "does not match its seal" in output
    assert problems() == [("modified", 3, target.pk)]


def test_a_deleted_entry_is_named_by_the_gap_it_leaves(chain):
    tamper("DELETE FROM {table} WHERE id = %s", [chain[2].pk])
    status, output = verify()
    assert status == 1
    assert f"deleted    #4 (id {chain[3].pk}," in output and "#3 missing before it" in output
    assert problems() == [("deleted", 4, chain[3].pk)]


def test_deleting_the_first_entries_is_found(chain):
    tamper("DELETE FROM {table} WHERE sequence <= 2")
    assert problems() == [("deleted", 3, chain[2].pk)]


def test_deleting_the_last_entry_is_found_against_the_recorded_head(chain):
    head = f"5:{chain[-1].entry_hash}"
    tamper("DELETE FROM {table} WHERE id = %s", [chain[-1].pk])
    assert verify()[0] == 0  # nothing in the chain itself shows it
    status, output = verify("--expect-head", head)
    assert status == 1
    assert "truncated" in output and "the recorded head #5 is gone" in output


def test_a_tail_cut_and_written_again_is_found_against_the_recorded_head(chain, world):
    head = f"5:{chain[-1].entry_hash}"
    tamper("DELETE FROM {table} WHERE sequence >= 4")
    sealed_chain(3, actor=world.lab_user)  # the application goes on from #3: #4, #5, #6
    assert verify()[0] == 0
    assert problems("--expect-head", head) == [
        ("truncated", 5, AuditEvent.objects.get(sequence=5).pk)
    ]


def test_a_row_inserted_outside_the_application_is_named(chain):
    forged_id = chain[-1].pk + 50
    forged = columns_of(chain[1].pk) | {
        "id": forged_id,
        "sequence": None,
        "prev_hash": "",
        "entry_hash": "a" * 64,
        "note": note_stored("the coordinator exported everything"),
    }
    insert_raw(forged)
    status, output = verify()
    assert status == 1
    assert f"inserted   unsealed (id {forged_id}, test.action_1," in output
    assert "not written by the application" in output


def test_a_forged_entry_at_the_end_of_the_chain_is_named(chain):
    forged = columns_of(chain[1].pk) | {
        "id": chain[-1].pk + 50,
        "sequence": 6,
        "prev_hash": chain[-1].entry_hash,
        "entry_hash": "b" * 64,
    }
    insert_raw(forged)
    assert problems() == [("modified", 6, chain[-1].pk + 50)]


@postgresql_only
def test_a_second_entry_in_one_place_is_named_as_inserted(chain):
    tamper("ALTER TABLE {table} DROP CONSTRAINT disclosure_auditevent_sequence_key")
    forged = columns_of(chain[2].pk) | {"id": chain[-1].pk + 50, "note": note_stored("forged")}
    insert_raw(forged)
    assert ("inserted", 3, chain[-1].pk + 50) in problems()


def test_a_copy_of_an_unsealed_entry_is_named_as_inserted(world):
    (event,) = written(1)
    insert_raw(columns_of(event.pk) | {"id": event.pk + 50})
    assert problems() == [("inserted", None, event.pk + 50)]


def test_swapped_entries_are_named_as_reordered(chain):
    a, b = chain[1], chain[2]
    tamper("UPDATE {table} SET sequence = 1000 WHERE id = %s", [a.pk])
    tamper("UPDATE {table} SET sequence = 2 WHERE id = %s", [b.pk])
    tamper("UPDATE {table} SET sequence = 3 WHERE id = %s", [a.pk])
    status, output = verify()
    assert status == 1
    assert f"reordered  #2 (id {b.pk}," in output and "it was sealed as #3, not #2" in output
    assert problems() == [("reordered", 2, b.pk), ("reordered", 3, a.pk)]


def test_swapped_times_are_found(chain):
    a, b = chain[1], chain[2]
    tamper("UPDATE {table} SET created_at = %s WHERE id = %s", [b.created_at, a.pk])
    tamper("UPDATE {table} SET created_at = %s WHERE id = %s", [a.created_at, b.pk])
    assert problems() == [("modified", 2, a.pk), ("modified", 3, b.pk)]


def test_a_replaced_hash_is_named_once(chain):
    tamper("UPDATE {table} SET entry_hash = %s WHERE id = %s", ["c" * 64, chain[1].pk])
    assert problems() == [("modified", 2, chain[1].pk)]  # not also the link from #3 to it


def test_a_later_entry_moved_into_a_deleted_ones_place_is_named_as_reordered(chain, world):
    (late,) = sealed_chain(1, actor=world.lab_user)  # #6
    tamper("DELETE FROM {table} WHERE id = %s", [chain[1].pk])
    tamper("UPDATE {table} SET sequence = 2 WHERE id = %s", [late.pk])
    assert problems() == [("reordered", 2, late.pk)]  # not also the link from #3 to it


def test_an_entry_left_unsealed_past_the_grace_period_is_reported(world):
    written(1)  # the test's transaction never commits, so nothing seals it
    assert verify()[0] == 0  # within the grace period: waiting, not a problem
    status, output = verify("--grace-seconds", "0")
    assert status == 1 and "unsealed" in output and "not sealed after 0:00:00" in output


def test_a_walk_in_small_chunks_sees_every_entry(chain):
    result = chain_verify(chunk_size=2)
    assert result.ok and result.entries == 5 and result.head == (5, chain[-1].entry_hash)


def test_problems_beyond_the_limit_are_counted_not_printed(chain):
    tamper("UPDATE {table} SET note = %s", [note_stored("x")])
    status, output = verify("--max-problems", "2")
    assert status == 1
    assert output.count("modified   #") == 2
    assert "5 problem(s) found (the first 2 are shown)." in output


def test_a_failure_is_remembered_for_the_audit_page(chain):
    tamper("UPDATE {table} SET note = %s WHERE id = %s", [note_stored("x"), chain[0].pk])
    verify()
    last = verification_last()
    assert last["ok"] is False and last["problems_total"] == 1


def test_control_characters_in_a_tampered_action_are_not_printed(chain):
    tamper("UPDATE {table} SET action = %s WHERE id = %s", ["evil\x1b[2J\x07", chain[0].pk])
    _, output = verify()
    assert "\x1b" not in output and "\x07" not in output
    assert "evil?[2J?" in output


# --- Garbage that only a tampered database holds: reported, never a traceback.


@postgresql_only
def test_null_hashes_are_reported(chain):
    tamper("ALTER TABLE {table} ALTER COLUMN entry_hash DROP NOT NULL")
    tamper("ALTER TABLE {table} ALTER COLUMN prev_hash DROP NOT NULL")
    tamper("UPDATE {table} SET entry_hash = NULL, prev_hash = NULL WHERE id = %s", [chain[1].pk])
    assert problems() == [("modified", 2, chain[1].pk)]


@sqlite_only
@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [
        ("created_at", "not a time", "modified"),
        ("created_at", "2026-13-45 99:99:99", "modified"),
        ("data", "{not json", "modified"),
        ("data", "", "modified"),
        ("sequence", "three", "unreadable"),
        ("sequence", -4, "unreadable"),
        ("entry_hash", 12345, "modified"),
    ],
)
def test_values_of_the_wrong_type_are_reported(chain, column, value, kind):
    tamper(f"UPDATE {{table}} SET {column} = %s WHERE id = %s", [value, chain[2].pk])  # noqa: S608
    status, output = verify()
    assert status == 1
    assert "Traceback" not in output
    assert any(p[0] == kind and p[2] == chain[2].pk for p in problems())


# --- Using it.


@pytest.mark.parametrize(
    "head", ["5", "five:" + "a" * 64, "5:" + "a" * 63, "5:" + "g" * 64, "0:" + "a" * 64]
)
def test_a_malformed_expected_head_is_exit_status_2_saying_why(chain, head):
    status, output = verify("--expect-head", head)
    assert status == 2
    assert "--expect-head" in output


def test_without_a_key_it_cannot_check_and_says_so(chain, settings):
    settings.AUDIT_HMAC_KEY = ""
    status, output = verify()
    assert status == 2 and "AUDIT_HMAC_KEY is not set" in output


def test_the_json_output_has_the_head_and_the_problems(chain):
    tamper("UPDATE {table} SET note = %s WHERE id = %s", [note_stored("x"), chain[0].pk])
    status, output = verify("--json")
    body = json.loads(output[: output.rindex("}") + 1])
    assert status == 1
    assert body["ok"] is False and body["entries"] == 5
    assert body["head"] == f"5:{chain[-1].entry_hash}"
    assert body["problems"][0]["action"] == "test.action_0"
    assert "note" not in json.dumps(body["problems"])  # names the entry, never its content


def test_the_scheduled_check_logs_a_failure(chain, caplog):
    assert verify_audit_chain() is True
    tamper("UPDATE {table} SET note = %s WHERE id = %s", [note_stored("x"), chain[0].pk])
    assert verify_audit_chain() is False
    assert "The audit chain failed verification: 1 problem(s)" in caplog.text
    assert verification_last()["ok"] is False
