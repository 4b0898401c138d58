"""Sealing audit entries into the hash chain, after the transactions that wrote them commit.

Sealing inside the business transactions would put one global lock in every audited
transaction. Instead ``audit_record`` asks for a seal when its transaction commits
(``audit_chain_seal_on_commit``), the scheduler seals every minute whatever a process that died
left behind, and ``audit_chain_seal`` takes the head of the chain and seals the unsealed rows
in id order, in short transactions under one lock (PostgreSQL: an advisory transaction lock;
SQLite: the write lock its transactions take at BEGIN). Any number of sealers may run at once;
each row is sealed once.

A row is chained only if its tag proves that the application wrote it with the *current*
AUDIT_HMAC_KEY and it is not a copy of another row (a replay of a captured tag); anything else
stays unsealed, is logged once, and is reported by ``manage.py audit_verify``. A row tagged
with a retired key (AUDIT_HMAC_KEY_FALLBACKS) is never sealed: whoever holds a leaked retired
key must not get rows into the chain.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import connection, transaction

from ..audit_hash import (
    GENESIS,
    TIME_FORMAT,
    Entry,
    audit_keys,
    content_digest,
    entry_from_row,
    seal_compute,
    select_sql,
    tag_key_index,
    tag_valid,
)
from ..models import AuditEvent

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# pg_advisory_xact_lock's key for "the audit chain" (any constant no other code uses).
LOCK_KEY = 0x46574155_44495400
TABLE = AuditEvent._meta.db_table
# Ids already logged as refused by this process: logged once, not after every write.
_refused_logged: set[int] = set()


def entries_where(tail: str, params: Iterable[Any] = ()) -> list[Entry]:
    """Audit rows as stored (``tail``: the SQL after FROM), read without the ORM's converters,
    so that no tampered value can break the read."""
    with connection.cursor() as cursor:
        cursor.execute(select_sql(connection, TABLE, tail), list(params))
        return [entry_from_row(row) for row in cursor.fetchall()]


def chain_head() -> tuple[int, str] | None:
    """The last sealed entry's sequence and hash, or None before the first seal."""
    # SQLite stores whatever it is given: a tampered place that is not a number is no head.
    sealed = "typeof(sequence) = 'integer'" if connection.vendor == "sqlite" else "sequence >= 0"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sequence, entry_hash FROM {TABLE} "  # noqa: S608 (names only)
            f"WHERE {sealed} ORDER BY sequence DESC LIMIT 1"
        )
        row = cursor.fetchone()
    return (int(row[0]), str(row[1] or "")) if row else None


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # One round trip: the lock, and no wait for this transaction's own fsync (a seal
            # lost in a crash is made again, identically, from the same rows).
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s), set_config('synchronous_commit', 'off', true)",
                [LOCK_KEY],
            )
    # SQLite: the settings' transaction_mode IMMEDIATE takes the write lock at BEGIN.


def replays_among(entries: list[Entry]) -> set[int]:
    """Ids of entries that copy another row's content (same time, same everything, lower id)."""
    times = list(
        {
            connection.ops.adapt_datetimefield_value(
                datetime.strptime(entry.created_at, TIME_FORMAT).replace(tzinfo=UTC)
            )
            for entry in entries
            if entry.time_valid
        }
    )
    if not times:
        return set()
    ids = [entry.id for entry in entries]
    marks = ", ".join(["%s"] * len(times))
    others = entries_where(
        f"WHERE created_at IN ({marks}) AND id NOT IN ({', '.join(['%s'] * len(ids))})",
        [*times, *ids],
    )
    first: dict[bytes, int] = {}
    for entry in sorted([*others, *entries], key=lambda e: e.id):
        first.setdefault(content_digest(entry), entry.id)
    return {entry.id for entry in entries if first[content_digest(entry)] != entry.id}


def _refuse(entry: Entry, why: str) -> None:
    if entry.id not in _refused_logged:
        _refused_logged.add(entry.id)
        logger.error(
            "Audit entry id %s (%r) is not sealed into the chain: %s. Run manage.py audit_verify.",
            entry.id,
            entry.action,
            why,
        )


