"""Evidence attachments: checked while they stream in, stored privately, removed cleanly.

An upload is read once, in chunks, into a temporary file: never past the size limit, hashing as
it goes. Its type is detected from the content with libmagic and must be on a short allowlist
and agree with the file's extension. Only then does anything reach the private storage, and
the row and the file stand or fall together.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import hashlib
import logging
import os
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from typing import IO, Any, Protocol

import magic
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from .. import policies
from ..encryption import DecryptionError
from ..encryption.files import DecryptingReader, file_verify
from ..errors import Conflict, NotAllowed, ValidationFailed
from ..models import Attachment, Finding
from ..models.attachments import private_storage
from .audit import audit_record

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
# libmagic decides from the start of the file; 1 MiB is more than any of its tests reads.
HEAD_BYTES = 1024 * 1024
NAME_MAX = 200  # Attachment.name's max_length
EXTENSION_MAX = 10
DEFAULT_STEM = "attachment"


@dataclass(frozen=True)
class FileKind:
    label: str
    content_type: str  # what downloads are served as
    extensions: tuple[str, ...]  # the first is the one a name without an extension gets


BINARY_KINDS = {
    "application/pdf": FileKind("PDF document", "application/pdf", (".pdf",)),
    "image/png": FileKind("PNG image", "image/png", (".png",)),
    "image/jpeg": FileKind("JPEG image", "image/jpeg", (".jpg", ".jpeg")),
    "image/gif": FileKind("GIF image", "image/gif", (".gif",)),
    "image/webp": FileKind("WebP image", "image/webp", (".webp",)),
}
# Plain UTF-8 text is evidence too (transcripts, logs, tables, eval results). libmagic calls it
# one of these; the extension then picks the type it is served as. Scripts with a '#!' line,
# HTML, XML and SVG are detected as other types and so refused.
TEXT_DETECTED = frozenset({"text/plain", "text/csv", "application/json"})
TEXT_KINDS = {
    ".txt": FileKind("plain text", "text/plain", (".txt",)),
    ".log": FileKind("log text", "text/plain", (".log",)),
    ".csv": FileKind("CSV text", "text/csv", (".csv",)),
    ".tsv": FileKind("TSV text", "text/tab-separated-values", (".tsv",)),
    ".md": FileKind("Markdown text", "text/markdown", (".md",)),
    ".markdown": FileKind("Markdown text", "text/markdown", (".markdown",)),
    ".json": FileKind("JSON text", "application/json", (".json",)),
    ".jsonl": FileKind("JSON Lines text", "application/jsonl", (".jsonl",)),
}
# Belt and braces for text libmagic did not recognise as markup or a script: refused as well.
TEXT_REFUSED_OPENINGS = (
    b"#!",
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<svg",
    b"<?xml",
    b"<iframe",
    b"<object",
    b"<embed",
)
ALLOWED_DESCRIPTION = (
    "PDF, PNG, JPEG, GIF, WebP, and UTF-8 text (.txt, .log, .csv, .tsv, .md, .json, .jsonl)"
)
# Characters no file name needs and some programs treat specially.
NAME_REPLACED = set('<>:"/\\|?*')
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10))} | {
    f"LPT{i}" for i in range(1, 10)
}


class Upload(Protocol):
    """What an upload must offer: Django's UploadedFile does, and so does any binary file."""

    name: str | None

    def read(self, size: int = ..., /) -> bytes: ...


def size_label(size: int) -> str:
    """A limit as people write it: 25 MB, 512 KB, 1000 bytes."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def too_large_message() -> str:
    return f"File is larger than {size_label(settings.ATTACHMENT_MAX_BYTES)}."


def attachment_name_clean(raw: str | None) -> str:
    """A safe display and download name: a base name, printable, normalised, not too long.

    The stored file has a random name whatever this returns; this is what people see and what
    the download suggests to their browser.
    """
    name = str(raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFKC", name)
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            # Control and format characters, including NUL and the bidi overrides that make
            # "invoice\u202efdp.exe" look like "invoiceexe.pdf".
            continue
        kept.append("_" if char in NAME_REPLACED else " " if char.isspace() else char)
    name = " ".join("".join(kept).split())
    name = name.strip(" .")  # no hidden files, no "..", no trailing dots Windows drops
    stem, extension = os.path.splitext(name)
    if len(extension) > EXTENSION_MAX + 1 or extension == ".":
        stem, extension = name, ""
    stem = stem.strip(" .")
    if not stem:
        stem = DEFAULT_STEM
    if stem.split(".")[0].upper() in WINDOWS_RESERVED:
        stem = f"_{stem}"
    stem = stem[: NAME_MAX - len(extension)].rstrip(" .") or DEFAULT_STEM
    return stem + extension


def _detect(head: bytes) -> tuple[str, str]:
    """libmagic's verdict on the content: (MIME type, description)."""
    mime = magic.from_buffer(head, mime=True)
    description = magic.from_buffer(head)
    return mime, description[:120]


