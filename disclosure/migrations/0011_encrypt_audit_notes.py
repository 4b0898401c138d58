"""Audit notes are encrypted at rest like the embargoed columns of 0009: a note can hold an
embargo or extension reason, a triage question or answer, an attachment's name.

The chain's tags and seals cover the note's plaintext (disclosure.audit_hash), so the seals made
before stay valid, and rotating the encryption keys later rewrites notes without touching the
chain. On PostgreSQL the append-only trigger of 0008 is replaced by one that also lets a note be
re-encrypted: an UPDATE that changes the note column alone. A changed plaintext is still caught,
by the seal; the trigger keeps refusing every other change.
"""

from django.db import migrations

import disclosure.encryption.fields
from disclosure.encryption import conversion

TABLE = "disclosure_auditevent"
TRIGGER = "disclosure_auditevent_append_only"
CONTENT_COLUMNS = (
    "id",
    "actor_id",
    "action",
    "finding_id",
    "from_state",
    "to_state",
    "note",
    "data",
    "created_at",
)
SEAL_COLUMNS = ("sequence", "prev_hash", "entry_hash")
COLUMNS = {"auditevent": {"note": "text"}}


def _same(columns):
    return " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in columns)


def _function(allow_note: bool) -> str:
    """The trigger's function: 0008's (sealing only), or this migration's (and note re-encryption)."""
    others = tuple(c for c in CONTENT_COLUMNS if c != "note")
    reencrypt = (
        f"""
    IF {_same(others + SEAL_COLUMNS)} THEN
        RETURN NEW;  -- only the note changed: re-encrypted (its seal covers its plaintext)
    END IF;"""
        if allow_note
        else ""
    )
    allowed = "sealing an unsealed entry" + (", or re-encrypting its note" if allow_note else "")
    sealing = f"OLD.sequence IS NULL AND NEW.sequence IS NOT NULL AND {_same(CONTENT_COLUMNS)}"
    return f"""
CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Audit events are append-only: deleting audit event % is refused.', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF {sealing} THEN
        RETURN NEW;
    END IF;{reencrypt}
    RAISE EXCEPTION 'Audit events are append-only: changing audit event % is refused '
        '(only {allowed} is allowed).', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$;
"""


def trigger_allow_reencryption(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_function(allow_note=True), params=None)


def trigger_sealing_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_function(allow_note=False), params=None)


def encrypt_values(apps, schema_editor):
    conversion.values_encrypt(apps, schema_editor, COLUMNS)


def decrypt_values(apps, schema_editor):
    conversion.values_decrypt(apps, schema_editor, COLUMNS)


class Migration(migrations.Migration):
    dependencies = [
        ("disclosure", "0010_encrypt_webhook_secrets"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="note",
            field=disclosure.encryption.fields.EncryptedTextField(
                blank=True,
                unreadable="[This note cannot be decrypted with the configured keys.]",
            ),
        ),
        migrations.RunPython(trigger_allow_reencryption, trigger_sealing_only, elidable=False),
        migrations.RunPython(encrypt_values, decrypt_values, elidable=False),
    ]
