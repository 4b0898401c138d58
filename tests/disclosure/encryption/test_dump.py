"""A copy of the database and of the attachment storage reveals no embargoed detail, and no
webhook signing secret.

The dump is the real thing: `pg_dump` of the test database on PostgreSQL, the database file
(and its write-ahead log) on SQLite. Transactional tests, so that the rows are committed.
"""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from disclosure.models import Finding
from disclosure.services.attachments import attachment_add
from disclosure.services.discussion import thread_open
from disclosure.services.embargo_extensions import extension_request
from disclosure.services.readiness import readiness_report
from disclosure.services.triage import finding_accept
from disclosure.services.webhooks import SECRET_PREFIX
from tests.disclosure.embargo_helpers import soon
from tests.factories import attachments as files

pytestmark = pytest.mark.django_db(transaction=True)

MARK = b"DUMPMARK"  # every embargoed text below carries it
# Embargoed values that are not free text: a date, choices.
VALUES = (b"2047-03-29", b"2046-02-17", b"fine_tuning_api", b"tool_access", b"not_planned")
PUBLIC = "DUMPVISIBLE public title"  # public by design: proves the dump holds the rows


def database_dump() -> bytes:
    """Everything the database holds, as an attacker with a copy of it would have it."""
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        environment = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
        command = ["pg_dump", "--no-owner", "--dbname", settings["NAME"]]
        for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
            if settings.get(key):
                command += [option, str(settings[key])]
        return subprocess.run(command, capture_output=True, check=True, env=environment).stdout
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(settings["NAME"])
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def leaks(data: bytes, needles: tuple[bytes, ...] = (MARK, *VALUES)) -> list[bytes]:
    """Each occurrence of a needle, with a little of what surrounds it (for the failure)."""
    found = []
    for needle in needles:
        at = data.find(needle)
        while at != -1:
            found.append(data[max(0, at - 60) : at + 60])
            at = data.find(needle, at + 1)
    return found


def _stored_files(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in files.stored_files(root))


def _embargoed_finding(world) -> Finding:
    finding = world.submitted(
        title=PUBLIC,
        details="DUMPMARK-details",
        recommended_actions="DUMPMARK-recommended-actions",
        model_version="DUMPMARK-model-version",
        deployment_surfaces=["fine_tuning_api"],
        planned_availability="2047-03-29",
        evaluations=[
            {
                "name": "DUMPMARK-evaluation-name",
                "method": "DUMPMARK-method",
                "checkpoint": "base",
                "modifications": ["tool_access"],
                "metric": "DUMPMARK-metric",
                "result": "DUMPMARK-result",
                "baseline": "DUMPMARK-baseline",
                "uplift": "DUMPMARK-uplift",
                "evaluated_on": "2046-02-17",
            }
        ],
        mitigations=[{"description": "DUMPMARK-mitigation", "status": "not_planned"}],
    )
    return finding_accept(
        actor=world.coordinator,
        finding=finding,
        organizations=[world.defender],
        embargo_ends_at=soon(7),
    )


def test_a_dump_and_the_storage_reveal_no_embargoed_detail(world, private_root):
    finding = _embargoed_finding(world)
    thread_open(
        actor=world.coordinator,
        finding=finding,
        scope="defenders",
        subject="DUMPMARK-thread-subject",
        body="DUMPMARK-comment with **Markdown**",
    )
    readiness_report(
        actor=world.defender_user,
        finding=finding,
        readiness="preparing",
        statement="DUMPMARK-readiness-statement",
    )
    attachment_add(
        actor=world.lab_user,
        finding=finding,
        upload=files.upload("evidence.txt", b"Transcript: DUMPMARK-attachment-content\n"),
    )

    dump = database_dump()
    assert PUBLIC.encode() in dump
    assert leaks(dump) == []
    stored = _stored_files(private_root)
    assert stored and leaks(stored) == []


def test_a_dump_reveals_no_webhook_signing_secret(webhook):
    endpoint, secrets = webhook  # the current one and the previous one, still signing
    dump = database_dump()
    assert endpoint.url.encode() in dump
    assert leaks(dump, tuple(s.removeprefix(SECRET_PREFIX).encode() for s in secrets)) == []


def test_audit_notes_reveal_no_reason_or_attachment_name(world, private_root):
    finding = _embargoed_finding(world)
    extension_request(
        actor=world.lab_user,
        finding=finding,
        ends_at=finding.embargo_ends_at + timedelta(days=3),
        reason="DUMPMARK-extension-reason",
    )
    attachment_add(
        actor=world.lab_user,
        finding=finding,
        upload=files.upload("DUMPMARK-name.txt", b"Transcript.\n"),
    )
    assert leaks(database_dump(), (MARK,)) == []
