"""attachment_add / attachment_remove: limits, content types, names, and nothing half-written."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from pathlib import Path

import pytest
from django.core import checks
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from disclosure.errors import NotAllowed, ValidationFailed
from disclosure.models import Attachment, AuditEvent, Finding
from disclosure.models.attachments import PrivateFileSystemStorage, private_storage
from disclosure.services import attachments as service
from disclosure.services.attachments import (
    attachment_add,
    attachment_name_clean,
    attachment_orphans_delete,
    attachment_remove,
)
from tests.factories import attachments as files


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path) -> Path:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


def _add(world, finding, name: str, content: bytes, actor=None) -> Attachment:
    return attachment_add(
        actor=actor or world.lab_user, finding=finding, upload=files.upload(name, content)
    )


def _refusal(world, name: str, content: bytes) -> str:
    finding = world.file()
    with pytest.raises(ValidationFailed) as caught:
        _add(world, finding, name, content)
    return caught.value.detail["file"]


def _mark_released(finding: Finding) -> None:
    """As if the release ran a moment ago (without its emails)."""
    Finding.objects.filter(pk=finding.pk).update(
        state=Finding.State.RELEASED, released_at=timezone.now()
    )


def _nothing_stored(root: Path) -> bool:
    return not files.stored_files(root) and not Attachment.objects.exists()


# --- The happy path


def test_upload_stores_the_bytes_with_their_hash_size_and_detected_type(world, private_root):
    attachment = _add(world, world.file(), "evaluation.pdf", files.PDF)

    assert attachment.name == "evaluation.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(files.PDF)
    assert attachment.sha256 == hashlib.sha256(files.PDF).hexdigest()
    assert attachment.uploaded_by == world.lab_user
    with attachment.file.open("rb") as handle:
        assert handle.read() == files.PDF


def test_upload_is_audited_with_name_size_and_sha256(world):
    """The name is embargoed detail: only in the note, which is encrypted."""
    finding = world.file()
    attachment = _add(world, finding, "evaluation.pdf", files.PDF)

    event = AuditEvent.objects.get(action="attachment.added")
    assert event.actor == world.lab_user
    assert event.finding == finding
    assert event.note == "evaluation.pdf"
    assert event.data == {
        "attachment": attachment.pk,
        "size": len(files.PDF),
        "sha256": hashlib.sha256(files.PDF).hexdigest(),
        "content_type": "application/pdf",
    }


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("chart.png", files.png(), "image/png"),
        ("photo.JPG", files.JPEG, "image/jpeg"),
        ("anim.gif", files.GIF, "image/gif"),
        ("scores.csv", files.CSV, "text/csv"),
        ("transcript.txt", files.TEXT, "text/plain"),
        ("notes.md", b"# Results\n\nThe model *did* it.\n", "text/markdown"),
        ("results.json", b'{"score": 0.31, "runs": 20}\n', "application/json"),
    ],
)
def test_allowed_types_are_stored_with_the_type_they_are_served_as(
    world, name, content, content_type
):
    assert _add(world, world.file(), name, content).content_type == content_type


def test_the_stored_name_is_random_and_the_file_is_under_the_private_root(world, private_root):
    attachment = _add(world, world.file(), "evaluation.pdf", files.PDF)

    path = Path(attachment.file.path).resolve()
    assert path.is_relative_to(Path(private_root).resolve())
    assert "evaluation" not in path.name


def test_only_the_apps_own_user_can_read_the_files(world, private_root):
    attachment = _add(world, world.file(), "evaluation.pdf", files.PDF)

    assert Path(attachment.file.path).stat().st_mode & 0o777 == 0o600
    assert Path(attachment.file.path).parent.stat().st_mode & 0o777 == 0o700


def test_attachments_have_no_url_so_nothing_can_serve_them_directly(world):
    attachment = _add(world, world.file(), "evaluation.pdf", files.PDF)
    with pytest.raises(ValueError, match="no URL"):
        _ = attachment.file.url


def test_the_default_private_root_is_outside_the_static_root():
    from config.settings import base

    assert not base.PRIVATE_MEDIA_ROOT.resolve().is_relative_to(base.STATIC_ROOT.resolve())
    assert not base.STATIC_ROOT.resolve().is_relative_to(base.PRIVATE_MEDIA_ROOT.resolve())


def test_a_system_check_refuses_a_private_root_inside_the_static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "static" / "private"

    errors = checks.run_checks(tags=[checks.Tags.security])

    assert "disclosure.E001" in [error.id for error in errors]


# --- Size: the configured limit, enforced while reading


def test_a_file_over_the_limit_is_refused_naming_the_limit(world, settings, private_root):
    settings.ATTACHMENT_MAX_BYTES = 1024
    message = _refusal(world, "big.txt", b"a" * 1025)

    assert message == "File is larger than 1 KB."
    assert _nothing_stored(private_root)


def test_the_default_limit_is_named_as_25_mb(world):
    assert service.too_large_message() == "File is larger than 25 MB."


def test_a_file_exactly_at_the_limit_is_accepted(world, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    assert _add(world, world.file(), "full.txt", b"a" * 1024).size == 1024


class EndlessUpload(io.RawIOBase):
    """An upload that never ends, claims to be tiny, and fails if read far past the limit."""

    def __init__(self, limit: int) -> None:
        self.name = "endless.txt"
        self.size = 10  # the declared size, a lie
        self.allowed = limit + 1
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("read everything: the limit is not enforced while streaming")
        self.consumed += size
        if self.consumed > self.allowed:
            raise AssertionError(f"read {self.consumed} bytes, past the limit")
        return b"a" * size


def test_reading_stops_one_byte_past_the_limit_whatever_size_is_declared(
    world, settings, private_root
):
    settings.ATTACHMENT_MAX_BYTES = 200_000  # several chunks
    upload = EndlessUpload(200_000)

    with pytest.raises(ValidationFailed, match="larger than"):
        attachment_add(actor=world.lab_user, finding=world.file(), upload=upload)

    assert upload.consumed == 200_001
    assert _nothing_stored(private_root)


def test_an_empty_file_is_refused(world):
    assert _refusal(world, "empty.pdf", b"") == "The file is empty."


# --- Type: detected from the content, allowlisted, and agreeing with the extension


def test_a_linux_executable_named_pdf_is_refused_naming_the_detected_type(world, private_root):
    message = _refusal(world, "report.pdf", files.ELF)

    assert "ELF 64-bit LSB executable" in message
    assert "application/x-executable" in message
    assert "not an allowed attachment type" in message
    assert _nothing_stored(private_root)


def test_a_windows_executable_named_pdf_is_refused_naming_the_detected_type(world):
    message = _refusal(world, "report.pdf", files.WINDOWS_EXE)
    assert "application/x-dosexec" in message


def test_a_shell_script_named_txt_is_refused(world, private_root):
    message = _refusal(world, "notes.txt", files.SHELL_SCRIPT)

    assert "shellscript" in message
    assert _nothing_stored(private_root)


def test_a_script_libmagic_calls_plain_text_is_still_refused_for_its_shebang(world):
    # An interpreter libmagic does not know: the '#!' line alone marks it as a script.
    message = _refusal(world, "run.txt", b"#!/usr/bin/env obscure-lang\nrun()\n")
    assert "script or markup" in message


def test_an_html_page_named_txt_is_refused(world):
    assert "text/html" in _refusal(world, "page.txt", files.HTML)


def test_an_svg_named_png_is_refused(world):
    assert "image/svg+xml" in _refusal(world, "chart.png", files.SVG)


def test_a_zip_archive_is_refused_because_its_contents_cannot_be_checked(world):
    assert "not an allowed attachment type" in _refusal(world, "evidence.zip", files.ZIP)


def test_a_pdf_named_png_is_refused_as_a_mismatch(world, private_root):
    message = _refusal(world, "chart.png", files.PDF)

    assert message == (
        "The content is a PDF document (application/pdf), which does not match the extension "
        ".png. Rename it to .pdf."
    )
    assert _nothing_stored(private_root)


def test_text_named_pdf_is_refused_as_a_mismatch(world):
    assert "does not match the extension .pdf" in _refusal(world, "notes.pdf", files.TEXT)


def test_source_code_without_a_shebang_is_accepted_as_inert_plain_text(world):
    # Evidence can be code the model wrote. It is stored and served as text/plain, as a
    # download with nosniff and a sandboxing CSP: nothing ever executes or renders it.
    code = b"import socket\nsocket.create_connection(('10.0.0.1', 502))\n"
    assert _add(world, world.file(), "exploit.py.txt", code).content_type == "text/plain"


def test_text_that_is_not_utf8_is_refused(world):
    assert "UTF-8" in _refusal(world, "latin1.txt", "café crème\n".encode("latin-1"))


def test_text_with_binary_after_a_text_head_is_refused(world):
    content = b"plain text header\n" * 10 + b"\x00\x01\x02\xff" * 10
    assert _refusal(world, "mixed.txt", content)


def test_a_name_without_an_extension_gets_the_detected_one(world):
    assert _add(world, world.file(), "evaluation", files.PDF).name == "evaluation.pdf"


# --- Names


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\boot.pdf", "boot.pdf"),
        ("/absolute/path/report.pdf", "report.pdf"),
        ("re\x00port.pdf", "report.pdf"),
        ("line\nbreak\r.pdf", "linebreak.pdf"),
        # A right-to-left override would make "evil\u202egnp.pdf" read as "evilfdp.png".
        ("evil\u202egnp.pdf", "evilgnp.pdf"),
        ("zero\u200bwidth.pdf", "zerowidth.pdf"),
        ("\ufb01le.pdf", "file.pdf"),  # NFKC: the "fi" ligature becomes two letters
        ('a<b>c:"d"|e?f*.pdf', "a_b_c__d__e_f_.pdf"),
        ("   spaced   out   .pdf", "spaced out.pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("..", "attachment"),
        ("", "attachment"),
        (None, "attachment"),
        (".pdf", "pdf"),
        ("CON.pdf", "_CON.pdf"),
        ("trailing.pdf.", "trailing.pdf"),
    ],
)
def test_names_are_sanitised(raw, clean):
    assert attachment_name_clean(raw) == clean


def test_a_very_long_name_is_cut_keeping_its_extension():
    name = attachment_name_clean("x" * 5000 + ".pdf")
    assert len(name) == 200
    assert name.endswith("x.pdf")


def test_a_path_traversal_name_is_stored_as_its_base_name_under_a_random_path(world, private_root):
    attachment = _add(world, world.file(), "../../../../etc/cron.d/job.pdf", files.PDF)

    assert attachment.name == "job.pdf"
    assert Path(attachment.file.path).resolve().is_relative_to(Path(private_root).resolve())


def test_an_rtl_override_cannot_disguise_an_extension(world):
    # "invoice\u202efdp.exe" displays as "invoiceexe.pdf"; without the override it is .exe.
    assert "does not match the extension .exe" in _refusal(world, "invoice\u202efdp.exe", files.PDF)


# --- Who may add


@pytest.mark.parametrize("who", ["defender_user", "other_lab_user", "other_defender_user"])
def test_only_those_who_may_edit_the_finding_may_upload(world, who):
    finding = world.embargoed()
    with pytest.raises(NotAllowed):
        _add(world, finding, "x.pdf", files.PDF, actor=getattr(world, who))


def test_a_coordinator_may_upload_to_a_submitted_finding(world):
    attachment = _add(world, world.submitted(), "x.pdf", files.PDF, actor=world.coordinator)
    assert attachment.uploaded_by == world.coordinator


def test_nobody_may_upload_to_a_released_finding(world, private_root):
    finding = world.released()
    with pytest.raises(NotAllowed):
        _add(world, finding, "x.pdf", files.PDF)
    assert _nothing_stored(private_root)


def test_a_refusal_reads_nothing_of_the_upload(world, settings):
    upload = EndlessUpload(settings.ATTACHMENT_MAX_BYTES)
    with pytest.raises(NotAllowed):
        attachment_add(actor=world.other_lab_user, finding=world.file(), upload=upload)
    assert upload.consumed == 0


# --- Nothing half-written


def test_a_failed_row_write_leaves_no_file(world, private_root, monkeypatch):
    def fail(*args, **kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr(Attachment.objects, "create", fail)
    with pytest.raises(IntegrityError):
        _add(world, world.file(), "x.pdf", files.PDF)

    assert files.stored_files(private_root) == []


def test_a_failed_audit_write_leaves_no_file_and_no_row(world, private_root, monkeypatch):
    def fail(**kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr(service, "audit_record", fail)
    with pytest.raises(IntegrityError):
        _add(world, world.file(), "x.pdf", files.PDF)

    assert _nothing_stored(private_root)


def test_a_failed_file_write_leaves_no_row(world, private_root, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(PrivateFileSystemStorage, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        _add(world, world.file(), "x.pdf", files.PDF)

    assert not Attachment.objects.exists()
    assert not AuditEvent.objects.filter(action="attachment.added").exists()


def test_a_file_write_failing_halfway_leaves_no_partial_file(world, private_root, monkeypatch):
    def half_then_fail(self, chunk_size=None):
        yield files.PDF[:10]
        raise OSError("disk full")

    monkeypatch.setattr(File, "chunks", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        _add(world, world.file(), "x.pdf", files.PDF)

    assert _nothing_stored(private_root)


def test_a_finding_released_while_the_file_was_written_gets_no_row_and_keeps_no_file(
    world, private_root, monkeypatch
):
    finding = world.embargoed()
    stale = Finding.objects.get(pk=finding.pk)
    _mark_released(finding)

    with pytest.raises(NotAllowed, match="closed meanwhile"):
        _add(world, stale, "x.pdf", files.PDF)

    assert _nothing_stored(private_root)


def test_an_outer_rollback_leaves_an_orphan_that_the_sweep_deletes(world, private_root):
    finding = world.file()
    kept = _add(world, finding, "kept.pdf", files.PDF)
    with pytest.raises(RuntimeError), transaction.atomic():
        _add(world, finding, "rolled-back.pdf", files.PDF)
        raise RuntimeError("the caller's transaction fails")
    assert len(files.stored_files(private_root)) == 2
    an_hour_ago = (timezone.now() - dt.timedelta(hours=2)).timestamp()
    for path in files.stored_files(private_root):
        os.utime(path, (an_hour_ago, an_hour_ago))

    assert attachment_orphans_delete() == 1
    assert files.stored_files(private_root) == [Path(kept.file.path)]


def test_the_sweep_leaves_fresh_files_alone(world, private_root):
    private_storage.save("attachments/1/fresh", io.BytesIO(b"in flight"))
    assert attachment_orphans_delete() == 0
    assert len(files.stored_files(private_root)) == 1


# --- Removal


def test_the_lab_removes_an_attachment_row_now_and_its_file_on_commit(
    world, private_root, django_capture_on_commit_callbacks
):
    attachment = _add(world, world.file(), "x.pdf", files.PDF)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        attachment_remove(actor=world.lab_user, attachment=attachment)
        assert not Attachment.objects.exists()
        assert len(files.stored_files(private_root)) == 1  # not before the commit
    for callback in callbacks:
        callback()

    assert files.stored_files(private_root) == []
    event = AuditEvent.objects.get(action="attachment.removed")
    assert event.actor == world.lab_user
    assert event.note == "x.pdf"  # the name is embargoed: only in the encrypted note
    assert "name" not in event.data
    assert event.data["sha256"] == hashlib.sha256(files.PDF).hexdigest()


def test_a_rolled_back_removal_keeps_the_file(world, private_root):
    attachment = _add(world, world.file(), "x.pdf", files.PDF)
    pk = attachment.pk
    with pytest.raises(RuntimeError), transaction.atomic():
        attachment_remove(actor=world.lab_user, attachment=attachment)
        raise RuntimeError("the caller's transaction fails")

    assert Attachment.objects.filter(pk=pk).exists()
    assert len(files.stored_files(private_root)) == 1


def test_a_coordinator_may_remove_what_the_lab_uploaded(world, django_capture_on_commit_callbacks):
    attachment = _add(world, world.submitted(), "x.pdf", files.PDF)
    with django_capture_on_commit_callbacks(execute=True):
        attachment_remove(actor=world.coordinator, attachment=attachment)
    assert not Attachment.objects.exists()


def test_a_notified_defender_may_not_remove_an_attachment(world):
    finding = world.embargoed()
    attachment = _add(world, finding, "x.pdf", files.PDF, actor=world.coordinator)
    with pytest.raises(NotAllowed):
        attachment_remove(actor=world.defender_user, attachment=attachment)


def test_an_attachment_cannot_be_removed_after_release(world):
    finding = world.embargoed()
    attachment = _add(world, finding, "x.pdf", files.PDF)
    _mark_released(finding)
    attachment.refresh_from_db()

    with pytest.raises(NotAllowed, match="before the finding is released"):
        attachment_remove(actor=world.lab_user, attachment=attachment)
    assert Attachment.objects.filter(pk=attachment.pk).exists()
