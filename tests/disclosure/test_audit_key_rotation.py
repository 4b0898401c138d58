"""Rotating AUDIT_HMAC_KEY: retired keys (AUDIT_HMAC_KEY_FALLBACKS) verify old seals only; new
rows are tagged and sealed with the current key, and nothing tagged or sealed with a retired
key after the switch gets into the chain unreported."""

from __future__ import annotations

import json
import logging

import pytest

from disclosure.audit_hash import entry_of, seal_compute, seal_valid
from disclosure.audit_verify import chain_verify
from disclosure.models import AuditEvent
from disclosure.services import audit_chain
from disclosure.services.audit_chain import audit_chain_seal, audit_key_check, entries_where

from .audit_helpers import columns_of, insert_raw, note_stored, sealed_chain, tamper, written
from .test_audit_verify import problems, verify

NEW_KEY = "the-new-audit-key-after-the-rotation-0123456789"
NEWEST_KEY = "the-newest-audit-key-after-two-rotations-0123456"


@pytest.fixture
def old_key(settings) -> str:
    return settings.AUDIT_HMAC_KEY


@pytest.fixture
def before(world, old_key) -> list[AuditEvent]:
    """Three entries sealed with the old key, before the rotation."""
    return sealed_chain(3, actor=world.coordinator)


def _rotate(settings, new: str, *retired: str) -> None:
    settings.AUDIT_HMAC_KEY = new
    settings.AUDIT_HMAC_KEY_FALLBACKS = list(retired)


@pytest.fixture
def rotated(before, settings, old_key) -> list[AuditEvent]:
    """The key rotated (the old one retired), then two more entries sealed: the whole chain."""
    _rotate(settings, NEW_KEY, old_key)
    return before + sealed_chain(2)


def test_after_a_rotation_new_entries_are_sealed_with_the_new_key_and_the_chain_verifies(
    rotated, old_key
):
    old, new = rotated[:3], rotated[3:]
    assert [e.sequence for e in new] == [4, 5] and new[0].prev_hash == old[-1].entry_hash
    assert all(seal_valid(entry_of(e), NEW_KEY.encode()) for e in new)
    assert not any(seal_valid(entry_of(e), old_key.encode()) for e in new)
    assert all(seal_valid(entry_of(e), old_key.encode()) for e in old)
    assert chain_verify().ok
    status, output = verify()
    assert status == 0 and "Checked 5 sealed audit entries" in output


def test_a_second_rotation_keeps_the_whole_chain_verifiable(rotated, settings, old_key):
    _rotate(settings, NEWEST_KEY, NEW_KEY, old_key)
    assert [e.sequence for e in sealed_chain(1)] == [6]
    assert chain_verify().ok


def test_without_the_retired_key_the_entries_it_sealed_are_modified(rotated, settings):
    _rotate(settings, NEW_KEY)
    assert problems() == [("modified", n, rotated[n - 1].pk) for n in (1, 2, 3)]


def test_the_page_and_exports_show_entries_sealed_with_a_retired_key_as_sealed(
    client, world, rotated
):
    client.force_login(world.coordinator)
    body = client.get("/audit/").content.decode()
    assert all(f"#{n} sealed" in body for n in range(1, 6)) and "Tampered" not in body
    exported = json.loads(b"".join(client.get("/audit/export.json").streaming_content))
    assert {e["integrity"] for e in exported["events"] if e["sequence"]} == {"sealed"}
    api = client.get("/api/audit/").json()
    assert {e["integrity"] for e in api["results"] if e["sequence"]} == {"sealed"}


def test_a_row_tagged_with_the_retired_key_after_the_switch_is_never_sealed(
    client, world, before, settings, old_key, caplog, monkeypatch
):
    monkeypatch.setattr(audit_chain, "_refused_logged", set())
    (stale,) = written(1)  # by a process still on the old key, before the sealer switched
    _rotate(settings, NEW_KEY, old_key)
    with caplog.at_level(logging.ERROR, logger="disclosure.services.audit_chain"):
        assert audit_chain_seal() == 0
        assert audit_chain_seal() == 0
    refused = [r.getMessage() for r in caplog.records if f"id {stale.pk} " in r.getMessage()]
    assert len(refused) == 1 and "retired AUDIT_HMAC_KEY" in refused[0]
    assert problems() == [("retired-key", None, stale.pk)]
    status, output = verify()
    assert status == 1 and "written under a retired AUDIT_HMAC_KEY and never sealed" in output
    client.force_login(world.coordinator)
    api = client.get("/api/audit/").json()
    assert [e["integrity"] for e in api["results"] if e["id"] == stale.pk] == ["mismatch"]


