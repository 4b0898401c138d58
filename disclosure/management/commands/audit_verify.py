"""Verify the audit trail's hash chain and print its head.

python manage.py audit_verify
python manage.py audit_verify --expect-head 1234:<the 64 hex digits an earlier run printed>

Exit status: 0 the chain is intact; 1 problems were found (each is printed, naming the entry);
2 it could not be checked (bad arguments, AUDIT_HMAC_KEY not set, the database unreachable).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from disclosure.audit_verify import chain_verify, parse_head, verification_remember

CANNOT_CHECK = 2
PROBLEMS_FOUND = 1


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain: report every entry that was modified, deleted, "
        "inserted or reordered, and print the chain's head to record elsewhere."
    )
    # It must run (and say what is wrong) even when a system check fails, e.g. a missing key.
    requires_system_checks: list[str] = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--expect-head",
            metavar="SEQ:HASH",
            help="A head printed by an earlier run: reports entries deleted from the end since.",
        )
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=None,
            help="How long an entry may wait to be sealed before it is reported "
            "(default: AUDIT_SEAL_GRACE_SECONDS, 300).",
        )
        parser.add_argument(
            "--max-problems",
            type=int,
            default=100,
            help="Print at most this many problems (all are counted; default 100).",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        expect = None
        if options["expect_head"]:
            try:
                expect = parse_head(options["expect_head"])
            except ValueError as exc:
                raise CommandError(f"--expect-head {exc}", returncode=CANNOT_CHECK) from exc
        grace = options["grace_seconds"]
        if grace is not None and grace < 0:
            raise CommandError("--grace-seconds must be 0 or more.", returncode=CANNOT_CHECK)
        if options["max_problems"] < 1:
            raise CommandError("--max-problems must be 1 or more.", returncode=CANNOT_CHECK)
        try:
            result = chain_verify(
                expect_head=expect,
                grace=timedelta(seconds=grace) if grace is not None else None,
                max_problems=options["max_problems"],
            )
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=CANNOT_CHECK) from exc
        except DatabaseError as exc:
            raise CommandError(
                f"The database could not be read: {exc}", returncode=CANNOT_CHECK
            ) from exc
        verification_remember(result, log=False)  # reported below
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        else:
            self._report(result)
        if not result.ok:
            raise CommandError(
                f"The audit chain failed verification: {result.problems_total} problem(s).",
                returncode=PROBLEMS_FOUND,
            )

    def _report(self, result: Any) -> None:
        write = self.stdout.write
        write(
            f"Checked {result.entries:,} sealed audit entries; "
            f"{result.pending:,} recent ones waiting to be sealed."
        )
        if result.head:
            head = f"{result.head[0]}:{result.head[1]}"
            write(f"Head: {head}")
            write(
                "  Record it somewhere else: a later run with --expect-head "
                f"{head} also detects entries deleted from the end."
            )
        else:
            write("Head: none (nothing is sealed yet).")
        if result.ok:
            write(self.style.SUCCESS("The chain is intact."))
            return
        for problem in result.problems:
            write(self.style.ERROR(str(problem)))
        shown = len(result.problems)
        more = f" (the first {shown} are shown)" if shown < result.problems_total else ""
        write(self.style.ERROR(f"{result.problems_total} problem(s) found{more}."))
