"""Checking the audit chain, for ``manage.py audit_verify`` and the scheduled check.

The sealed entries are walked in chain order, a few thousand at a time, each checked against
its seal and against the entry before it; then the entries not yet sealed are checked against
their tags. A problem names the entry (its place in the chain, id, action and time; never its
note or data) and what it means:

- ``modified``: it does not match its seal under any configured key: changed after sealing,
  or forged without the key; or it matches only under a retired key (AUDIT_HMAC_KEY_FALLBACKS)
  older than the one that sealed an entry before it: forged with a retired key.
- ``reordered``: it matches its seal at another place in the chain: it was moved.
- ``deleted``: places in the chain are empty (a gap, or a chain that does not start at #1).
- ``inserted``: a second entry in one place; or a row outside the chain that the application
  did not write (its tag does not match), or that copies an earlier entry (a replay).
- ``broken``: it matches its seal but not the hash of the entry before it, which was replaced.
- ``unsealed``: written by the application but still outside the chain after the grace period.
- ``retired-key``: outside the chain, its tag made with a retired AUDIT_HMAC_KEY: in flight
  when the key changed, or forged with a retired key. The sealer never chains it.
- ``truncated``: the head recorded earlier (``expect_head``) is gone or has another hash.
- ``unreadable``: a value that cannot be what the application wrote (a sequence that is not a
  whole number), or a note that none of the configured encryption keys opens (altered, or
  encrypted under a key taken out of FOREWARN_ENCRYPTION_KEYS too soon): its seal cannot be
  checked, but the links to its neighbours still are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .audit_hash import (
    GENESIS,
    TIME_FORMAT,
    Entry,
    audit_keys,
    seal_compute,
    seal_key_index,
    tag_key_index,
    tag_valid,
)
from .services.audit_chain import entries_where, replays_among

logger = logging.getLogger(__name__)

CHUNK_SIZE = 5000
# A moved entry is recognised within this many places of where it stands.
REORDER_WINDOW = 8
# The last result, for the coordinators' audit page.
LAST_RESULT_CACHE_KEY = "forewarn:audit-chain:last-verification"
NOTE_UNREADABLE = (
    "its note does not open with any key in FOREWARN_ENCRYPTION_KEYS: it was altered, or the "
    "key it was encrypted with was removed before manage.py encryption_rotate ran."
)

RETIRED_KEY_TAG = (
    "written under a retired AUDIT_HMAC_KEY and never sealed: in flight when the key changed, "
    "or forged with a retired key."
)


def _printable(value: Any, limit: int = 80) -> str:
    """A stored value fit for a terminal or a log line: no control characters, bounded."""
    text = value if isinstance(value, str) else repr(value)
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def entry_label(entry: Entry) -> str:
    where = f"#{_printable(entry.sequence)}" if entry.sealed else "unsealed"
    when = entry.created_at if entry.time_valid else "an invalid time"
    return f"{where} (id {_printable(entry.id)}, {_printable(entry.action)}, {when})"


@dataclass(frozen=True)
class Problem:
    kind: str
    detail: str
    entry: Entry | None = None

    def __str__(self) -> str:
        where = f"{entry_label(self.entry)}: " if self.entry is not None else ""
        return f"{self.kind:<10} {where}{self.detail}"

    def as_dict(self) -> dict[str, Any]:
        entry = self.entry
        return {
            "kind": self.kind,
            "detail": self.detail,
            "sequence": entry.sequence if entry and isinstance(entry.sequence, int) else None,
            "id": entry.id if entry else None,
            "action": _printable(entry.action) if entry else None,
            "created_at": entry.created_at if entry and entry.time_valid else None,
        }


@dataclass
class Verification:
    checked_at: datetime
    entries: int = 0  # sealed entries walked
    pending: int = 0  # unsealed, within the grace period, with a valid tag
    head: tuple[int, str] | None = None
    problems: list[Problem] = field(default_factory=list)  # the first max_problems
    problems_total: int = 0
    max_problems: int = 100

    @property
    def ok(self) -> bool:
        return self.problems_total == 0

    def add(self, kind: str, detail: str, entry: Entry | None = None) -> None:
        self.problems_total += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(Problem(kind, detail, entry))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat(),
            "entries": self.entries,
            "pending": self.pending,
            "head": f"{self.head[0]}:{self.head[1]}" if self.head else None,
            "problems_total": self.problems_total,
            "problems": [problem.as_dict() for problem in self.problems],
        }


def parse_head(text: str) -> tuple[int, str]:
    """``"SEQ:HASH"`` as printed by audit_verify; ValueError naming what is wrong."""
    sequence, _, digest = text.strip().partition(":")
    if not sequence.isdigit() or int(sequence) < 1:
        raise ValueError(f"{text!r}: the sequence before ':' must be a positive whole number.")
    digest = digest.lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{text!r}: the hash after ':' must be 64 hexadecimal characters.")
    return int(sequence), digest


def _sealed(chunk_size: int) -> Iterator[Entry]:
    """Every sealed entry in chain order (ties, which only tampering makes, by id)."""
    batch = entries_where("WHERE sequence IS NOT NULL ORDER BY sequence, id LIMIT %s", [chunk_size])
    while batch:
        yield from batch
        last = batch[-1]
        batch = entries_where(
            "WHERE sequence IS NOT NULL AND (sequence > %s OR (sequence = %s AND id > %s)) "
            "ORDER BY sequence, id LIMIT %s",
            [last.sequence, last.sequence, last.id, chunk_size],
        )


def _unsealed(chunk_size: int) -> Iterator[list[Entry]]:
    after: Any = 0
    while batch := entries_where(
        "WHERE sequence IS NULL AND id > %s ORDER BY id LIMIT %s", [after, chunk_size]
    ):
        yield batch
        after = batch[-1].id


def _moved_from(entry: Entry, keys: tuple[bytes, ...]) -> int | None:
    """The place near its own at which the entry matches its seal under any key, if any."""
    for key in keys:
        for offset in range(1, REORDER_WINDOW + 1):
            for place in (entry.sequence - offset, entry.sequence + offset):
                if place < 1:
                    continue
                expected = seal_compute(entry, key, sequence=place, prev_hash=entry.prev_hash)
                if expected == entry.entry_hash:
                    return int(place)
    return None


class _Walk:
    """The state of the walk along the sealed entries."""

    def __init__(
        self, result: Verification, keys: tuple[bytes, ...], expect: tuple[int, str] | None
    ) -> None:
        self.result = result
        self.keys = keys
        self.expect = expect
        self.prev: Entry | None = None
        self.prev_matched = True  # whether the previous entry matched its seal
        # The newest key (lowest index in keys) that has sealed an entry so far: keys only
        # ever change to newer ones along the chain, so an older one after it is a forgery.
        self.newest_key = len(keys)
        self.expected_entry: Entry | None = None

    def step(self, entry: Entry) -> None:
        result = self.result
        result.entries += 1
        sequence = entry.sequence
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            result.add(
                "unreadable", "its place in the chain is not a positive whole number.", entry
            )
            return
        prev = self.prev
        if prev is not None and sequence == prev.sequence:
            result.add("inserted", f"a second entry at #{sequence}.", entry)
            return
        if self.expect and sequence == self.expect[0]:
            self.expected_entry = entry
        if prev is None and sequence > 1:
            result.add(
                "deleted", f"the chain starts here: #1 to #{sequence - 1} are missing.", entry
            )
        elif prev is not None and sequence > prev.sequence + 1:
            missing = (
                f"#{prev.sequence + 1}"
                if sequence == prev.sequence + 2
                else f"#{prev.sequence + 1} to #{sequence - 1}"
            )
            result.add("deleted", f"{missing} missing before it.", entry)
        matched = self._seal_matches(entry)  # a mismatch is reported there
        if matched:
            self._link_check(entry, prev)
        self.prev = entry
        self.prev_matched = matched

    def _link_check(self, entry: Entry, prev: Entry | None) -> None:
        """Whether an entry that matches its seal follows the entry before it."""
        if prev is not None and entry.sequence == prev.sequence + 1:
            # After an entry that does not match its seal, a broken link says nothing more.
            if self.prev_matched and entry.prev_hash != prev.entry_hash:
                self.result.add(
                    "broken",
                    f"it follows another entry than the #{prev.sequence} now there: that one "
                    "was replaced, or its hash changed.",
                    entry,
                )
        elif prev is None and entry.sequence == 1 and entry.prev_hash != GENESIS:
            self.result.add(
                "broken", "the first entry does not start from the genesis hash.", entry
            )

    def _seal_matches(self, entry: Entry) -> bool:
        """Whether the entry matches its seal, reporting it if not. An unreadable note counts
        as a match: unknown, and its neighbours' links are still checked."""
        result = self.result
        if not entry.note_readable:
            result.add("unreadable", NOTE_UNREADABLE, entry)
            return True
        index = seal_key_index(entry, self.keys)
        if index is None:
            moved = _moved_from(entry, self.keys)
            if moved is not None:
                result.add("reordered", f"it was sealed as #{moved}, not #{entry.sequence}.", entry)
            else:
                result.add(
                    "modified",
                    "its content does not match its seal: changed after sealing, or forged "
                    "by someone without the key.",
                    entry,
                )
            return False
        if index > self.newest_key:
            result.add(
                "modified",
                "it was sealed with a retired AUDIT_HMAC_KEY after entries sealed with a newer "
                "one: forged with a retired key.",
                entry,
            )
            return False
        self.newest_key = index
        return True

    def finish(self) -> None:
        result = self.result
        if self.prev is not None and isinstance(self.prev.sequence, int):
            result.head = (self.prev.sequence, self.prev.entry_hash)
        if self.expect is None:
            return
        sequence, digest = self.expect
        found = self.expected_entry
        if found is None:
            ends = f"#{result.head[0]}" if result.head else "nothing sealed"
            result.add(
                "truncated",
                f"the recorded head #{sequence} is gone (the chain ends at {ends}): entries "
                "were deleted from the end.",
            )
        elif found.entry_hash != digest:
            result.add(
                "truncated",
                f"the recorded head #{sequence} has another hash now: the chain was cut there "
                "and written again.",
                found,
            )


