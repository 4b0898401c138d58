"""`manage.py encryption_rotate`: everything moves to the newest key, resumably, audited; and
`--check` says when the old key can go."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from disclosure.encryption import keyring
from disclosure.encryption.files import file_key_id
from disclosure.models import (
    Attachment,
    AuditEvent,
    Comment,
    Finding,
    FindingRevision,
    WebhookEndpoint,
)
from disclosure.services import encryption as rotation
from disclosure.services.attachments import attachment_add
from disclosure.services.channels.webhook import signing_secrets
from disclosure.services.discussion import thread_open
from disclosure.services.readiness import readiness_report
from tests.disclosure.encryption.conftest import KEY_A, KEY_B
from tests.factories import attachments as files


def _run(*args: str) -> str:
    out = StringIO()
    call_command("encryption_rotate", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _content(world) -> tuple[Finding, Attachment]:
    """A finding with embargoed content of several kinds and an attachment, under KEY_A."""
    finding = world.embargoed()
    thread_open(
        actor=world.coordinator,
        finding=finding,
        scope="lab",
        subject="SECRET-SUBJECT",
        body="SECRET-COMMENT",
    )
    readiness_report(
        actor=world.defender_user, finding=finding, readiness="preparing", statement="SECRET"
    )
    attachment = attachment_add(
        actor=world.lab_user, finding=finding, upload=files.upload("log.txt", files.TEXT)
    )
    return finding, attachment


def test_after_rotation_everything_reads_with_the_new_key_alone(world, keys, client):
    finding, attachment = _content(world)
    keys(KEY_B, KEY_A)
    _run()
    keys(KEY_B)

    finding = Finding.objects.get(pk=finding.pk)
    assert finding.details.startswith("EMBARGOED-DETAIL")
    assert FindingRevision.objects.filter(finding=finding).first().content["details"]
    assert Comment.objects.get().body == "SECRET-COMMENT"
    assert finding.recipients.get(organization=world.defender).readiness_statement == "SECRET"
    assert file_key_id(Path(attachment.file.path)) == keyring().newest.id
    client.force_login(world.lab_user)
    url = f"/api/findings/{finding.reference}/attachments/{attachment.pk}/download/"
    assert b"".join(client.get(url).streaming_content) == files.TEXT


def test_webhook_secrets_are_rotated_and_both_still_sign(world, keys, webhook):
    endpoint, secrets = webhook
    keys(KEY_B, KEY_A)
    assert "disclosure.WebhookEndpoint: 2 value(s) rotated" in _run()
    keys(KEY_B)
    assert signing_secrets(WebhookEndpoint.objects.get(pk=endpoint.pk)) == secrets


def test_check_fails_while_anything_is_under_an_older_key(world, keys):
    _content(world)
    keys(KEY_B, KEY_A)
    with pytest.raises(CommandError, match=r"value\(s\) and 1 file\(s\) are still under an older"):
        _run("--check")


def test_check_passes_once_rotated_and_says_the_old_key_can_go(world, keys):
    _content(world)
    keys(KEY_B, KEY_A)
    _run()
    out = _run("--check")
    assert "Values: 0 under an older key" in out and "Files: 0 under an older key" in out
    assert "the other 1 key(s) can now be removed" in out


def test_rotation_prints_its_counts(world, keys):
    _content(world)
    keys(KEY_B, KEY_A)
    out = _run("--batch-size", "2")
    assert "Values: " in out and " rotated, 0 under the newest key" in out
    assert "Files: 1 rotated, 0 under the newest key." in out
    assert "disclosure.Finding: 4 value(s) rotated" in out  # no planned availability: NULL


def test_a_second_run_rotates_nothing(world, keys):
    _content(world)
    keys(KEY_B, KEY_A)
    _run()
    out = _run()
    assert "Values: 0 rotated" in out and "Files: 0 rotated, 1 under the newest key." in out


def test_a_run_that_stopped_half_way_is_finished_by_the_next(world, keys, monkeypatch):
    _content(world)
    keys(KEY_B, KEY_A)
    with monkeypatch.context() as patched:
        patched.setattr(rotation, "_files", _fail)  # dies after the values, before the files
        with pytest.raises(RuntimeError):
            rotation.encryption_rotate()
    report = rotation.encryption_rotate()
    assert (report.values.stale, report.files.stale) == (0, 1)
    assert report.values.current > 0


def _fail(**kwargs: object) -> None:
    raise RuntimeError("stopped")


def test_rotation_is_audited_as_the_system_with_its_counts(world, keys):
    _content(world)
    keys(KEY_B, KEY_A)
    report = rotation.encryption_rotate()
    event = AuditEvent.objects.get(action="encryption.rotated")
    assert event.actor is None
    assert event.data == {
        "key": keyring().newest.id,
        "values_rotated": report.values.stale,
        "values_current": 0,
        "values_changed_meanwhile": 0,
        "files_rotated": 1,
        "files_current": 0,
        "files_missing": 0,
        "failed": 0,
    }
    assert report.values.stale > 10


def test_an_edit_made_during_the_rotation_is_not_undone(world, keys, monkeypatch):
    finding = world.file()
    keys(KEY_B, KEY_A)
    real_rotate = rotation.rotate

    def edit_then_rotate(token: str, *, what: str) -> str:
        if what.startswith("disclosure.Finding.details"):
            Finding.objects.filter(pk=finding.pk).update(details="Edited meanwhile.")
        return real_rotate(token, what=what)

    monkeypatch.setattr(rotation, "rotate", edit_then_rotate)
    report = rotation.encryption_rotate()
    assert report.values.changed == 1
    assert Finding.objects.get(pk=finding.pk).details == "Edited meanwhile."


def test_values_no_configured_key_opens_are_listed_and_left_alone(world, keys):
    finding = world.file()
    keys(KEY_B)
    err = StringIO()
    with pytest.raises(CommandError, match="open with none of the configured keys"):
        call_command("encryption_rotate", stdout=StringIO(), stderr=err)
    assert "cannot decrypt disclosure.Finding.details of row" in err.getvalue()
    keys(KEY_A)
    assert Finding.objects.get(pk=finding.pk).details.startswith("EMBARGOED-DETAIL")


def test_no_key_configured_is_a_clear_command_error(settings):
    settings.ENCRYPTION_KEYS = []
    with pytest.raises(CommandError, match="No encryption key: set FOREWARN_ENCRYPTION_KEYS"):
        _run("--check")