def _kind_for(*, head: bytes, is_utf8_text: bool, name: str) -> tuple[FileKind, str]:
    """The allowed kind of the content, and the name with an extension that agrees with it."""
    mime, description = _detect(head)
    stem, extension = os.path.splitext(name)
    extension = extension.lower()
    detected = f"{description} ({mime})"
    if mime in BINARY_KINDS:
        kind = BINARY_KINDS[mime]
    elif mime in TEXT_DETECTED:
        opening = head.removeprefix(codecs.BOM_UTF8).lstrip().lower()
        if opening.startswith(TEXT_REFUSED_OPENINGS):
            raise ValidationFailed(
                {
                    "file": f"The content looks like a script or markup ({detected}), which is "
                    f"not an allowed attachment type. Allowed: {ALLOWED_DESCRIPTION}."
                }
            )
        if not is_utf8_text:
            raise ValidationFailed(
                {"file": f"Text attachments must be UTF-8 without NUL bytes; this is {detected}."}
            )
        kind = TEXT_KINDS.get(extension, TEXT_KINDS[".txt"])
        if not extension:
            return kind, f"{name}{kind.extensions[0]}"
        if extension not in TEXT_KINDS:
            raise ValidationFailed(
                {
                    "file": f"The content is text ({detected}), which does not match the "
                    f"extension {extension}. Use one of: {', '.join(TEXT_KINDS)}."
                }
            )
        return kind, name
    elif mime == "application/x-empty":
        raise ValidationFailed({"file": "The file is empty."})
    else:
        raise ValidationFailed(
            {
                "file": f"The content is {detected}, which is not an allowed attachment type. "
                f"Allowed: {ALLOWED_DESCRIPTION}."
            }
        )
    if not extension:
        return kind, f"{stem}{kind.extensions[0]}"
    if extension not in kind.extensions:
        raise ValidationFailed(
            {
                "file": f"The content is a {kind.label} ({mime}), which does not match the "
                f"extension {extension}. Rename it to {kind.extensions[0]}."
            }
        )
    return kind, name


@dataclass
class _Spooled:
    size: int
    sha256: str
    head: bytes
    is_utf8_text: bool


