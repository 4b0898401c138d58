"""Helpers for the audit chain's tests: entries written as the application writes them, and
changes made as an attacker with the database's owner rights would make them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection

from disclosure.encryption import encrypt_text
from disclosure.models import AuditEvent
from disclosure.services.audit import audit_record
from disclosure.services.audit_chain import audit_chain_seal

TABLE = AuditEvent._meta.db_table


def written(n: int, *, actor: Any = None, finding: Any = None) -> list[AuditEvent]:
    """``n`` entries written through audit_record (tagged, not sealed yet)."""
    return [
        audit_record(
            actor=actor,
            action=f"test.action_{i}",
            finding=finding,
            note=f"note {i}",
            data={"i": i, "ratio": i / 7, "nested": {"list": [i, "x", None, True]}},
        )
        for i in range(n)
    ]


def sealed_chain(n: int, **kwargs: Any) -> list[AuditEvent]:
    """``n`` entries written and sealed, in chain order, as the database has them."""
    events = written(n, **kwargs)
    audit_chain_seal()
    return list(AuditEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("sequence"))


@contextmanager
def triggers_off() -> Iterator[None]:
    """What the database's owner can do: on PostgreSQL, ``session_replication_role = replica``
    turns the append-only trigger off; SQLite (which has no trigger) can ignore its CHECKs."""
    on, off = {
        "postgresql": ("SET session_replication_role = replica", "RESET session_replication_role"),
        "sqlite": ("PRAGMA ignore_check_constraints = ON", "PRAGMA ignore_check_constraints = OFF"),
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(on)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(off)


def tamper(sql: str, params: Sequence[Any] = ()) -> None:
    """Run SQL as an attacker with the database owner's rights would, to hide something."""
    with triggers_off(), connection.cursor() as cursor:
        if sql.startswith("ALTER") and connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending
        cursor.execute(sql.replace("{table}", TABLE), list(params))


def note_stored(text: str) -> str:
    """A note as the application stores it (encrypted): what an attacker who holds the
    encryption key, but not AUDIT_HMAC_KEY, would write over a note."""
    return encrypt_text(text)


def stored(column: str, value: Any) -> Any:
    """``value`` for ``column`` as stored: notes encrypted, anything else as it is."""
    return note_stored(value) if column == "note" else value


def columns_of(pk: int) -> dict[str, Any]:
    """Every column of a row, as stored (for copying it in a forged insert)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {TABLE} WHERE id = %s", [pk])  # noqa: S608
        names = [column[0] for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def insert_raw(values: dict[str, Any]) -> None:
    """INSERT a row with exactly these column values, bypassing the model."""
    names = list(values)
    placeholders = ", ".join(["%s"] * len(names))
    tamper(
        f"INSERT INTO {{table}} ({', '.join(names)}) VALUES ({placeholders})",  # noqa: S608
        [values[name] for name in names],
    )