def _check_unsealed(
    result: Verification, keys: tuple[bytes, ...], grace: timedelta, chunk: int
) -> None:
    cutoff = (result.checked_at - grace).strftime(TIME_FORMAT)
    for batch in _unsealed(chunk):
        replays = replays_among(batch)
        for entry in batch:
            if not entry.note_readable:
                result.add("unreadable", NOTE_UNREADABLE, entry)
            elif not tag_valid(entry, keys[0]):
                if tag_key_index(entry, keys[1:]) is not None:
                    result.add("retired-key", RETIRED_KEY_TAG, entry)
                    continue
                result.add(
                    "inserted",
                    "outside the chain, and not written by the application (its tag does not "
                    "match), or changed before it was sealed.",
                    entry,
                )
            elif entry.id in replays:
                result.add("inserted", "outside the chain: a copy of an earlier entry.", entry)
            elif entry.created_at < cutoff:
                result.add(
                    "unsealed",
                    f"written by the application but not sealed after {grace}: sealing is "
                    "failing (see the logs), or the row was held back.",
                    entry,
                )
            else:
                result.pending += 1


def chain_verify(
    *,
    expect_head: tuple[int, str] | None = None,
    grace: timedelta | None = None,
    max_problems: int = 100,
    chunk_size: int = CHUNK_SIZE,
) -> Verification:
    """Check the whole chain; the result lists the problems found (see the module's docstring)."""
    keys = audit_keys()
    if grace is None:
        grace = timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS)
    result = Verification(checked_at=timezone.now().astimezone(UTC), max_problems=max_problems)
    walk = _Walk(result, keys, expect_head)
    for entry in _sealed(chunk_size):
        try:
            walk.step(entry)
        except Exception as exc:  # a value nobody foresaw: report it, go on
            result.add("unreadable", f"it could not be checked ({type(exc).__name__}).", entry)
    walk.finish()
    _check_unsealed(result, keys, grace, chunk_size)
    return result


def verification_remember(result: Verification, *, log: bool = True) -> None:
    """Keep the result for the audit page; log a failure (unless the caller reports it)."""
    cache.set(LAST_RESULT_CACHE_KEY, result.as_dict(), None)
    if log and not result.ok:
        logger.error(
            "The audit chain failed verification: %s problem(s); the first: %s",
            result.problems_total,
            result.problems[0] if result.problems else "",
        )


def verification_last() -> dict[str, Any] | None:
    """The last remembered result (``Verification.as_dict``), if any."""
    value = cache.get(LAST_RESULT_CACHE_KEY)
    return value if isinstance(value, dict) else None
