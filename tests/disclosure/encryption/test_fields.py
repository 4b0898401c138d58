"""Encrypted model fields: what the database holds, what comes back, and what a wrong key or an
altered value does."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import FieldError
from django.db import connection

from disclosure import encryption
from disclosure.encryption import DecryptionError, EncryptionKeyError, encryption_keys_check
from disclosure.models import Evaluation, Finding, FindingRevision
from tests.disclosure.encryption.conftest import KEY_A, KEY_B


def _stored(model, field: str, pk: int) -> str | None:
    """The column as the database holds it, past the field's decryption."""
    column = model._meta.get_field(field).column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def _finding(world, **fields):
    finding = world.file(
        model_version="SECRET-VERSION",
        deployment_surfaces=["open_weights", "api"],
        planned_availability="2031-07-04",
        **fields,
    )
    finding.refresh_from_db()
    return finding


def test_embargoed_fields_read_back_as_written(world, keys):
    finding = _finding(world)
    assert (
        finding.details,
        finding.recommended_actions,
        finding.model_version,
        finding.deployment_surfaces,
        finding.planned_availability,
    ) == (
        "EMBARGOED-DETAIL: 31% success on the cyber range against patched targets.",
        "EMBARGOED-ACTION: rate-limit exploit-shaped tool calls.",
        "SECRET-VERSION",
        ["open_weights", "api"],
        dt.date(2031, 7, 4),
    )


@pytest.mark.parametrize(
    ("field", "plaintext"),
    [
        ("details", "EMBARGOED-DETAIL"),
        ("model_version", "SECRET-VERSION"),
        ("deployment_surfaces", "open_weights"),
        ("planned_availability", "2031-07-04"),
    ],
)
def test_the_column_holds_a_fernet_token_not_the_plaintext(world, keys, field, plaintext):
    finding = _finding(world)
    stored = _stored(Finding, field, finding.pk)
    assert stored.startswith("gAAAAA")  # a Fernet token, version 0x80
    assert plaintext not in stored
    assert plaintext in encryption.decrypt_text(stored)


def test_each_write_encrypts_afresh_so_equal_values_do_not_look_equal(world, keys):
    one, two = world.file(), world.file()
    assert one.details == two.details
    assert _stored(Finding, "details", one.pk) != _stored(Finding, "details", two.pk)


def test_blank_text_and_a_missing_date_read_back_as_blank_and_none(world, keys):
    finding = world.file(recommended_actions="", model_version="")
    finding.refresh_from_db()
    assert (finding.recommended_actions, finding.model_version) == ("", "")
    assert finding.planned_availability is None
    assert _stored(Finding, "planned_availability", finding.pk) is None
    assert _stored(Finding, "recommended_actions", finding.pk).startswith("gAAAAA")


def test_json_values_keep_their_types(world, keys):
    finding = world.file()
    revision = FindingRevision.objects.get(finding=finding)
    content = {"n": 3, "ratio": 0.31, "yes": True, "none": None, "nested": {"list": [1, "a"]}}
    FindingRevision.objects.filter(pk=revision.pk).update(content=content)
    revision.refresh_from_db()
    assert revision.content == content


def test_related_embargoed_content_is_encrypted_too(world, keys):
    finding = world.file(
        evaluations=[
            {
                "name": "SECRET-EVAL",
                "method": "SECRET-METHOD",
                "checkpoint": "base",
                "metric": "success",
                "result": "SECRET-RESULT",
                "evaluated_on": "2026-10-01",
            }
        ]
    )
    evaluation = Evaluation.objects.get(finding=finding)
    assert (evaluation.name, evaluation.result, evaluation.evaluated_on) == (
        "SECRET-EVAL",
        "SECRET-RESULT",
        dt.date(2026, 10, 1),
    )
    for field in ("name", "method", "result", "checkpoint", "evaluated_on"):
        assert _stored(Evaluation, field, evaluation.pk).startswith("gAAAAA"), field


@pytest.mark.parametrize("lookup", ["details", "details__icontains", "deployment_surfaces__0"])
def test_a_lookup_the_database_cannot_answer_is_refused(world, keys, lookup):
    with pytest.raises(FieldError):
        list(Finding.objects.filter(**{lookup: "EMBARGOED-DETAIL"}))


def test_isnull_still_works(world, keys):
    finding = _finding(world)
    world.file()
    assert list(Finding.objects.filter(planned_availability__isnull=False)) == [finding]


def test_a_new_key_in_front_encrypts_and_the_old_one_still_decrypts(world, keys):
    old = world.file()
    keys(KEY_B, KEY_A)
    new = world.file()
    assert Finding.objects.get(pk=old.pk).details == old.details
    keys(KEY_B)
    assert Finding.objects.get(pk=new.pk).details == new.details


def test_a_value_no_configured_key_opens_is_an_error_naming_the_field(world, keys):
    finding = world.file()
    keys(KEY_B)
    with pytest.raises(DecryptionError) as error:
        Finding.objects.get(pk=finding.pk)
    message = str(error.value)
    assert "disclosure.Finding." in message and "FOREWARN_ENCRYPTION_KEYS" in message
    assert "EMBARGOED" not in message


def test_an_altered_value_is_an_error_not_an_empty_or_garbled_one(world, keys):
    finding = world.file()
    token = _stored(Finding, "details", finding.pk)
    altered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    Finding.objects.filter(pk=finding.pk).update(recommended_actions="")  # the row still reads
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE disclosure_finding SET details = %s WHERE id = %s", [altered, finding.pk]
        )
    with pytest.raises(DecryptionError, match=r"Cannot decrypt disclosure\.Finding\.details"):
        Finding.objects.get(pk=finding.pk)


def test_plaintext_where_a_token_belongs_is_an_error(world, keys):
    finding = world.file()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE disclosure_finding SET details = 'plain' WHERE id = %s", [finding.pk]
        )
    with pytest.raises(DecryptionError):
        Finding.objects.get(pk=finding.pk)


def test_no_key_configured_is_a_clear_configuration_error(settings):
    settings.ENCRYPTION_KEYS = []
    with pytest.raises(EncryptionKeyError, match="set FOREWARN_ENCRYPTION_KEYS"):
        encryption.encrypt_text("x")
    assert [e.id for e in encryption_keys_check()] == ["disclosure.E002"]


def test_a_key_that_is_not_a_fernet_key_is_refused_without_being_echoed(settings):
    settings.ENCRYPTION_KEYS = [KEY_A, "my-secret-passphrase"]
    with pytest.raises(EncryptionKeyError) as error:
        encryption.keyring()
    assert "key 2 of 2 is not a Fernet key" in str(error.value)
    assert "my-secret-passphrase" not in str(error.value)


def test_a_key_listed_twice_is_refused(settings):
    settings.ENCRYPTION_KEYS = [KEY_A, KEY_B, KEY_A]
    with pytest.raises(EncryptionKeyError, match="key 3 of 3 is listed twice"):
        encryption.keyring()


def test_the_configured_keys_pass_the_system_check(keys):
    assert encryption_keys_check() == []
