"""Real GnuPG for the OpenPGP tests: keys made as a contact would make them, and decryption as
a recipient would do it. Each instance has its own temporary GNUPGHOME (and gpg-agent)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

GPG = shutil.which("gpg") or "/usr/bin/gpg"


@dataclass(frozen=True)
class Decrypted:
    plaintext: bytes
    status: list[str]  # gpg's --status-fd lines, without the "[GNUPG:] " prefix

    def has(self, keyword: str) -> bool:
        return any(line.split(" ", 1)[0] == keyword for line in self.status)

    def valid_signature_primary_fingerprint(self) -> str | None:
        """VALIDSIG's last field: the fingerprint of the signing key's primary key."""
        for line in self.status:
            fields = line.split()
            if fields[0] == "VALIDSIG":
                return fields[-1]
        return None


class GnuPG:
    def __init__(self) -> None:
        # Short, so that gpg-agent's socket path stays within the limit.
        self.home = Path(tempfile.mkdtemp(prefix="fwgpg-", dir="/tmp"))
        self.home.chmod(0o700)
        # The agent calibrates passphrase hashing to ~100 ms per use, which makes generating a
        # protected key take seconds; a fixed, lower count is plenty for test keys.
        (self.home / "gpg-agent.conf").write_text("s2k-count 65536\n")

    def run(
        self, *args: str, input: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [GPG, "--batch", "--no-tty", "--homedir", str(self.home), *args],
            input=input,
            capture_output=True,
            check=check,
            timeout=60,
            env={**os.environ, "GNUPGHOME": str(self.home)},
        )

    def fingerprint(self, uid: str) -> str:
        out = self.run("--with-colons", "--list-keys", uid).stdout.decode()
        return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))

    def generate(
        self,
        uid: str,
        *,
        algo: str = "future-default",
        usage: str = "default",
        expire: str = "0",
        faked_time: str | None = None,
    ) -> str:
        """A new key without passphrase; returns its fingerprint."""
        fake = ["--faked-system-time", faked_time] if faked_time else []
        self.run(*fake, "--passphrase", "", "--quick-gen-key", uid, algo, usage, expire)
        return self.fingerprint(uid)

    def add_subkey(
        self, fingerprint: str, *, algo: str, usage: str, expire: str, faked_time: str | None
    ) -> None:
        fake = ["--faked-system-time", faked_time] if faked_time else []
        self.run(*fake, "--passphrase", "", "--quick-add-key", fingerprint, algo, usage, expire)

    def revoke(self, fingerprint: str) -> None:
        """Import the revocation certificate gpg made when it generated the key."""
        cert = (self.home / "openpgp-revocs.d" / f"{fingerprint}.rev").read_text()
        self.run("--import", input=cert.replace(":-----BEGIN", "-----BEGIN").encode())

    def export(self, fingerprint: str) -> str:
        return self.run("--armor", "--export", fingerprint).stdout.decode()

    def export_secret(self, fingerprint: str) -> str:
        return self.run(
            "--passphrase",
            "",
            "--pinentry-mode",
            "loopback",
            "--armor",
            "--export-secret-keys",
            fingerprint,
        ).stdout.decode()

    def import_key(self, armored: str | bytes) -> None:
        data = armored.encode() if isinstance(armored, str) else armored
        self.run("--import", input=data)

    def decrypt(self, ciphertext: bytes) -> Decrypted:
        result = self.run("--status-fd", "2", "--decrypt", input=ciphertext, check=False)
        status = [
            line.removeprefix("[GNUPG:] ")
            for line in result.stderr.decode(errors="replace").splitlines()
            if line.startswith("[GNUPG:] ")
        ]
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        return Decrypted(plaintext=result.stdout, status=status)

    def close(self) -> None:
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"],
            env={**os.environ, "GNUPGHOME": str(self.home)},
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.home, ignore_errors=True)
