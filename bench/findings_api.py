"""Benchmark: the findings API with 100,000 findings in PostgreSQL, over a real HTTP server.

    .venv/bin/python bench/findings_api.py            # seeds once, then measures
    .venv/bin/python bench/findings_api.py --reseed   # drop the bench data and seed again
    .venv/bin/python bench/findings_api.py --explain  # also print EXPLAIN ANALYZE of the lists

DATABASE_URL picks the database (default postgres://postgres@127.0.0.1:5432/forewarn_bench; it
is created if missing and migrated). The seed bulk-inserts the findings, with categories, one
lab, a coordinator, a notified defender organization with recipients on a share of them, and
evaluations, mitigations, sectors and credits on some. Then gunicorn serves config.wsgi with
the production settings (DEBUG off; only HTTPS redirection and HSTS turned off, as there is no
TLS proxy on loopback) with 2 workers on 127.0.0.1, and requests, one at a time with a Bearer
token, measure each endpoint after a warm-up. It prints p50/p95 in milliseconds, the ratio to
a trivial DRF endpoint on the same server (GET /api/health/), and the number of SQL queries of
the list and the detail for 1 row and for 50 (counted in-process). A benchmark prints figures;
it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/forewarn_bench"
ENV = {
    "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_URL),
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "bench-only-not-secret",
    # Public, for the benchmark only: the audit chain is sealed with it.
    "AUDIT_HMAC_KEY": "bench-only-audit-hmac-key-not-secret-0000000",
    # Public, for the benchmark only: the embargoed columns are encrypted with it.
    "FOREWARN_ENCRYPTION_KEYS": "YmVuY2gtb25seS1ub3Qtc2VjcmV0LWVuY3J5cHRrZXk=",
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
    "DJANGO_DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "WARNING",
    "FOREWARN_VAR_DIR": os.environ.get("FOREWARN_VAR_DIR", "/tmp/forewarn-bench"),  # noqa: S108
    # The throttles still run (their cache reads are part of each request) but never refuse:
    # the benchmark sends hundreds of requests a minute with one token.
    "THROTTLE_RATE_ANON": "1000000/min",
    "THROTTLE_RATE_USER": "1000000/min",
    "THROTTLE_RATE_TOKEN": "1000000/min",
}
os.environ.update(ENV)

FINDINGS = 100_000
BATCH = 5_000
SEARCH_WORD = "ransomware"  # in the titles of one finding in 500


def _create_database() -> None:
    import psycopg

    url = urlsplit(ENV["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django() -> None:
    import django

    _create_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- Seed.


class World:
    """The bench's organizations, users and a few findings picked out for the detail."""

    def __init__(self) -> None:
        from accounts.models import Membership, Organization, User

        kind = Organization.Kind

        def org(slug: str, name: str, org_kind: str) -> Organization:
            return Organization.objects.get_or_create(
                slug=slug, defaults={"name": name, "kind": org_kind}
            )[0]

        def member(email: str, organization: Organization) -> User:
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email=email, password=None
            )
            Membership.objects.get_or_create(user=user, organization=organization)
            return user

        self.lab = org("bench-lab", "Bench Lab", kind.DEVELOPER)
        self.solo_lab = org("bench-solo-lab", "Bench Solo Lab", kind.DEVELOPER)
        self.center = org("bench-cc", "Bench Coordination", kind.COORDINATOR)
        self.defender = org("bench-cert", "Bench CERT", kind.DEFENDER)
        self.others = [org(f"bench-isac-{i}", f"Bench ISAC {i}", kind.DEFENDER) for i in range(49)]
        self.lab_user = member("lab@bench.example", self.lab)
        self.coordinator = member("coordinator@bench.example", self.center)
        self.defender_user = member("analyst@bench.example", self.defender)
        self.crediteds = [member(f"credit{i}@bench.example", self.lab) for i in range(5)]


def _seeded() -> bool:
    from disclosure.models import Finding

    return Finding.objects.filter(reference__startswith="BN-").count() >= FINDINGS


def _drop_seed() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE disclosure_finding, disclosure_findingrecipient, disclosure_auditevent "
            "RESTART IDENTITY CASCADE"
        )


