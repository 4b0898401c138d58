"""Key rotation: every encrypted value and attachment file, re-encrypted under the newest key.

Resumable and idempotent: what the newest key already encrypted is left alone, so a run that
stopped half-way, or a second run, does only what is left. Values are rewritten in batches,
each in its own transaction, and each only if it still is what was read (compare and set): an
edit made meanwhile, which the application wrote under the newest key, is never undone. Files
are rewritten beside themselves and renamed over the old ones (encryption.files). Columns of
tokens in a format of their own (TOTP secrets: accounts.totp_keys) are listed in
``sealed_columns`` with their functions, and rotated and counted with the encrypted fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connection, models, transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.totp_keys import totp_key_needs_rotation, totp_key_rotate

from ..encryption import DecryptionError, keyring, needs_rotation, rotate
from ..encryption.fields import EncryptedMixin
from ..encryption.files import file_key_id, file_reencrypt
from ..models import Attachment
from ..models.attachments import private_storage
from .audit import audit_record

Progress = Callable[[str], Any]


@dataclass
class Tally:
    current: int = 0  # under the newest key already
    stale: int = 0  # under an older key (rotated by a rotation, counted by a check)
    changed: int = 0  # edited while being rotated: written under the newest key by the edit
    missing: int = 0  # attachment rows whose file is gone
    failed: list[str] = field(default_factory=list)  # what no configured key opens


@dataclass
class Report:
    key: str  # the newest key's id
    values: Tally
    files: Tally

    @property
    def failed(self) -> list[str]:
        return self.values.failed + self.files.failed


EncryptedFields = list[tuple[type[models.Model], list[Any]]]


def encrypted_columns() -> EncryptedFields:
    """Every model with encrypted fields, and those fields."""
    found: EncryptedFields = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue  # their rows are their concrete model's
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedMixin)]
        if fields:
            found.append((model, fields))
    return found


@dataclass(frozen=True)
class SealedColumn:
    """A column of tokens that is not an EncryptedMixin field, with the functions for them."""

    model: type[models.Model]
    field: Any
    needs_rotation: Callable[..., bool]  # (token, *, what) -> bool; DecryptionError if unread
    rotate: Callable[..., str]  # (token, *, what) -> the token under the newest key


def sealed_columns() -> list[SealedColumn]:
    """Columns of tokens in formats of their own: django-otp's TOTPDevice.key."""
    key = TOTPDevice._meta.get_field("key")
    return [SealedColumn(TOTPDevice, key, totp_key_needs_rotation, totp_key_rotate)]


def _pk(model: type[models.Model]) -> str:
    return connection.ops.quote_name(str(model._meta.pk.column))  # type: ignore[union-attr]


def _batches(model: type[models.Model], fields: list[Any], size: int) -> Iterator[list[Any]]:
    """The rows' primary keys and stored tokens, as stored (no decryption), by primary key."""
    quote = connection.ops.quote_name
    pk = _pk(model)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    table = quote(model._meta.db_table)
    last = None
    while True:
        after = f"WHERE {pk} > %s " if last is not None else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {pk}, {columns} FROM {table} {after}ORDER BY {pk} LIMIT %s",  # noqa: S608
                [last, size] if last is not None else [size],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def _rotate_value(model: type[models.Model], column: str, pk: Any, old: str, new: str) -> bool:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(model._meta.db_table)} SET {quote(column)} = %s "  # noqa: S608
            f"WHERE {_pk(model)} = %s AND {quote(column)} = %s",
            [new, pk, old],
        )
        return cursor.rowcount == 1


def _values(*, apply: bool, batch_size: int, progress: Progress) -> Tally:
    tally = Tally()
    columns = [(model, fields, needs_rotation, rotate) for model, fields in encrypted_columns()]
    columns += [(c.model, [c.field], c.needs_rotation, c.rotate) for c in sealed_columns()]
    for model, fields, is_stale, rotate_one in columns:
        before = (tally.stale, tally.current)
        for rows in _batches(model, fields, batch_size):
            with transaction.atomic():
                for pk, *tokens in rows:
                    for f, token in zip(fields, tokens, strict=True):
                        if token is None:
                            continue
                        what = f"{model._meta.label}.{f.name} of row {pk}"
                        try:
                            if not is_stale(token, what=what):
                                tally.current += 1
                                continue
                            new = rotate_one(token, what=what) if apply else None
                        except DecryptionError:
                            tally.failed.append(what)
                            continue
                        if new is None or _rotate_value(model, str(f.column), pk, token, new):
                            tally.stale += 1
                        else:
                            tally.changed += 1
        stale, current = tally.stale - before[0], tally.current - before[1]
        if stale or current:
            verb = "rotated" if apply else "under an older key"
            progress(
                f"  {model._meta.label}: {stale} value(s) {verb}, {current} under the newest key"
            )
    return tally


def _files(*, apply: bool, batch_size: int, progress: Progress) -> Tally:
    tally = Tally()
    newest = keyring().newest.id
    rows = Attachment.objects.order_by("pk").values_list("pk", "file")
    for pk, name in rows.iterator(chunk_size=batch_size):
        what = f"the file of attachment {pk}"
        try:
            found = file_key_id(private_storage.path(name))
            if found == newest:
                tally.current += 1
                continue
            if found is None or keyring().get(found) is None:
                tally.failed.append(f"{what} (not encrypted, or with a key not configured)")
                continue
            if apply:
                file_reencrypt(private_storage.path(name), what=what)
            tally.stale += 1
        except FileNotFoundError:
            tally.missing += 1
        except DecryptionError:
            tally.failed.append(what)
    verb = "rotated" if apply else "under an older key"
    progress(f"  attachment files: {tally.stale} {verb}, {tally.current} under the newest key")
    return tally


def encryption_check(*, batch_size: int = 500, progress: Progress = lambda _: None) -> Report:
    """Count what an older key encrypted (``stale``), changing nothing."""
    key = keyring().newest.id
    values = _values(apply=False, batch_size=batch_size, progress=progress)
    return Report(key, values, _files(apply=False, batch_size=batch_size, progress=progress))


def encryption_rotate(
    *, actor: Any = None, batch_size: int = 500, progress: Progress = lambda _: None
) -> Report:
    """Re-encrypt under the newest key whatever an older key encrypted; audited."""
    key = keyring().newest.id
    values = _values(apply=True, batch_size=batch_size, progress=progress)
    files = _files(apply=True, batch_size=batch_size, progress=progress)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="encryption.rotated",
            data={
                "key": key,
                "values_rotated": values.stale,
                "values_current": values.current,
                "values_changed_meanwhile": values.changed,
                "files_rotated": files.stale,
                "files_current": files.current,
                "files_missing": files.missing,
                "failed": len(values.failed) + len(files.failed),
            },
        )
    return Report(key, values, files)
