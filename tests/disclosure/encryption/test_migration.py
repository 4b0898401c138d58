"""Migrations 0009 and 0010 turn the plaintext already stored into ciphertext, files
included, and back."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from disclosure.encryption.files import MAGIC
from disclosure.models import Attachment, Evaluation, Finding, FindingRevision, WebhookEndpoint
from disclosure.services.attachments import attachment_add
from disclosure.services.channels.webhook import signing_secrets
from tests.factories import attachments as files

migration = importlib.import_module("disclosure.migrations.0009_encryption_at_rest")
webhook_migration = importlib.import_module("disclosure.migrations.0010_encrypt_webhook_secrets")
EDITOR = SimpleNamespace(connection=connection)
EVALUATION = {
    "name": "Cyber range",
    "method": "Agentic runs",
    "checkpoint": "deployed",
    "modifications": ["jailbreaks"],
    "metric": "Success rate",
    "result": "31%",
    "evaluated_on": "2026-10-01",
}


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def _plaintext_written(finding: Finding) -> None:
    """The columns as they were before 0009: plaintext (JSON and dates as text)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE disclosure_finding SET details = %s, deployment_surfaces = %s, "
            "planned_availability = %s, model_version = %s WHERE id = %s",
            ["Plain details.", '["api", "consumer"]', "2031-07-04", "", finding.pk],
        )
        cursor.execute(
            "UPDATE disclosure_findingrevision SET content = %s WHERE finding_id = %s",
            ['{"details": "Plain details.", "n": 3}', finding.pk],
        )
        cursor.execute(
            "UPDATE disclosure_evaluation SET name = %s, modifications = %s, evaluated_on = %s "
            "WHERE finding_id = %s",
            ["Plain eval", '["jailbreaks"]', "2026-10-01", finding.pk],
        )


def test_plaintext_rows_are_encrypted_and_read_as_before(world, private_root):
    finding = world.file(evaluations=[EVALUATION])
    _plaintext_written(finding)
    migration.encrypt_values(apps, EDITOR)

    finding = Finding.objects.get(pk=finding.pk)
    assert (finding.details, finding.deployment_surfaces, finding.planned_availability) == (
        "Plain details.",
        ["api", "consumer"],
        dt.date(2031, 7, 4),
    )
    assert finding.model_version == ""
    assert FindingRevision.objects.get(finding=finding).content == {
        "details": "Plain details.",
        "n": 3,
    }
    evaluation = Evaluation.objects.get(finding=finding)
    assert (evaluation.name, evaluation.modifications) == ("Plain eval", ["jailbreaks"])
    assert _raw("disclosure_finding", "details", finding.pk).startswith("gAAAAA")


def test_running_the_conversion_again_changes_nothing(world, private_root):
    finding = world.file()
    _plaintext_written(finding)
    migration.encrypt_values(apps, EDITOR)
    token = _raw("disclosure_finding", "details", finding.pk)
    migration.encrypt_values(apps, EDITOR)
    assert _raw("disclosure_finding", "details", finding.pk) == token


def test_backwards_the_rows_are_plaintext_again(world, private_root):
    finding = world.file()
    migration.decrypt_values(apps, EDITOR)
    assert _raw("disclosure_finding", "details", finding.pk) == finding.details
    assert _raw("disclosure_finding", "deployment_surfaces", finding.pk) == "[]"


def _attachment(world) -> Attachment:
    return attachment_add(
        actor=world.lab_user, finding=world.file(), upload=files.upload("log.txt", files.TEXT)
    )


@pytest.mark.parametrize("plaintext", [files.TEXT, MAGIC + b" starts like an encrypted file"])
def test_plaintext_files_are_encrypted_in_place(world, private_root, plaintext):
    attachment = _attachment(world)
    path = Path(attachment.file.path)
    path.write_bytes(plaintext)
    migration.encrypt_files(apps, EDITOR)
    assert path.read_bytes().startswith(MAGIC) and plaintext not in path.read_bytes()
    with attachment.file.open("rb") as handle:
        assert handle.read() == plaintext
    assert path.stat().st_mode & 0o777 == 0o600


def test_encrypted_files_are_left_alone_and_decrypted_backwards(world, private_root):
    attachment = _attachment(world)
    path = Path(attachment.file.path)
    before = path.read_bytes()
    migration.encrypt_files(apps, EDITOR)
    assert path.read_bytes() == before
    migration.decrypt_files(apps, EDITOR)
    assert path.read_bytes() == files.TEXT


@pytest.mark.django_db(transaction=True)
def test_migrating_back_and_forth_keeps_every_value(world, private_root):
    finding = world.file(
        evaluations=[EVALUATION],
        deployment_surfaces=["api"],
        planned_availability="2031-07-04",
    )
    attachment = attachment_add(
        actor=world.lab_user, finding=finding, upload=files.upload("log.txt", files.TEXT)
    )
    path = Path(attachment.file.path)
    call_command("migrate", "disclosure", "0008_audit_chain", verbosity=0)
    try:
        plain = _raw("disclosure_finding", "details", finding.pk)
        date = _raw("disclosure_finding", "planned_availability", finding.pk)
        content = path.read_bytes()
    finally:
        call_command("migrate", "disclosure", verbosity=0)
    assert plain == finding.details
    assert str(date) == "2031-07-04"  # a date column again (a date on PostgreSQL)
    assert content == files.TEXT
    again = Finding.objects.get(pk=finding.pk)
    assert (again.details, again.deployment_surfaces, again.planned_availability) == (
        finding.details,
        ["api"],
        dt.date(2031, 7, 4),
    )
    assert _raw("disclosure_finding", "details", finding.pk).startswith("gAAAAA")
    assert path.read_bytes().startswith(MAGIC)


def test_plaintext_webhook_secrets_are_encrypted_and_still_sign(webhook):
    endpoint, secrets = webhook
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE disclosure_webhookendpoint SET secret = %s, previous_secret = %s WHERE id = %s",
            [*secrets, endpoint.pk],
        )
    webhook_migration.encrypt_values(apps, EDITOR)
    assert _raw("disclosure_webhookendpoint", "secret", endpoint.pk).startswith("gAAAAA")
    assert _raw("disclosure_webhookendpoint", "previous_secret", endpoint.pk).startswith("gAAAAA")
    assert signing_secrets(WebhookEndpoint.objects.get(pk=endpoint.pk)) == secrets


@pytest.mark.django_db(transaction=True)
def test_webhook_secrets_migrate_back_and_forth(webhook):
    endpoint, (new, old) = webhook
    call_command("migrate", "disclosure", "0009_encryption_at_rest", verbosity=0)
    try:
        plain = [
            _raw("disclosure_webhookendpoint", c, endpoint.pk)
            for c in ("secret", "previous_secret")
        ]
    finally:
        call_command("migrate", "disclosure", verbosity=0)
    assert plain == [new, old]
    assert signing_secrets(WebhookEndpoint.objects.get(pk=endpoint.pk)) == (new, old)
    assert _raw("disclosure_webhookendpoint", "secret", endpoint.pk).startswith("gAAAAA")