def _seed(world: World) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from disclosure.encryption import encrypt_text
    from disclosure.models import CapabilityCategory, Finding, FindingRecipient

    rng = random.Random(2026)
    categories = list(CapabilityCategory.objects.all())
    now = timezone.now()
    state = Finding.State
    started = time.perf_counter()
    print(f"Seeding {FINDINGS:,} findings ...", flush=True)
    for start in range(0, FINDINGS, BATCH):
        findings = []
        for n in range(start, min(start + BATCH, FINDINGS)):
            roll = rng.random()
            fields: dict[str, object] = {}
            if roll < 0.10:
                fields["state"] = state.DRAFT
            elif roll < 0.25:
                fields["state"] = rng.choice([state.SUBMITTED, state.IN_TRIAGE, state.NEEDS_INFO])
            elif roll < 0.55:
                fields.update(state=state.EMBARGOED, embargo_ends_at=now + timedelta(days=30))
            elif roll < 0.90:
                fields.update(
                    state=state.RELEASED, embargo_ends_at=now - timedelta(days=1), released_at=now
                )
            else:
                fields["state"] = state.REJECTED
            if fields["state"] != state.DRAFT:
                fields["submitted_at"] = now
            topic = SEARCH_WORD if n % 500 == 0 else rng.choice(["uplift", "capability", "agent"])
            findings.append(
                Finding(
                    reference=f"BN-{n:06d}",
                    developer=world.lab,
                    created_by=world.lab_user,
                    model_name=f"Bench-{n % 7}",
                    model_version="ckpt",
                    title=f"Measured {topic} in evaluation {n}",
                    summary="A public one-line summary of the finding.",
                    details="Embargoed evaluation evidence.",
                    category=rng.choice(categories),
                    risk_level=rng.choice(["low", "medium", "high", "critical"]),
                    **fields,
                )
            )
        with transaction.atomic():
            Finding.objects.bulk_create(findings)
        print(f"  {min(start + BATCH, FINDINGS):,}", end="\r", flush=True)

    # The raw inserts below write the encrypted columns themselves: an empty readiness
    # statement, encrypted as the field would (the ORM encrypts everything else).
    no_statement = encrypt_text("")
    with connection.cursor() as cursor:
        # Spread creation over the past ~70 days, one finding a minute, newest last.
        cursor.execute(
            "UPDATE disclosure_finding SET created_at = now() - ((%s - id) * interval '1 minute')",
            [FINDINGS + 1000],
        )
        # The bench defender was notified of one embargoed or released finding in ten; other
        # defenders of others, so the recipients table is not the bench defender's alone.
        cursor.execute(
            "INSERT INTO disclosure_findingrecipient (finding_id, organization_id, added_by_id, "
            "added_at, readiness, readiness_statement, reminders_sent) "
            "SELECT id, %s, %s, now(), 'not_assessed', %s, 0 FROM disclosure_finding "
            "WHERE state IN ('embargoed', 'released') AND id %% 10 = 0",
            [world.defender.pk, world.coordinator.pk, no_statement],
        )
        for i, other in enumerate(world.others[:5]):
            cursor.execute(
                "INSERT INTO disclosure_findingrecipient (finding_id, organization_id, "
                "added_by_id, added_at, readiness, readiness_statement, reminders_sent) "
                "SELECT id, %s, %s, now(), 'not_assessed', %s, 0 FROM disclosure_finding "
                "WHERE state IN ('embargoed', 'released') AND id %% 10 = %s",
                [other.pk, world.coordinator.pk, no_statement, i + 1],
            )
        cursor.execute("ANALYZE")
    _seed_content(world, FindingRecipient)
    print(f"Seeded in {time.perf_counter() - started:.0f} s.{' ' * 20}")