def _write_seals(seals: list[tuple[int, str, str, Any]]) -> int:
    """Write (sequence, prev_hash, entry_hash, id) to unsealed rows; how many were written."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one statement for the batch
            rows = ", ".join(["(%s::bigint, %s, %s, %s::bigint)"] * len(seals))
            cursor.execute(
                f"UPDATE {TABLE} AS t SET sequence = v.sequence, prev_hash = v.prev_hash, "  # noqa: S608
                f"entry_hash = v.entry_hash FROM (VALUES {rows}) "
                "AS v (sequence, prev_hash, entry_hash, id) "
                "WHERE t.id = v.id AND t.sequence IS NULL",
                [value for seal in seals for value in seal],
            )
        else:
            cursor.executemany(
                f"UPDATE {TABLE} SET sequence = %s, prev_hash = %s, entry_hash = %s "  # noqa: S608
                "WHERE id = %s AND sequence IS NULL",
                seals,
            )
        return int(cursor.rowcount)


def _seal_batch(after_id: int, keys: tuple[bytes, ...]) -> tuple[int, int | None]:
    """Seal the next unsealed rows after ``after_id``: (how many sealed, the last id read)."""
    with transaction.atomic():
        _lock()
        entries = entries_where(
            "WHERE sequence IS NULL AND id > %s ORDER BY id LIMIT %s", [after_id, BATCH_SIZE]
        )
        if not entries:
            return 0, None
        replays = replays_among(entries)
        head = chain_head()
        sequence, prev_hash = head if head else (0, GENESIS)
        sealed: list[tuple[int, str, str, Any]] = []
        key = keys[0]
        for entry in entries:
            if not entry.note_readable:
                _refuse(entry, "its note does not open with the configured encryption keys")
                continue
            if not tag_valid(entry, key):
                if tag_key_index(entry, keys[1:]) is not None:
                    _refuse(
                        entry,
                        "its tag was made with a retired AUDIT_HMAC_KEY (one in "
                        "AUDIT_HMAC_KEY_FALLBACKS), and only rows tagged with the current key "
                        "are sealed: written by a process still on the old key, or forged with "
                        "a retired key",
                    )
                    continue
                _refuse(
                    entry,
                    "its tag does not match (not written by the application, or "
                    "changed before it was sealed)",
                )
                continue
            if entry.id in replays:
                _refuse(entry, "it copies an earlier entry (a replay)")
                continue
            sequence += 1
            entry_hash = seal_compute(entry, key, sequence=sequence, prev_hash=prev_hash)
            sealed.append((sequence, prev_hash, entry_hash, entry.id))
            prev_hash = entry_hash
        if sealed and _write_seals(sealed) != len(sealed):
            # Only possible if something sealed without the lock: roll back, seal nothing.
            raise RuntimeError("Audit entries changed while being sealed; nothing sealed.")
        return len(sealed), entries[-1].id


def audit_chain_seal(*, from_id: int = 0) -> int:
    """Seal every unsealed audit entry (from id ``from_id`` on) that may be sealed; returns how
    many were sealed. Idempotent; safe to run from any number of processes at once."""
    keys = audit_keys()
    total, after = 0, from_id - 1
    while True:
        count, last = _seal_batch(after, keys)
        total += count
        if last is None:
            return total
        after = last


class _SealAfterCommit:
    """The seal a transaction asks for: from its first entry on. Older entries still waiting
    belong to other transactions, whose own seals (or the sweep) take them; not scanning past
    them spares walking the index over every entry sealed since the last VACUUM."""

    def __init__(self, from_id: int) -> None:
        self.from_id = from_id

    def __call__(self) -> None:
        try:
            audit_chain_seal(from_id=self.from_id)
        except Exception:  # the sweep seals it later; never fail the request that audited
            logger.exception("Sealing the audit chain failed; the periodic sweep will retry.")


def audit_chain_seal_on_commit(event: AuditEvent) -> None:
    """Seal ``event`` (and what follows it) once the current transaction commits; at once
    outside a transaction.

    One seal per transaction is enough: one already asked for at this savepoint level or above
    survives whenever this entry does, and starts at an entry written before this one.
    """
    if connection.in_atomic_block:
        level = set(connection.savepoint_ids)
        for registered in connection.run_on_commit:  # (savepoint ids, func, robust)
            sids, func = registered[0], registered[1]
            if isinstance(func, _SealAfterCommit) and set(sids) <= level:
                return
    transaction.on_commit(_SealAfterCommit(event.pk), robust=True)


@checks.register(checks.Tags.security)
def audit_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The chain needs a key of its own, long enough not to be guessed; so does every retired
    key still listed to verify old seals. Messages name a key by its place, never its value."""
    key = str(getattr(settings, "AUDIT_HMAC_KEY", "") or "")
    hint = "Set AUDIT_HMAC_KEY to at least 32 random characters, e.g. from: " + (
        "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
    )
    errors: list[checks.CheckMessage] = []
    if len(key) < 32:
        errors.append(
            checks.Error(
                "AUDIT_HMAC_KEY is missing or shorter than 32 characters.",
                hint=hint,
                id="disclosure.E111",
            )
        )
    elif key == settings.SECRET_KEY:
        errors.append(
            checks.Error(
                "AUDIT_HMAC_KEY is the SECRET_KEY: it must be a key of its own.",
                hint=hint,
                id="disclosure.E112",
            )
        )
    return errors + _fallbacks_check(key)


def _fallbacks_check(current: str) -> list[checks.CheckMessage]:
    fallbacks = getattr(settings, "AUDIT_HMAC_KEY_FALLBACKS", None) or []
    hint = (
        "AUDIT_HMAC_KEY_FALLBACKS lists retired audit keys, newest first, exactly as they were "
        "set in AUDIT_HMAC_KEY (README: Audit trail)."
    )
    if not isinstance(fallbacks, list | tuple):
        return [
            checks.Error(
                "AUDIT_HMAC_KEY_FALLBACKS is not a list of keys.", hint=hint, id="disclosure.E116"
            )
        ]
    errors: list[checks.CheckMessage] = []
    seen = {current}
    for place, fallback in enumerate((str(k or "") for k in fallbacks), start=1):
        name = f"Entry {place} of AUDIT_HMAC_KEY_FALLBACKS"
        if len(fallback) < 32:
            errors.append(
                checks.Error(
                    f"{name} is empty or shorter than 32 characters.",
                    hint=hint,
                    id="disclosure.E113",
                )
            )
        elif fallback == settings.SECRET_KEY:
            errors.append(
                checks.Error(
                    f"{name} is the SECRET_KEY: an audit key must be a key of its own.",
                    hint=hint,
                    id="disclosure.E114",
                )
            )
        elif fallback in seen:
            errors.append(
                checks.Error(
                    f"{name} is the same as AUDIT_HMAC_KEY or as an earlier entry: after a "
                    "rotation the new key must differ from every retired one.",
                    hint=hint,
                    id="disclosure.E115",
                )
            )
        seen.add(fallback)
    return errors
