"""Model fields stored encrypted: a Fernet token in a text column (see disclosure.encryption).

They behave as their plain counterparts in Python (forms, serializers, validation, choices),
but the database holds only ciphertext, so the only lookup they allow is ``isnull``: an
equality, a search or a JSON path in SQL could never match, and a silent empty answer would be
worse than the FieldError that Django raises for a lookup a field does not have.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.db import models

from . import DecryptionError, decrypt_text, encrypt_text

logger = logging.getLogger(__name__)


class EncryptedMixin:
    """Encrypt on the way to the database, decrypt on the way back."""

    name: str
    model: type[models.Model]

    def get_internal_type(self) -> str:
        return "TextField"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)  # type: ignore[attr-defined]
        if value is None:
            return None
        return encrypt_text(self.to_text(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return self.from_text(decrypt_text(value, what=f"{self.model._meta.label}.{self.name}"))

    def to_text(self, value: Any) -> str:
        return str(value)

    def from_text(self, text: str) -> Any:
        return text

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)  # type: ignore[misc]
        return None

    def get_transform(self, lookup_name: str) -> Any:
        return None


class EncryptedTextField(EncryptedMixin, models.TextField):  # type: ignore[misc]
    """``unreadable``: what a stored value that no key opens reads as, instead of raising
    DecryptionError (and a warning in the log); for columns whose pages must show every row,
    such as the audit trail, whose own checks report such a row (audit_hash)."""

    def __init__(self, *args: Any, unreadable: str | None = None, **kwargs: Any) -> None:
        self.unreadable = unreadable
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.unreadable is not None:
            kwargs["unreadable"] = self.unreadable
        return name, path, args, kwargs

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if self.unreadable is None:
            return super().from_db_value(value, expression, connection)
        try:
            return super().from_db_value(value, expression, connection)
        except (DecryptionError, ValueError):
            logger.warning(
                "%s.%s: a stored value that no configured key opens, shown as unreadable.",
                self.model._meta.label,
                self.name,
            )
            return self.unreadable


class EncryptedCharField(EncryptedMixin, models.CharField):  # type: ignore[misc]
    """``max_length`` is checked in Python (validation, forms); the column is text."""


class EncryptedDateField(EncryptedMixin, models.DateField):  # type: ignore[misc]
    def to_text(self, value: Any) -> str:
        return value.isoformat()

    def from_text(self, text: str) -> dt.date:
        return dt.date.fromisoformat(text)


class EncryptedJSONField(EncryptedMixin, models.JSONField):  # type: ignore[misc]
    """The whole value is one token: neither its keys nor its shape show in the database."""

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        return encrypt_text(self.to_text(value))

    def to_text(self, value: Any) -> str:
        return json.dumps(value, cls=self.encoder)

    def from_text(self, text: str) -> Any:
        return json.loads(text, cls=self.decoder)