def _content(finding, n: int, world: World) -> None:
    """Evaluations, mitigations, sectors, credits and recipients, n of each."""
    from datetime import date

    from disclosure.models import Credit, Evaluation, FindingRecipient, Mitigation, Sector

    Evaluation.objects.bulk_create(
        Evaluation(
            finding=finding,
            position=i,
            name=f"Eval {i}",
            method="Red-team protocol",
            checkpoint="deployed",
            modifications=["jailbreaks"],
            metric="success rate",
            result="31%",
            baseline="4%",
            uplift="27 points",
            evaluated_on=date(2026, 10, 1),
        )
        for i in range(n)
    )
    Mitigation.objects.bulk_create(
        Mitigation(finding=finding, position=i, description=f"Mitigation {i}", status="planned")
        for i in range(n)
    )
    finding.affected_sectors.set(Sector.objects.order_by("position")[:n])
    types = [value for value, _ in Credit.Type.choices]
    Credit.objects.bulk_create(
        Credit(
            finding=finding,
            user=world.crediteds[i % len(world.crediteds)],
            type=types[i // len(world.crediteds)],
            created_by=world.lab_user,
        )
        for i in range(n)
    )
    organizations = [world.defender, *world.others][:n]
    FindingRecipient.objects.filter(finding=finding).delete()
    FindingRecipient.objects.bulk_create(
        FindingRecipient(finding=finding, organization=org, added_by=world.coordinator)
        for org in organizations
    )


def _seed_content(world: World, recipient_model) -> None:
    from disclosure.models import Finding

    rng = random.Random(7)
    sample = rng.sample(range(FINDINGS), min(2000, FINDINGS))
    for n in sample[:1000]:
        finding = Finding.objects.get(reference=f"BN-{n:06d}")
        _content(finding, rng.randint(1, 4), world)


def _detail_findings(world: World) -> dict[str, str]:
    """Embargoed findings with 1 and with 50 of everything, and a lone finding of another lab."""
    from django.utils import timezone

    from disclosure.models import Finding

    picked = {}
    for rows in (1, 50):
        reference = f"BN-DETAIL-{rows}"
        finding = Finding.objects.filter(reference=reference).first()
        if finding is None:
            finding = Finding.objects.create(
                reference=reference,
                developer=world.lab,
                created_by=world.lab_user,
                model_name="Bench-detail",
                title=f"Detail with {rows} of everything",
                summary="Public summary.",
                details="Embargoed details.",
                category_id=Finding.objects.values_list("category_id", flat=True).first(),
                risk_level="high",
                state=Finding.State.EMBARGOED,
                embargo_ends_at=timezone.now() + timedelta(days=30),
                submitted_at=timezone.now(),
            )
            _content(finding, rows, world)
        picked[f"detail_{rows}"] = reference
    if not Finding.objects.filter(developer=world.solo_lab).exists():
        Finding.objects.create(
            reference="BN-SOLO",
            developer=world.solo_lab,
            created_by=world.lab_user,
            model_name="Solo",
            title="The solo lab's only finding",
            summary="Public summary.",
            details="Embargoed.",
            category_id=Finding.objects.values_list("category_id", flat=True).first(),
            risk_level="low",
            state=Finding.State.SUBMITTED,
            submitted_at=timezone.now(),
        )
    return picked


# --- Measure.


def _tokens(world: World) -> dict[str, str]:
    from accounts.tokens import api_token_create

    return {
        role: api_token_create(user=user, name="bench")[1]
        for role, user in (
            ("coordinator", world.coordinator),
            ("defender", world.defender_user),
            ("lab", world.lab_user),
        )
    }


def _query_counts(tokens: dict[str, str], details: dict[str, str]) -> list[tuple[str, int, int]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['coordinator']}"}

    def count(path: str) -> int:
        client.get(path, **auth)  # the token's first use of the minute writes last_used_at
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, **auth)
        assert response.status_code == 200, (path, response.status_code)
        return len(queries)

    return [
        (
            "list (coordinator, ?lab=...)",
            count("/api/findings/?lab=bench-solo-lab"),
            count("/api/findings/?lab=bench-lab"),
        ),
        (
            "detail (coordinator)",
            count(f"/api/findings/{details['detail_1']}/"),
            count(f"/api/findings/{details['detail_50']}/"),
        ),
    ]


