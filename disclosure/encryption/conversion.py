"""Data migrations' half of making a column encrypted: its plaintext rows become tokens, and back.

A migration alters the fields to encrypted ones, then runs ``values_encrypt`` (backwards
``values_decrypt``) with the columns it changed: ``{model_name: {field_name: kind}}``, ``kind``
being how the field writes its plaintext ("text", "json" or "date"). Raw SQL, in batches by
primary key, so that historical models' fields (which may be the encrypted ones already) do not
get in the way. Both directions skip what is done already, so a rerun is harmless.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from . import DecryptionError, decrypt, decrypt_text, encrypt_text

BATCH = 1000
Columns = dict[str, dict[str, str]]


def _is_token(value: Any) -> bool:
    try:
        decrypt(value)
    except DecryptionError:
        return False
    return True


def _plaintext(value: Any, kind: str) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if kind == "json":
        # As the field writes it (PostgreSQL's jsonb-to-text spells it its own way).
        return json.dumps(value if not isinstance(value, str) else json.loads(value))
    if kind == "date":
        return dt.date.fromisoformat(str(value)).isoformat()  # loudly, should it not be ISO
    return str(value)


def _convert(
    apps: Any, schema_editor: Any, columns: Columns, change: Callable[[Any, str], str | None]
) -> None:
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    for model_name, fields in columns.items():
        model = apps.get_model("disclosure", model_name)
        table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
        names = [model._meta.get_field(name).column for name in fields]
        kinds = list(fields.values())
        selected = ", ".join(quote(name) for name in names)
        last = 0
        with connection.cursor() as cursor:
            while True:
                cursor.execute(
                    f"SELECT {pk}, {selected} FROM {table} WHERE {pk} > %s "  # noqa: S608
                    f"ORDER BY {pk} LIMIT %s",
                    [last, BATCH],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                for row_id, *values in rows:
                    for name, kind, value in zip(names, kinds, values, strict=True):
                        new = None if value is None else change(value, kind)
                        if new is not None:
                            cursor.execute(
                                f"UPDATE {table} SET {quote(name)} = %s "  # noqa: S608
                                f"WHERE {pk} = %s",
                                [new, row_id],
                            )
    if connection.vendor == "postgresql":
        # The updates queued deferred foreign-key checks, and PostgreSQL alters no table with
        # checks pending (backwards, the column types change next): run them now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def values_encrypt(apps: Any, schema_editor: Any, columns: Columns) -> None:
    """Every plaintext value of ``columns`` becomes a token under the newest key."""

    def change(value: Any, kind: str) -> str | None:
        if isinstance(value, str) and _is_token(value):
            return None  # encrypted already (this ran before)
        return encrypt_text(_plaintext(value, kind))

    _convert(apps, schema_editor, columns, change)


def values_decrypt(apps: Any, schema_editor: Any, columns: Columns) -> None:
    """Every token of ``columns`` becomes its plaintext again."""

    def change(value: Any, kind: str) -> str | None:
        return decrypt_text(value) if _is_token(value) else None

    _convert(apps, schema_editor, columns, change)