def test_a_row_with_a_tag_under_no_key_is_still_inserted_not_retired_key(rotated):
    forged = columns_of(rotated[1].pk) | {
        "id": rotated[-1].pk + 50,
        "sequence": None,
        "prev_hash": "",
        "entry_hash": "a" * 64,
        "note": note_stored("forged"),
    }
    insert_raw(forged)
    assert problems() == [("inserted", None, rotated[-1].pk + 50)]


def _forge_at_head(chain: list[AuditEvent], key: str) -> int:
    """Append a sealed entry after the head, its seal made with ``key``; its id."""
    head = chain[-1]
    forged_id = head.pk + 50
    insert_raw(
        columns_of(chain[1].pk)
        | {
            "id": forged_id,
            "sequence": head.sequence + 1,
            "prev_hash": head.entry_hash,
            "entry_hash": "0" * 64,
            "note": note_stored("the coordinator exported nothing"),
        }
    )
    (entry,) = entries_where("WHERE id = %s", [forged_id])
    seal = seal_compute(entry, key.encode(), sequence=head.sequence + 1, prev_hash=head.entry_hash)
    tamper("UPDATE {table} SET entry_hash = %s WHERE id = %s", [seal, forged_id])
    return forged_id


def test_an_entry_forged_with_the_retired_key_after_the_switch_is_modified(rotated, old_key):
    forged_id = _forge_at_head(rotated, old_key)
    assert problems() == [("modified", 6, forged_id)]
    status, output = verify()
    assert status == 1
    assert "sealed with a retired AUDIT_HMAC_KEY after entries sealed with a newer one" in output


def test_entries_sealed_after_a_forged_one_still_verify(rotated, old_key):
    forged_id = _forge_at_head(rotated, old_key)
    assert [e.sequence for e in sealed_chain(1)] == [7]  # the sealer builds on the head
    assert problems() == [("modified", 6, forged_id)]


def test_an_entry_forged_with_the_current_key_is_not_reported(rotated):
    # The control for the test above: the same forgery with the current key is undetectable.
    _forge_at_head(rotated, NEW_KEY)
    assert problems() == []


def test_swapped_entries_sealed_with_a_retired_key_are_named_as_reordered(rotated):
    a, b = rotated[0], rotated[1]
    tamper("UPDATE {table} SET sequence = 1000 WHERE id = %s", [a.pk])
    tamper("UPDATE {table} SET sequence = 1 WHERE id = %s", [b.pk])
    tamper("UPDATE {table} SET sequence = 2 WHERE id = %s", [a.pk])
    assert problems() == [("reordered", 1, b.pk), ("reordered", 2, a.pk)]


def test_retired_keys_must_be_long_distinct_and_not_the_secret_key(settings):
    current = settings.AUDIT_HMAC_KEY
    good = ["r" * 40, "q" * 40]
    settings.AUDIT_HMAC_KEY_FALLBACKS = good
    assert audit_key_check() == []
    cases = {
        "disclosure.E113": [*good, "tiny-key"],
        "disclosure.E114": [settings.SECRET_KEY.ljust(32, "x")],
        "disclosure.E115": [current],
    }
    settings.SECRET_KEY = cases["disclosure.E114"][0]
    for check_id, fallbacks in cases.items():
        settings.AUDIT_HMAC_KEY_FALLBACKS = fallbacks
        messages = audit_key_check()
        assert [m.id for m in messages] == [check_id]
        assert all(key not in f"{m.msg} {m.hint}" for m in messages for key in fallbacks)
    settings.AUDIT_HMAC_KEY_FALLBACKS = [*good, "r" * 40]
    (duplicate,) = audit_key_check()
    assert duplicate.id == "disclosure.E115" and duplicate.msg.startswith("Entry 3 of")
    settings.AUDIT_HMAC_KEY_FALLBACKS = "r" * 40
    assert [m.id for m in audit_key_check()] == ["disclosure.E116"]
