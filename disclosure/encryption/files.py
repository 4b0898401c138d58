"""Files encrypted at rest: a stream of AES-256-GCM segments, and a storage that uses it.

Layout (version 1)::

    "FWE1" | key id (8 bytes) | salt (16) | nonce prefix (7) | segment | segment | ...

Each file has its own AES-256 key, derived with HKDF-SHA256 from the configured key named by
the key id and the file's random salt. The plaintext is cut into segments of 64 KiB (the last
one shorter, possibly empty); segment i is sealed with the nonce ``prefix | i | last flag`` and
the header as associated data, and carries a 16-byte tag. That is the STREAM construction (as
in Tink's streaming AEAD): a segment cannot be changed, reordered, dropped, or the file cut
short or extended without a tag failing. Files are read and written a segment at a time, so a
25 MB attachment never sits whole in memory.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.files import File
from django.core.files.storage import FileSystemStorage

from . import SETTING, DecryptionError, Key, keyring

MAGIC = b"FWE1"
KEY_ID_BYTES = 8
SALT_BYTES = 16
PREFIX_BYTES = 7
HEADER_BYTES = len(MAGIC) + KEY_ID_BYTES + SALT_BYTES + PREFIX_BYTES
SEGMENT_BYTES = 64 * 1024
TAG_BYTES = 16
SEALED_BYTES = SEGMENT_BYTES + TAG_BYTES


def _cipher(key: Key, salt: bytes) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=b"forewarn attachment v1"
    ).derive(key.secret)
    return AESGCM(derived)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


def encrypt_chunks(chunks: Iterable[bytes], *, key: Key | None = None) -> Iterator[bytes]:
    """The encrypted file, as header and sealed segments, from the plaintext's chunks."""
    key = key or keyring().newest
    salt, prefix = os.urandom(SALT_BYTES), os.urandom(PREFIX_BYTES)
    header = MAGIC + key.id_bytes + salt + prefix
    cipher = _cipher(key, salt)
    yield header
    pending = bytearray()
    index = 0
    for chunk in chunks:
        pending += chunk
        # Keep at least one byte back: only the end of the input says which segment is last.
        while len(pending) > SEGMENT_BYTES:
            segment = bytes(pending[:SEGMENT_BYTES])
            del pending[:SEGMENT_BYTES]
            yield cipher.encrypt(_nonce(prefix, index, False), segment, header)
            index += 1
    yield cipher.encrypt(_nonce(prefix, index, True), bytes(pending), header)


def header_key_id(head: bytes) -> str | None:
    """The key id of an encrypted file's first bytes; None if they are not such a header."""
    if len(head) < HEADER_BYTES or not head.startswith(MAGIC):
        return None
    return head[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES].hex()