def _explain(tokens: dict[str, str]) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    for role in ("coordinator", "defender"):
        for path in ("/api/findings/", f"/api/findings/?q={SEARCH_WORD}"):
            with CaptureQueriesContext(connection) as queries:
                client.get(path, HTTP_AUTHORIZATION=f"Bearer {tokens[role]}")
            sql = next(q["sql"] for q in queries if 'FROM "disclosure_finding"' in q["sql"])
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
            print(f"\n--- EXPLAIN ANALYZE {path} as {role}\n{plan}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(port: int) -> subprocess.Popen[bytes]:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [
            gunicorn,
            "config.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **ENV},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/health/", timeout=5).ok:
                return server
        except requests.RequestException:
            time.sleep(0.5)
    _stop(server)
    raise SystemExit("gunicorn did not start")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


def _measure(call: Callable[[], int], requests_count: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(requests_count):
        started = time.perf_counter()
        status = call()
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"HTTP {status}")
    return timings


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    global FINDINGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reseed", action="store_true", help="drop the bench data and reseed")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE plans")
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument(
        "--findings", type=int, default=FINDINGS, help=f"findings to seed (default {FINDINGS:,})"
    )
    args = parser.parse_args()
    FINDINGS = args.findings

    _setup_django()
    if args.reseed:
        _drop_seed()
    world = World()
    if not _seeded():
        _seed(world)
    details = _detail_findings(world)
    tokens = _tokens(world)

    from disclosure.models import Finding, FindingRecipient

    print(
        f"Database: {Finding.objects.count():,} findings, "
        f"{FindingRecipient.objects.filter(organization=world.defender).count():,} "
        f"notified to the bench defender"
    )
    counts = _query_counts(tokens, details)
    if args.explain:
        _explain(tokens)

    defender_detail = (
        Finding.objects.filter(recipients__organization=world.defender, state="embargoed")
        .order_by("-created_at")
        .values_list("reference", flat=True)
        .first()
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()

    def get(path: str, role: str | None = None) -> Callable[[], int]:
        url = path if path.startswith("http") else base + path
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
        return lambda: session.get(url, headers=headers, timeout=10).status_code

    server = _serve(port)
    try:
        first_page = session.get(
            base + "/api/findings/",
            headers={"Authorization": f"Bearer {tokens['coordinator']}"},
            timeout=10,
        ).json()
        endpoints = [
            ("GET /api/health/ (trivial DRF endpoint)", get("/api/health/")),
            ("list, page of 50 (coordinator)", get("/api/findings/", "coordinator")),
            ("list, page of 50 (defender)", get("/api/findings/", "defender")),
            ("list, page of 50 (lab)", get("/api/findings/", "lab")),
            ("list, 2nd page by cursor (coordinator)", get(first_page["next"], "coordinator")),
            (
                "detail, 50 of everything (coordinator)",
                get(f"/api/findings/{details['detail_50']}/", "coordinator"),
            ),
            ("detail, embargoed (defender)", get(f"/api/findings/{defender_detail}/", "defender")),
            (
                f"search ?q={SEARCH_WORD} (coordinator)",
                get(f"/api/findings/?q={SEARCH_WORD}", "coordinator"),
            ),
            (
                f"search ?q={SEARCH_WORD} (defender)",
                get(f"/api/findings/?q={SEARCH_WORD}", "defender"),
            ),
            (
                "filters ?state=embargoed&risk_level=critical (coordinator)",
                get("/api/findings/?state=embargoed&risk_level=critical", "coordinator"),
            ),
        ]
        results = [(name, _measure(call, args.requests, args.warmup)) for name, call in endpoints]
    finally:
        _stop(server)

    base_p50, base_p95 = _p(results[0][1], 50), _p(results[0][1], 95)
    print(
        f"\n{args.requests} sequential requests per endpoint after {args.warmup} warm-up, "
        "gunicorn 2 sync workers, DEBUG off; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end\n"
    )
    print(f"{'endpoint':<60} {'p50 ms':>8} {'p95 ms':>8} {'x p50':>7} {'x p95':>7}")
    for name, timings in results:
        p50, p95 = _p(timings, 50), _p(timings, 95)
        print(f"{name:<60} {p50:>8.1f} {p95:>8.1f} {p50 / base_p50:>7.1f} {p95 / base_p95:>7.1f}")
    print(f"\n{'SQL queries per request':<60} {'1 row':>8} {'50 rows':>8}")
    for name, one, fifty in counts:
        print(f"{name:<60} {one:>8} {fifty:>8}")


if __name__ == "__main__":
    main()