def _decodes(decoder: codecs.IncrementalDecoder, chunk: bytes, *, final: bool = False) -> bool:
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _spool(upload: Upload, out: IO[bytes], *, limit: int) -> _Spooled:
    """Copy the upload into ``out``, reading at most limit + 1 bytes whatever it claims."""
    if hasattr(upload, "seek"):
        # A stream that cannot seek is read from where it is.
        with contextlib.suppress(OSError, ValueError):
            upload.seek(0)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_utf8_text = True
    head = bytearray()
    size = 0
    while True:
        # Never ask for more than one byte past the limit: that byte proves it is too large.
        chunk = upload.read(min(CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise ValidationFailed({"file": too_large_message()})
        digest.update(chunk)
        out.write(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        if is_utf8_text:
            is_utf8_text = b"\x00" not in chunk and _decodes(decoder, chunk)
    is_utf8_text = is_utf8_text and _decodes(decoder, b"", final=True)
    out.flush()
    out.seek(0)
    return _Spooled(size, digest.hexdigest(), bytes(head), is_utf8_text)


def _lock(finding: Finding) -> Finding:
    """The finding's row, locked, so a release or withdrawal cannot slip in between."""
    return Finding.objects.select_for_update().get(pk=finding.pk)


def attachment_add_check(*, actor: Any, finding: Finding) -> None:
    """Refuse someone who may not add attachments, before their upload is even read."""
    if not policies.can_edit_finding(actor, finding):
        raise NotAllowed(
            "Only the finding's lab and coordinators can add attachments, and only while the "
            "finding is open."
        )


def attachment_add(*, actor: Any, finding: Finding, upload: Upload) -> Attachment:
    """Attach an evidence file to a finding; only those who may edit the finding may."""
    attachment_add_check(actor=actor, finding=finding)
    limit = settings.ATTACHMENT_MAX_BYTES
    with tempfile.TemporaryFile() as spool:
        spooled = _spool(upload, spool, limit=limit)
        if spooled.size == 0:
            raise ValidationFailed({"file": "The file is empty."})
        kind, name = _kind_for(
            head=spooled.head,
            is_utf8_text=spooled.is_utf8_text,
            name=attachment_name_clean(getattr(upload, "name", None)),
        )
        # The content is checked; now the file, then the row. If the row cannot be written the
        # file goes; if the file cannot be written there is no row yet.
        stored = f"attachments/{finding.pk}/{uuid.uuid4().hex}"
        try:
            stored = private_storage.save(stored, File(spool), max_length=300)
        except BaseException:
            private_storage.delete(stored)  # the part written before, say, the disk filled up
            raise
    try:
        with transaction.atomic():
            locked = _lock(finding)
            if not policies.can_edit_finding(actor, locked):
                raise NotAllowed("The finding was closed meanwhile; it takes no attachments.")
            attachment = Attachment.objects.create(
                finding=locked,
                file=stored,
                name=name,
                content_type=kind.content_type,
                size=spooled.size,
                sha256=spooled.sha256,
                uploaded_by=actor,
            )
            audit_record(
                actor=actor,
                action="attachment.added",
                finding=locked,
                note=name,
                data={
                    "attachment": attachment.pk,
                    "size": spooled.size,
                    "sha256": spooled.sha256,
                    "content_type": kind.content_type,
                },
            )
            # Should an outer transaction roll back after all, the file is an orphan that
            # attachment_orphans_delete removes; it has no row, so nobody can reach it.
    except BaseException:
        private_storage.delete(stored)
        raise
    return attachment


def attachment_remove(*, actor: Any, attachment: Attachment) -> None:
    """Delete an attachment's row now and its file once that has committed."""
    with transaction.atomic():
        finding = _lock(attachment.finding)
        if not policies.can_remove_attachment(actor, attachment, finding):
            raise NotAllowed(
                "Only the uploader, the finding's lab and coordinators can remove attachments, "
                "and only before the finding is released."
            )
        stored = str(attachment.file.name)
        data = {
            "attachment": attachment.pk,
            "size": attachment.size,
            "sha256": attachment.sha256,
        }
        attachment.delete()
        audit_record(
            actor=actor,
            action="attachment.removed",
            finding=finding,
            note=attachment.name,
            data=data,
        )
        transaction.on_commit(lambda: _delete_quietly(stored))


def _delete_quietly(stored: str) -> None:
    try:
        private_storage.delete(stored)
    except OSError:
        # The row is gone, so nobody can reach the file; the orphan sweep retries.
        logger.warning("Could not delete attachment file %s", stored, exc_info=True)


UNREADABLE = (
    "This file cannot be served: it failed its integrity check (it may have been altered) or "
    "was encrypted with a key this server does not have. The failure is logged and audited; "
    "the operators can restore the file from a backup."
)


def attachment_open(*, actor: Any, attachment: Attachment, via: str) -> tuple[IO[bytes], int]:
    """The attachment's content, decrypted, and its size: checked whole before a byte is served.

    Every segment is authenticated first, so an altered file (or one under a key that is not
    configured) is refused with a clear 409 rather than cut off in the middle of a download.
    FileNotFoundError if the file is gone.
    """
    path = private_storage.path(str(attachment.file.name))
    what = f"the file of attachment {attachment.pk}"
    try:
        size = file_verify(path, what=what)
        handle = open(path, "rb")  # noqa: SIM115 -- the response closes it
    except DecryptionError as exc:
        logger.error("Attachment %s cannot be served: %s", attachment.pk, exc)
        audit_record(
            actor=actor,
            action="attachment.unreadable",
            finding=attachment.finding,
            data={"attachment": attachment.pk, "reason": exc.reason, "via": via},
        )
        raise Conflict(UNREADABLE) from exc
    try:
        return DecryptingReader(handle, what=what), size  # type: ignore[return-value]
    except BaseException:
        handle.close()
        raise


def attachment_download_record(*, actor: Any, attachment: Attachment, via: str) -> None:
    """Audit a download: who fetched which file of which finding, by page or API."""
    audit_record(
        actor=actor,
        action="attachment.downloaded",
        finding=attachment.finding,
        note=attachment.name,
        data={
            "attachment": attachment.pk,
            "sha256": attachment.sha256,
            "via": via,
        },
    )


def attachment_orphans_delete(*, older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Delete stored files no row refers to (left by a rolled-back outer transaction).

    Only files older than ``older_than`` go, so an upload between its file write and its
    commit is never touched. Returns how many were deleted.
    """
    root = "attachments"
    if not private_storage.exists(root):
        return 0
    cutoff = timezone.now() - older_than
    known = set(Attachment.objects.values_list("file", flat=True))
    deleted = 0
    for folder in private_storage.listdir(root)[0]:
        for filename in private_storage.listdir(f"{root}/{folder}")[1]:
            stored = f"{root}/{folder}/{filename}"
            if stored not in known and private_storage.get_modified_time(stored) < cutoff:
                private_storage.delete(stored)
                deleted += 1
    return deleted
