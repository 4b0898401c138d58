"""Benchmark: sealing and verifying the audit chain in PostgreSQL.

    .venv/bin/python bench/audit_chain.py                 # 200,000 entries
    .venv/bin/python bench/audit_chain.py --rows 1000000

DATABASE_URL picks the database (default postgres://postgres@127.0.0.1:5432/forewarn_bench_audit;
it is created if missing and migrated, and its audit trail is emptied first). It inserts the
entries tagged and unsealed, as a backlog the sweep would find, then measures: sealing them all
(audit_chain_seal), verifying the whole chain (chain_verify, as manage.py audit_verify does) with
the process's peak memory, and the cost that sealing after each commit adds to one audited
write. A benchmark prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/forewarn_bench_audit"
ENV = {
    "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_URL),
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "bench-only-not-secret",
    "AUDIT_HMAC_KEY": "bench-only-audit-hmac-key-not-secret-0000000",
    "FOREWARN_ENCRYPTION_KEYS": "YmVuY2gtb25seS1ub3Qtc2VjcmV0LWVuY3J5cHRrZXk=",
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
    "LOG_LEVEL": "WARNING",
    "FOREWARN_VAR_DIR": os.environ.get("FOREWARN_VAR_DIR", "/tmp/forewarn-bench"),  # noqa: S108
}
os.environ.update(ENV)
BATCH = 5_000
WRITES = 300


def _setup() -> None:
    import django
    import psycopg

    url = urlsplit(ENV["DATABASE_URL"])
    name = url.path.lstrip("/")
    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _seed(rows: int) -> float:
    """``rows`` tagged, unsealed entries, as audit_record writes them; returns the seconds."""
    from django.db import connection, transaction
    from django.utils import timezone

    from disclosure.audit_hash import audit_key, entry_of, tag_compute
    from disclosure.models import AuditEvent

    with connection.cursor() as cursor:  # TRUNCATE: the append-only trigger fires on DELETE
        cursor.execute("TRUNCATE disclosure_auditevent CASCADE")
    key = audit_key()
    started = time.perf_counter()
    for start in range(0, rows, BATCH):
        events = []
        for n in range(start, min(start + BATCH, rows)):
            event = AuditEvent(
                action="finding.read" if n % 3 else "auth.login",
                note="" if n % 7 else f"A note of entry {n}, as a reason would be.",
                data={"via": "api", "n": n, "ip": "192.0.2.1", "ratio": n / 7},
                created_at=timezone.now(),
            )
            event.entry_hash = tag_compute(entry_of(event), key)
            events.append(event)
        with transaction.atomic():
            AuditEvent.objects.bulk_create(events)
        print(f"  {min(start + BATCH, rows):,}", end="\r", flush=True)
    return time.perf_counter() - started


def _write_latency(seal: bool) -> list[float]:
    """Milliseconds of one audited write in its own transaction (and its seal after commit)."""
    from unittest import mock

    from django.db import transaction

    from disclosure.services.audit import audit_record

    timings = []
    patch = mock.patch("disclosure.services.audit.audit_chain_seal_on_commit")
    if not seal:
        patch.start()
    try:
        for n in range(WRITES):
            started = time.perf_counter()
            with transaction.atomic():
                audit_record(actor=None, action="bench.write", data={"n": n})
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        if not seal:
            patch.stop()
    return timings


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    _setup()
    from disclosure.audit_verify import chain_verify
    from disclosure.services.audit_chain import audit_chain_seal

    print(f"Inserting {args.rows:,} tagged, unsealed audit entries ...", flush=True)
    seeded = _seed(args.rows)
    print(f"Tagged and inserted: {args.rows / seeded:,.0f} entries/s ({seeded:.1f} s)")

    started = time.perf_counter()
    sealed = audit_chain_seal()
    took = time.perf_counter() - started
    print(f"Sealed a backlog of {sealed:,}: {sealed / took:,.0f} entries/s ({took:.1f} s)")

    started = time.perf_counter()
    result = chain_verify()
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"Verified {result.entries:,} entries ({'intact' if result.ok else 'NOT intact'}): "
        f"{result.entries / took:,.0f} entries/s ({took:.1f} s); peak memory {peak:,.0f} MB"
    )

    plain = _write_latency(seal=False)
    sealing = _write_latency(seal=True)
    print(
        f"One audited write, {WRITES} times: p50 {_p(plain, 50):.2f} ms, p95 {_p(plain, 95):.2f}"
        f" ms without sealing; p50 {_p(sealing, 50):.2f} ms, p95 {_p(sealing, 95):.2f} ms with "
        "the seal after its commit"
    )


if __name__ == "__main__":
    main()