def plaintext_size(encrypted_size: int) -> int:
    """How many bytes the file decrypts to, from its encrypted size alone."""
    body = encrypted_size - HEADER_BYTES
    if body < TAG_BYTES:
        raise ValueError("Too short to be an encrypted file.")
    segments = -(-body // SEALED_BYTES)  # ceiling division
    return body - segments * TAG_BYTES


class DecryptingReader(io.RawIOBase):
    """Reads an encrypted file as its plaintext; DecryptionError at the first bad segment."""

    def __init__(self, raw: IO[bytes], *, what: str = "an encrypted file") -> None:
        super().__init__()
        self.raw = raw
        self.what = what
        self.header = raw.read(HEADER_BYTES)
        found = header_key_id(self.header)
        if found is None:
            raise DecryptionError(f"Cannot decrypt {what}: it is not an encrypted file.")
        key = keyring().get(found)
        if key is None:
            raise DecryptionError(
                f"Cannot decrypt {what}: it was encrypted with key {found}, which is not in "
                f"{SETTING}.",
                reason="key",
            )
        self.key_id = found
        salt_at = len(MAGIC) + KEY_ID_BYTES
        self._cipher = _cipher(key, self.header[salt_at : salt_at + SALT_BYTES])
        self._prefix = self.header[salt_at + SALT_BYTES :]
        self._index = 0
        self._next = raw.read(SEALED_BYTES)
        self._buffer = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def _segment(self) -> bytes:
        sealed, self._next = self._next, self.raw.read(SEALED_BYTES) if self._next else b""
        last = not self._next
        try:
            nonce = _nonce(self._prefix, self._index, last)
            plain = self._cipher.decrypt(nonce, sealed, self.header)
        except InvalidTag as exc:
            raise DecryptionError(
                f"Cannot decrypt {self.what}: segment {self._index} failed its integrity check "
                "(the file was altered or cut short)."
            ) from exc
        self._index += 1
        self._done = last
        return plain

    def readinto(self, buffer: Any) -> int:
        while not self._buffer and not self._done:
            self._buffer = memoryview(self._segment())
        size = min(len(buffer), len(self._buffer))
        buffer[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]  # a view: no copy of the rest
        return size

    def verify(self) -> int:
        """Read to the end, checking every segment; the plaintext size."""
        total = len(self._buffer)
        self._buffer = memoryview(b"")
        while not self._done:
            total += len(self._segment())
        return total

    def close(self) -> None:
        self.raw.close()
        super().close()


class EncryptedFileSystemStorage(FileSystemStorage):
    """A file system storage whose files are encrypted: written sealed, read decrypted.

    Only whole-file writes and binary reads: that is all attachments need.
    """

    def _save(self, name: str, content: File) -> str:
        return super()._save(name, _Sealed(content))  # type: ignore[misc]  # not in the stubs

    def _open(self, name: str, mode: str = "rb") -> File:
        if mode != "rb":
            raise ValueError("Encrypted files can only be opened for reading bytes ('rb').")
        handle = open(self.path(name), "rb")  # noqa: SIM115 -- the File closes it
        try:
            reader = DecryptingReader(handle, what=f"file {name}")
            return File(cast(IO[bytes], reader), name=name)
        except BaseException:
            handle.close()
            raise

    def size(self, name: str) -> int:
        return plaintext_size(super().size(name))


class _Sealed:
    """What FileSystemStorage._save reads: the content's chunks, encrypted."""

    def __init__(self, content: File) -> None:
        self.content = content

    def chunks(self) -> Iterator[bytes]:
        return encrypt_chunks(self.content.chunks())


def file_key_id(path: str | os.PathLike[str]) -> str | None:
    with open(path, "rb") as handle:
        return header_key_id(handle.read(HEADER_BYTES))


def file_verify(path: str | os.PathLike[str], *, what: str = "an encrypted file") -> int:
    """Check every segment with the configured keys; the plaintext size, or DecryptionError."""
    with open(path, "rb") as handle:
        return DecryptingReader(handle, what=what).verify()


def _read_all(stream: IO[bytes] | DecryptingReader) -> Iterator[bytes]:
    return iter(lambda: stream.read(SEGMENT_BYTES), b"")


def _rewrite(path: str | os.PathLike[str], content: Callable[[IO[bytes]], Iterable[bytes]]) -> None:
    """Replace the file with ``content(old file)``: written beside it, then renamed over it,
    so a reader sees the old file or the new one, never a mix, and a failure (say a segment
    that does not decrypt) leaves the old one as it was."""
    path = os.fspath(path)
    temporary = f"{path}.{os.urandom(6).hex()}.rewrite"
    with open(path, "rb") as source:
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                for piece in content(source):
                    out.write(piece)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, os.stat(path).st_mode & 0o777)
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise


def file_encrypt_in_place(path: str | os.PathLike[str]) -> None:
    """Encrypt a plaintext file under the newest key (migration 0009)."""
    _rewrite(path, lambda source: encrypt_chunks(_read_all(source)))


def file_reencrypt(path: str | os.PathLike[str], *, what: str = "an encrypted file") -> None:
    """Encrypt an encrypted file again, under the newest key (rotation)."""
    _rewrite(path, lambda source: encrypt_chunks(_read_all(DecryptingReader(source, what=what))))


def file_decrypt_in_place(path: str | os.PathLike[str], *, what: str = "an encrypted file") -> None:
    """Rewrite an encrypted file as its plaintext (migration 0009 backwards)."""
    _rewrite(path, lambda source: _read_all(DecryptingReader(source, what=what)))
