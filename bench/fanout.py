"""Benchmark: fan-out of one finding to 10,000 defender contacts by email and by webhook.

    .venv/bin/python bench/fanout.py              # seeds once, then one fan-out
    .venv/bin/python bench/fanout.py --fault      # kill -9 a worker mid-way and restart Redis
    .venv/bin/python bench/fanout.py --contacts 2000 --workers 2

What it sets up, all real and on loopback: PostgreSQL (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/forewarn_fanout, created and migrated if missing), a Redis
server of its own on port 6390 (so that restarting it disturbs nobody else), an SMTP server and
a Standard Webhooks HTTP receiver in a separate process (bench/receivers.py), Celery workers
(prefork, one process each) and celery beat, all with the production settings. The seed is
10,000 verified defender organizations, each with one contact (a primary contact, so one email)
and one webhook endpoint.

A coordinator then accepts a finding with all 10,000 organizations as its audience. The
benchmark times the outbox write (the rows for every channel, written in the accept
transaction) and the time until every email and webhook has reached its receiver, and prints
deliveries per second and the workers' peak memory (VmHWM of each worker's processes). The
receivers count by Message-ID and by webhook-id, so duplicates show.

With --fault, once a third of the deliveries have arrived it SIGKILLs one worker (its whole
process group), restarts Redis (losing every queued message: it keeps nothing on disk) and
starts a replacement worker; then it waits until everything has arrived and prints the counts.
A benchmark prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from processes import Stack, bench_env, free_port, kill_tree, peak_memory_mb  # noqa: E402

REDIS_PORT = 6390
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/forewarn_fanout"
VAR_DIR = Path(os.environ.get("FOREWARN_VAR_DIR", "/tmp/forewarn-fanout"))  # noqa: S108


SMTP_PORT = free_port()
HTTP_PORT = free_port()
ENV = bench_env(
    database_url=DEFAULT_URL, redis_port=REDIS_PORT, var_dir=VAR_DIR, smtp_port=SMTP_PORT
)
os.environ.update(ENV)
STACK = Stack(REDIS_PORT, VAR_DIR, ENV, SMTP_PORT, HTTP_PORT, "fanout")


# --- Database and seed.


def _setup_django() -> None:
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
    call_command("openpgp_site_key", verbosity=0, stdout=io.StringIO())


def _seed(contacts: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Membership, Organization, User
    from disclosure.models import WebhookEndpoint
    from disclosure.services.webhooks import secret_generate

    existing = Organization.objects.filter(slug__startswith="fanout-def-").count()
    if existing >= contacts:
        return
    print(f"Seeding {contacts:,} defender organizations with a contact and an endpoint ...")
    started = time.perf_counter()
    _lab, coordinator = _people()
    now = timezone.now()
    with transaction.atomic():
        orgs = Organization.objects.bulk_create(
            Organization(
                name=f"Fan-out defender {i:05d}",
                slug=f"fanout-def-{i:05d}",
                kind=Organization.Kind.DEFENDER,
                status=Organization.Status.VERIFIED,
                verified_at=now,
            )
            for i in range(existing, contacts)
        )
        users = User.objects.bulk_create(
            User(email=f"contact{i:05d}@fanout.example", email_verified_at=now)
            for i in range(existing, contacts)
        )
        Membership.objects.bulk_create(
            Membership(
                user=user,
                organization=org,
                role=Membership.Role.ADMIN,
                contact_role=Membership.ContactRole.PRIMARY,
            )
            for user, org in zip(users, orgs, strict=True)
        )
        WebhookEndpoint.objects.bulk_create(
            WebhookEndpoint(
                organization=org,
                url="http://127.0.0.1/hook",
                secret=secret_generate(),
                created_by=coordinator,
            )
            for org in orgs
        )
    print(f"Seeded in {time.perf_counter() - started:.1f} s.")


def _people():  # type: ignore[no-untyped-def]
    from accounts.models import Membership, Organization, User

    def member(email: str, slug: str, kind: str) -> User:
        org = Organization.objects.get_or_create(
            slug=slug,
            defaults={"name": slug, "kind": kind, "status": Organization.Status.VERIFIED},
        )[0]
        user = User.objects.filter(email=email).first() or User.objects.create_user(email)
        Membership.objects.get_or_create(user=user, organization=org)
        return user

    kind = Organization.Kind
    return (
        member("lab@fanout.example", "fanout-lab", kind.DEVELOPER),
        member("coordinator@fanout.example", "fanout-cc", kind.COORDINATOR),
    )


# --- The run.


def _finding():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from disclosure.models import CapabilityCategory, Finding
    from disclosure.services.intake import finding_create, finding_submit

    lab, _ = _people()
    finding = finding_create(
        actor=lab,
        developer=lab.organizations.get(),
        model_name="Fan-out model",
        title=f"Fan-out run {timezone.now():%H:%M:%S}",
        summary="A public one-line summary.",
        details="Embargoed details that must never leave in a notification.",
        category=CapabilityCategory.objects.order_by("id").first(),
        risk_level=Finding.RiskLevel.HIGH,
    )
    return finding_submit(actor=lab, finding=finding)


def _accept(finding, contacts: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """Accept with every bench organization as audience; returns (accept s, outbox s, cause)."""
    from django.utils import timezone

    from accounts.models import Organization
    from disclosure.services import embargo, triage

    _, coordinator = _people()
    organizations = list(
        Organization.objects.filter(slug__startswith="fanout-def-").order_by("slug")[:contacts]
    )
    timed = {"outbox": 0.0, "cause": 0}
    enqueue = embargo.deliveries_enqueue

    def timed_enqueue(**kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = enqueue(**kwargs)
        timed["outbox"] = time.perf_counter() - started
        timed["cause"] = kwargs["cause"].pk
        return result

    embargo.deliveries_enqueue = timed_enqueue  # type: ignore[assignment]
    started = time.perf_counter()
    triage.finding_accept(
        actor=coordinator,
        finding=finding,
        organizations=organizations,
        embargo_ends_at=timezone.now() + timedelta(days=30),
    )
    return time.perf_counter() - started, float(timed["outbox"]), int(timed["cause"])


def _counts(cause: int) -> dict[tuple[str, str], int]:
    from django.db.models import Count

    from disclosure.models import Delivery

    rows = (
        Delivery.objects.filter(cause_id=cause)
        .values_list("channel", "state")
        .annotate(n=Count("id"))
    )
    return {(channel, state): n for channel, state, n in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fault", action="store_true", help="kill a worker, restart Redis")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    STACK.redis_start()
    STACK.redis("flushall")
    _setup_django()
    _seed(args.contacts)
    from disclosure.models import WebhookEndpoint

    WebhookEndpoint.objects.filter(organization__slug__startswith="fanout-def-").update(
        url=f"http://127.0.0.1:{HTTP_PORT}/hook", disabled_at=None
    )

    receivers = STACK.receivers()
    workers = [STACK.worker(n) for n in range(args.workers)]
    beat = STACK.beat()
    processes = [receivers, *workers, beat]
    try:
        time.sleep(3)  # the workers' start-up (imports, broker connection)
        finding = _finding()
        accept_s, outbox_s, cause = _accept(finding, args.contacts)
        committed = time.time()
        expected = args.contacts  # one email and one webhook per contact
        faulted = False
        print(
            f"\nFan-out of {finding.reference} to {args.contacts:,} contacts by email and "
            f"webhook: {args.workers} workers (prefork, 1 process each), PostgreSQL, Redis"
        )
        print(f"  accept transaction (incl. the outbox write): {accept_s:6.2f} s")
        print(f"  outbox write (deliveries_enqueue):           {outbox_s:6.2f} s")
        counts = _counts(cause)
        print(
            "  outbox rows: "
            + ", ".join(
                f"{channel} {sum(n for (c, _), n in counts.items() if c == channel):,}"
                for channel in ("email", "webhook", "inbox")
            )
        )
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            stats = STACK.stats()
            arrived = stats["mail_unique"] + stats["webhook_unique"]
            if args.fault and not faulted and arrived >= (2 * expected) // 3:
                print(f"  FAULT at {arrived:,} of {2 * expected:,} arrived: kill -9 worker 0,")
                kill_tree(workers[0])
                print("  restart Redis (its queued messages are lost), start a new worker")
                STACK.redis_restart()
                workers[0] = STACK.worker(args.workers)
                processes.append(workers[0])
                faulted = True
            if stats["mail_unique"] >= expected and stats["webhook_unique"] >= expected:
                break
            time.sleep(0.2)
        stats = STACK.stats()
        elapsed = (stats["last_at"] or committed) - committed
        delivered = stats["mail_unique"] + stats["webhook_unique"]
        counts = _counts(cause)
        print(f"  every delivery arrived {elapsed:6.2f} s after the commit")
        print(f"  deliveries per second: {delivered / max(elapsed, 1e-9):8.0f}")
        print(
            f"  SMTP server:   {stats['mail_total']:,} messages, {stats['mail_unique']:,} "
            f"distinct Message-IDs, {stats['mail_duplicated']:,} received twice or more"
        )
        print(
            f"  HTTP receiver: {stats['webhook_total']:,} requests, "
            f"{stats['webhook_unique']:,} distinct webhook-ids, "
            f"{stats['webhook_duplicated']:,} received twice or more, "
            f"{stats['webhook_unsigned']:,} unsigned"
        )
        print(
            "  outbox states: "
            + ", ".join(f"{c}/{s} {n:,}" for (c, s), n in sorted(counts.items()))
        )
        for n, worker in enumerate(workers):
            print(f"  worker {n} peak memory (VmHWM): {peak_memory_mb(worker):6.0f} MB")
    finally:
        for process in processes:
            kill_tree(process, signal.SIGTERM)


if __name__ == "__main__":
    main()
