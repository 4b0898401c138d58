"""The audit chain's arithmetic: an entry's canonical form, its tag and its seal.

Pure functions over plain values, shared by the model (which tags every new row), the sealer
(services.audit_chain), the verifier (audit_verify) and migration 0008.

- The **tag** of a new row is an HMAC-SHA256 over its content (everything but its id, which
  the database assigns, and the seal columns), kept in ``entry_hash`` until it is sealed. Only
  the application holds the key, so a row written straight into the database has no valid tag
  and the sealer refuses to chain it.
- The **seal** of a row is an HMAC-SHA256 over its content, id, ``sequence`` (its position in
  the chain) and ``prev_hash`` (the seal of the entry before it, ``GENESIS`` for the first).

The canonical form is a JSON-like text with sorted keys and no spaces, strings escaped to ASCII
and numbers written as their normalized decimal value (``str(Decimal(n).normalize())``), so that
PostgreSQL's jsonb (which keeps numbers as decimals and reorders keys) and SQLite's text give the
same bytes. Values that are not what the column should hold (a tampered row) still have a
canonical form, a ``!`` token that no valid value produces, so hashing never fails.

AUDIT_HMAC_KEY is not derived from SECRET_KEY: someone with the database alone can neither
forge a tag nor recompute the chain after changing it. It can be rotated: retired keys, listed
in AUDIT_HMAC_KEY_FALLBACKS, only verify seals made before; new rows are tagged and sealed
with the current key alone, and the sealer chains only rows tagged with it.

The note is stored encrypted (it may hold embargoed text: a reason, a triage message, an
attachment's name), and tags and seals cover its *plaintext*: rotating the encryption keys
re-encrypts notes without touching the chain. A stored note that no configured key opens reads
as ``UNREADABLE_NOTE``, whose canonical form is a ``!`` token, so it matches no tag or seal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_datetime

from .encryption import DecryptionError, decrypt_text

GENESIS = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # an entry's time, always UTC with microseconds
FORMAT = 1  # part of every canonical form, so that a future format cannot collide with this one
# Exact for any number a JSON text can hold: normalizing never rounds.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
# Columns in the order that ``entry_from_row`` expects them.
COLUMNS = (
    "id",
    "sequence",
    "prev_hash",
    "entry_hash",
    "created_at",
    "actor_id",
    "action",
    "finding_id",
    "from_state",
    "to_state",
    "note",
    "data",
)


class _Unreadable:
    """A stored note that does not decrypt: altered, or under a key no longer configured."""

    def __repr__(self) -> str:
        return "<note that no configured key opens>"


UNREADABLE_NOTE = _Unreadable()


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit row as stored, its time and data already in canonical text form."""

    id: Any
    sequence: Any  # an int once sealed, None before; anything in a tampered row
    prev_hash: str
    entry_hash: str
    created_at: str  # "2026-11-24T04:53:51.123456Z", or a "!" token when not a time
    actor_id: Any
    action: Any
    finding_id: Any
    from_state: Any
    to_state: Any
    note: Any  # the plaintext; UNREADABLE_NOTE when the stored token does not decrypt
    data: str  # the canonical form of the JSON value, or a "!" token when not JSON

    @property
    def sealed(self) -> bool:
        return self.sequence is not None

    @property
    def note_readable(self) -> bool:
        return self.note is not UNREADABLE_NOTE

    @property
    def time_valid(self) -> bool:
        return not self.created_at.startswith("!")


def audit_key() -> bytes:
    """The current key: the only one that tags and seals."""
    key = getattr(settings, "AUDIT_HMAC_KEY", "")
    if not key:
        raise ImproperlyConfigured("AUDIT_HMAC_KEY is not set: audit entries cannot be sealed.")
    return str(key).encode()


