"""Re-encrypt every encrypted value and attachment file under the newest encryption key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from disclosure.encryption import SETTING, EncryptionKeyError, keyring
from disclosure.services.encryption import Report, encryption_check, encryption_rotate

SHOWN_FAILURES = 20


class Command(BaseCommand):
    help = (
        f"Re-encrypt every encrypted value and attachment file under the first (newest) key of "
        f"{SETTING}, in batches; run it again to resume. --check only counts what an older "
        "key still encrypts, and exits non-zero if anything does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing: count what still needs rotation (exit 1 if anything does).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Rows read and rewritten per transaction (default 500).",
        )

    def handle(self, *args: Any, check: bool, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            ring = keyring()
        except EncryptionKeyError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Newest key: {ring.newest.id} (1 of {len(ring.keys)} in {SETTING})."
            + (" Checking, changing nothing." if check else "")
        )
        run = encryption_check if check else encryption_rotate
        report = run(batch_size=batch_size, progress=self.stdout.write)
        self._summary(report, check=check)
        if report.failed:
            for what in report.failed[:SHOWN_FAILURES]:
                self.stderr.write(f"  cannot decrypt {what}")
            more = len(report.failed) - SHOWN_FAILURES
            if more > 0:
                self.stderr.write(f"  ... and {more} more")
            raise CommandError(
                f"{len(report.failed)} value(s) or file(s) open with none of the configured "
                f"keys and were left as they are: is a key missing from {SETTING}, or was "
                "the data altered?"
            )
        pending = report.values.stale + report.files.stale
        if check and pending:
            raise CommandError(
                f"{report.values.stale} value(s) and {report.files.stale} file(s) are still "
                "under an older key: run `manage.py encryption_rotate`."
            )
        if len(ring.keys) > 1:
            self.stdout.write(
                f"Everything is under the newest key: the other {len(ring.keys) - 1} key(s) "
                f"can now be removed from {SETTING}."
            )

    def _summary(self, report: Report, *, check: bool) -> None:
        values, files = report.values, report.files
        verb = "under an older key" if check else "rotated"
        line = f"Values: {values.stale} {verb}, {values.current} under the newest key"
        if values.changed:
            line += f", {values.changed} edited meanwhile (written under the newest key)"
        self.stdout.write(line + ".")
        line = f"Files: {files.stale} {verb}, {files.current} under the newest key"
        if files.missing:
            line += f", {files.missing} missing from the storage"
        self.stdout.write(line + ".")
