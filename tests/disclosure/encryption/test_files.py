"""Attachment files encrypted at rest: the format, what an altered file does, and downloads."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from disclosure.encryption import DecryptionError, keyring
from disclosure.encryption.files import (
    HEADER_BYTES,
    MAGIC,
    SEALED_BYTES,
    SEGMENT_BYTES,
    DecryptingReader,
    encrypt_chunks,
    plaintext_size,
)
from disclosure.models import Attachment, AuditEvent
from disclosure.models.attachments import private_storage
from disclosure.services.attachments import UNREADABLE, attachment_add
from disclosure.services.encryption import encryption_rotate
from tests.disclosure.encryption.conftest import KEY_A, KEY_B
from tests.factories import attachments as files

MARKER = b"SECRET-ATTACHMENT-CONTENT"
# Text over three segments, so that segments can be dropped, swapped and cut.
LONG_TEXT = (b"Transcript line with " + MARKER + b".\n") * 6000


def _sealed(plain: bytes) -> bytes:
    return b"".join(encrypt_chunks([plain[i : i + 5000] for i in range(0, len(plain), 5000)]))


def _open(sealed: bytes) -> bytes:
    return DecryptingReader(io.BytesIO(sealed)).read()


@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES + 7]
)
def test_any_size_reads_back_whole_and_its_size_is_known_from_the_file(keys, size):
    plain = os.urandom(size)
    sealed = _sealed(plain)
    assert _open(sealed) == plain
    assert plaintext_size(len(sealed)) == size


def test_a_stored_file_holds_no_plaintext_and_names_its_key(world, keys, private_root):
    attachment = attachment_add(
        actor=world.lab_user, finding=world.file(), upload=files.upload("log.txt", LONG_TEXT)
    )
    raw = Path(attachment.file.path).read_bytes()
    assert raw.startswith(MAGIC + keyring().newest.id_bytes)
    assert MARKER not in raw
    with attachment.file.open("rb") as handle:
        assert handle.read() == LONG_TEXT
    assert private_storage.size(attachment.file.name) == len(LONG_TEXT)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


ALTERATIONS = {
    "a bit of the content": lambda s: _flip(s, HEADER_BYTES + 100),
    "a bit of the last segment": lambda s: _flip(s, len(s) - 20),
    "a bit of the header": lambda s: _flip(s, 20),
    "the last segment cut off": lambda s: s[: HEADER_BYTES + 3 * SEALED_BYTES],
    "a whole segment dropped": lambda s: (
        s[: HEADER_BYTES + SEALED_BYTES] + s[HEADER_BYTES + 2 * SEALED_BYTES :]
    ),
    "two segments swapped": lambda s: (
        s[:HEADER_BYTES]
        + s[HEADER_BYTES + SEALED_BYTES : HEADER_BYTES + 2 * SEALED_BYTES]
        + s[HEADER_BYTES : HEADER_BYTES + SEALED_BYTES]
        + s[HEADER_BYTES + 2 * SEALED_BYTES :]
    ),
    "bytes appended": lambda s: s + b"\x00" * 40,
    "only the header left": lambda s: s[:HEADER_BYTES],
}


@pytest.mark.parametrize("alteration", ALTERATIONS, ids=list(ALTERATIONS))
def test_an_altered_file_fails_its_integrity_check(keys, alteration):
    sealed = _sealed(os.urandom(3 * SEGMENT_BYTES + 7))
    with pytest.raises(DecryptionError, match="integrity check"):
        _open(ALTERATIONS[alteration](sealed))


def test_a_file_under_a_key_not_configured_says_which_key(keys):
    sealed = _sealed(b"evidence")
    key_id = keyring().newest.id
    keys(KEY_B)
    with pytest.raises(DecryptionError, match=f"key {key_id}, which is not in") as error:
        _open(sealed)
    assert error.value.reason == "key"


def test_a_plaintext_file_is_refused(keys):
    with pytest.raises(DecryptionError, match="not an encrypted file"):
        _open(files.PDF)


def test_a_new_key_in_front_writes_new_files_and_reads_old_ones(keys):
    old = _sealed(b"old evidence")
    keys(KEY_B, KEY_A)
    new = _sealed(b"new evidence")
    assert new[4:12] == keyring().newest.id_bytes != old[4:12]
    assert (_open(old), _open(new)) == (b"old evidence", b"new evidence")


# --- Downloads


def _attached(world, content: bytes = LONG_TEXT) -> Attachment:
    finding = world.embargoed()
    return attachment_add(
        actor=world.lab_user, finding=finding, upload=files.upload("transcript.txt", content)
    )


def _download_url(attachment: Attachment) -> str:
    return f"/api/findings/{attachment.finding.reference}/attachments/{attachment.pk}/download/"


def _tamper(attachment: Attachment) -> None:
    path = Path(attachment.file.path)
    path.write_bytes(_flip(path.read_bytes(), HEADER_BYTES + SEALED_BYTES + 5))


def test_a_download_is_the_decrypted_file_with_its_length(world, keys, client):
    attachment = _attached(world)
    client.force_login(world.defender_user)
    response = client.get(_download_url(attachment))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(LONG_TEXT))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"".join(response.streaming_content) == LONG_TEXT


def test_downloading_an_altered_file_by_api_is_a_clear_409_and_is_audited(world, keys, client):
    attachment = _attached(world)
    _tamper(attachment)
    client.force_login(world.defender_user)
    response = client.get(_download_url(attachment))
    assert response.status_code == 409
    assert response.json() == {"detail": UNREADABLE}
    event = AuditEvent.objects.get(action="attachment.unreadable")
    assert (event.actor, event.data) == (
        world.defender_user,
        {"attachment": attachment.pk, "reason": "integrity", "via": "api"},
    )
    assert not AuditEvent.objects.filter(action="attachment.downloaded").exists()


def test_downloading_an_altered_file_by_page_shows_why_on_the_finding_page(world, keys, client):
    attachment = _attached(world)
    _tamper(attachment)
    client.force_login(world.defender_user)
    url = f"/findings/{attachment.finding.reference}/attachments/{attachment.pk}/"
    response = client.get(url)
    assert response.status_code == 409
    assert "failed its integrity check" in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_downloading_a_file_whose_key_is_not_configured_is_a_409(world, keys, client):
    attachment = _attached(world)
    path = Path(attachment.file.path)
    under_a = path.read_bytes()
    keys(KEY_B, KEY_A)
    encryption_rotate()  # the rows now read with KEY_B alone ...
    path.write_bytes(under_a)  # ... but the file is back to KEY_A's
    keys(KEY_B)
    client.force_login(world.defender_user)
    response = client.get(_download_url(attachment))
    assert response.status_code == 409
    assert AuditEvent.objects.get(action="attachment.unreadable").data["reason"] == "key"