def audit_keys() -> tuple[bytes, ...]:
    """The current key, then the retired ones (AUDIT_HMAC_KEY_FALLBACKS, newest first): a
    key's index in this tuple says how old it is. Retired keys only verify old seals."""
    fallbacks = getattr(settings, "AUDIT_HMAC_KEY_FALLBACKS", None) or ()
    if not isinstance(fallbacks, list | tuple):
        raise ImproperlyConfigured("AUDIT_HMAC_KEY_FALLBACKS must be a list of keys.")
    return (audit_key(), *(str(key).encode() for key in fallbacks if key))


# --- The canonical form.


def _raw(value: Any) -> str:
    """A value that is not what its column should hold: distinct from every valid form."""
    return "!" + json.dumps(repr(value) if not isinstance(value, str) else value)


def _number(value: int | float | Decimal) -> str:
    try:
        number = value if isinstance(value, Decimal) else Decimal(repr(value))
        if number.is_zero():
            return "0"
        return str(number.normalize(_EXACT))
    except (InvalidOperation, ValueError):
        return _raw(value)


def canonical(value: Any) -> str:
    """A JSON value's canonical text (see the module's docstring)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted((str(key), item) for key, item in value.items())
        return "{" + ",".join(f"{canonical(key)}:{canonical(item)}" for key, item in items) + "}"
    return _raw(value)


def canonical_json_text(text: Any) -> str:
    """The canonical form of a stored JSON text (or of an already parsed value)."""
    if not isinstance(text, str | bytes | bytearray):
        return canonical(_decimals(text))
    try:
        value = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, RecursionError):
        return _raw(text if isinstance(text, str) else bytes(text).decode(errors="replace"))
    return canonical(value)


def _decimals(value: Any) -> Any:
    """A parsed JSON value with its numbers as Decimals, as parsing the text would give."""
    return json.loads(json.dumps(value), parse_float=Decimal, parse_int=Decimal)


def canonical_data(value: Any) -> str:
    """The canonical form of a Python value about to be stored in the JSON column."""
    return canonical_json_text(json.dumps(value))


def canonical_time(value: Any) -> str:
    """An aware time as UTC text with microseconds; naive ones are UTC (as Django stores them)."""
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            return _raw(value)
        value = parsed
    if not isinstance(value, datetime):
        return _raw(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def note_decrypt(stored: Any) -> Any:
    """A stored note's plaintext, or UNREADABLE_NOTE; anything not text is left as it is (a
    tampered row: its canonical form is a "!" token)."""
    if isinstance(stored, bytes | bytearray | memoryview):
        stored = bytes(stored).decode(errors="replace")
    if not isinstance(stored, str):
        return stored
    try:
        return decrypt_text(stored, what="an audit note")
    except (DecryptionError, ValueError):  # ValueError: a plaintext that is not UTF-8
        return UNREADABLE_NOTE


def entry_from_row(row: tuple[Any, ...] | list[Any], *, note_encrypted: bool = True) -> Entry:
    """An Entry from the columns of COLUMNS as the database returned them; never raises.

    ``note_encrypted`` is False only for migrations that ran before notes were encrypted."""
    values = dict(zip(COLUMNS, row, strict=True))
    sequence = values["sequence"]
    if isinstance(sequence, str) and sequence.isdigit():  # SQLite keeps what it is given
        sequence = int(sequence)
    return Entry(
        id=values["id"],
        sequence=sequence,
        prev_hash=_text(values["prev_hash"]),
        entry_hash=_text(values["entry_hash"]),
        created_at=canonical_time(values["created_at"]),
        actor_id=values["actor_id"],
        action=values["action"],
        finding_id=values["finding_id"],
        from_state=values["from_state"],
        to_state=values["to_state"],
        note=note_decrypt(values["note"]) if note_encrypted else values["note"],
        data=canonical_json_text(values["data"]),
    )


def entry_of(event: Any) -> Entry:
    """An Entry from a model instance (before it is saved, or as the ORM read it)."""
    return Entry(
        id=event.pk,
        sequence=event.sequence,
        prev_hash=event.prev_hash or "",
        entry_hash=event.entry_hash or "",
        created_at=canonical_time(event.created_at),
        actor_id=event.actor_id,
        action=event.action,
        finding_id=event.finding_id,
        from_state=event.from_state,
        to_state=event.to_state,
        note=event.note,
        data=canonical_data(event.data),
    )


def _payload(entry: Entry, *, sealed: bool) -> bytes:
    fields: dict[str, str] = {
        "v": canonical(FORMAT),
        "created_at": json.dumps(entry.created_at) if entry.time_valid else entry.created_at,
        "actor_id": canonical(entry.actor_id),
        "action": canonical(entry.action),
        "finding_id": canonical(entry.finding_id),
        "from_state": canonical(entry.from_state),
        "to_state": canonical(entry.to_state),
        "note": canonical(entry.note),
        "data": entry.data,
    }
    if sealed:
        fields |= {
            "id": canonical(entry.id),
            "sequence": canonical(entry.sequence),
            "prev_hash": canonical(entry.prev_hash),
        }
    body = ",".join(f"{json.dumps(name)}:{fields[name]}" for name in sorted(fields))
    return ("{" + body + "}").encode("ascii")


def content_digest(entry: Entry) -> bytes:
    """What the tag covers, hashed: equal for a row and a copy of it (a replay)."""
    return hashlib.sha256(_payload(entry, sealed=False)).digest()


def tag_compute(entry: Entry, key: bytes) -> str:
    return hmac.new(key, b"tag:" + _payload(entry, sealed=False), hashlib.sha256).hexdigest()


def seal_compute(entry: Entry, key: bytes, *, sequence: int, prev_hash: str) -> str:
    placed = replace(entry, sequence=sequence, prev_hash=prev_hash)
    return hmac.new(key, b"seal:" + _payload(placed, sealed=True), hashlib.sha256).hexdigest()


def tag_valid(entry: Entry, key: bytes) -> bool:
    return hmac.compare_digest(entry.entry_hash, tag_compute(entry, key))


def seal_valid(entry: Entry, key: bytes) -> bool:
    """Whether a sealed entry matches its seal, at the position and after the hash it claims."""
    if not isinstance(entry.sequence, int) or isinstance(entry.sequence, bool):
        return False
    expected = seal_compute(entry, key, sequence=entry.sequence, prev_hash=entry.prev_hash)
    return hmac.compare_digest(entry.entry_hash, expected)


def seal_key_index(entry: Entry, keys: tuple[bytes, ...]) -> int | None:
    """The index in ``keys`` (see audit_keys) of the first key whose seal the entry matches,
    or None. The current key is tried first, so an intact entry costs one HMAC."""
    for index, key in enumerate(keys):
        if seal_valid(entry, key):
            return index
    return None


def tag_key_index(entry: Entry, keys: tuple[bytes, ...]) -> int | None:
    """Like seal_key_index, for the tag of an entry not sealed yet."""
    for index, key in enumerate(keys):
        if tag_valid(entry, key):
            return index
    return None


def integrity_of(event: Any, keys: tuple[bytes, ...]) -> str:
    """A model instance's own check, for pages and the API: "sealed" (matches its seal under
    any configured key), "pending" (a valid tag under the current key, not sealed yet), or
    "mismatch". The chain's links, and which key sealed what, are ``manage.py audit_verify``'s
    business."""
    entry = entry_of(event)
    if entry.sealed:
        return "sealed" if seal_key_index(entry, keys) is not None else "mismatch"
    return "pending" if tag_valid(entry, keys[0]) else "mismatch"


def select_sql(connection: Any, table: str, tail: str) -> str:
    """``SELECT <COLUMNS> FROM <table> <tail>`` for a raw cursor, whose rows entry_from_row
    reads. SQLite's time is read as text, so that a tampered value cannot break the read."""
    quote = connection.ops.quote_name
    columns = [quote(name) for name in COLUMNS]
    if connection.vendor == "sqlite":
        columns[COLUMNS.index("created_at")] = f"CAST({quote('created_at')} AS TEXT)"
    return f"SELECT {', '.join(columns)} FROM {quote(table)} {tail}"  # noqa: S608 (names only)
