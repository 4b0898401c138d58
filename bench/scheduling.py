"""What the scheduling benchmarks (release_lag.py, chaos.py) share: their own Redis, worker and
scheduler processes, a PostgreSQL database, embargoed findings whose public release is due at
chosen times, and the lag of each release.

Everything runs with the production settings (bench/settings.py) on loopback: PostgreSQL
(DATABASE_URL, default postgres://postgres@127.0.0.1:5432/forewarn_releases, created and
migrated if missing), a Redis server of its own on port 6391 (restarting it disturbs nobody
else), an SMTP server and a webhook receiver (bench/receivers.py), Celery workers (prefork, one
process each) and celery beat. Import this module first: it sets the environment.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from processes import Stack, bench_env, free_port  # noqa: E402

REDIS_PORT = 6391
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/forewarn_releases"
VAR_DIR = Path(os.environ.get("FOREWARN_VAR_DIR", "/tmp/forewarn-releases"))  # noqa: S108
DEFENDERS = 20  # the pool each finding's few notified organizations come from


SMTP_PORT = free_port()
HTTP_PORT = free_port()
ENV = bench_env(
    database_url=DEFAULT_URL, redis_port=REDIS_PORT, var_dir=VAR_DIR, smtp_port=SMTP_PORT
)
os.environ.update(ENV)
STACK = Stack(REDIS_PORT, VAR_DIR, ENV, SMTP_PORT, HTTP_PORT, "releases")
redis, redis_start, redis_stop = STACK.redis, STACK.redis_start, STACK.redis_stop
worker, beat, receivers, stats = STACK.worker, STACK.beat, STACK.receivers, STACK.stats


# --- Database and findings.


def setup() -> None:
    """Redis (emptied), the database (created, migrated) and the people, before any process."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    redis_start()
    redis("flushall")
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
    _people()


def _people() -> tuple[Any, Any, list[Any]]:
    """The lab, the coordinator and DEFENDERS verified defender organizations with a contact."""
    from accounts.models import Membership, Organization, User

    def member(email: str, slug: str, kind: str, contact: str = "") -> User:
        org = Organization.objects.get_or_create(
            slug=slug,
            defaults={"name": slug, "kind": kind, "status": Organization.Status.VERIFIED},
        )[0]
        user = User.objects.filter(email=email).first() or User.objects.create_user(email)
        Membership.objects.get_or_create(
            user=user, organization=org, defaults={"contact_role": contact}
        )
        return user

    kind = Organization.Kind
    lab = member("lab@releases.example", "releases-lab", kind.DEVELOPER)
    coordinator = member("coordinator@releases.example", "releases-cc", kind.COORDINATOR)
    for i in range(DEFENDERS):
        email, slug = f"contact{i:02d}@releases.example", f"releases-def-{i:02d}"
        member(email, slug, kind.DEFENDER, "primary")
    defenders = list(Organization.objects.filter(slug__startswith="releases-def-").order_by("slug"))
    return lab, coordinator, defenders


def releases_schedule(count: int, *, first_at: datetime, over: float, per: int = 3) -> list[int]:
    """``count`` findings accepted now, each for ``per`` defender organizations, their public
    releases spread evenly from ``first_at`` over ``over`` seconds. Returns their ids."""
    from disclosure.models import CapabilityCategory, Finding
    from disclosure.services.intake import finding_create, finding_submit
    from disclosure.services.triage import finding_accept

    lab, coordinator, defenders = _people()
    category = CapabilityCategory.objects.order_by("id").first()
    submitted = [
        finding_submit(
            actor=lab,
            finding=finding_create(
                actor=lab,
                developer=lab.organizations.get(),
                model_name="Scheduled model",
                title=f"Scheduled release {i}",
                summary="A public one-line summary.",
                details="Embargoed details that must never leave in a notification.",
                category=category,
                risk_level=Finding.RiskLevel.HIGH,
            ),
        )
        for i in range(count)
    ]
    ids = []
    for i, finding in enumerate(submitted):
        ends_at = first_at + timedelta(seconds=over * i / max(count - 1, 1))
        audience = [defenders[(i * per + k) % len(defenders)] for k in range(per)]
        finding_accept(
            actor=coordinator, finding=finding, organizations=audience, embargo_ends_at=ends_at
        )
        ids.append(finding.pk)
    return ids


def released(ids: list[int]) -> int:
    from disclosure.models import Finding

    return Finding.objects.filter(pk__in=ids, state=Finding.State.RELEASED).count()


@dataclass
class Outcome:
    released: int
    released_twice: int  # findings with more than one release event or set of release rows
    lags: list[float]  # seconds from each public stage's time to its firing
    outbox_rows: dict[str, int]  # "released" rows by channel
    last_fired_at: datetime | None


def outcome(ids: list[int]) -> Outcome:
    from django.db.models import Count

    from disclosure.models import AuditEvent, Delivery, ReleaseStage

    events = dict(
        AuditEvent.objects.filter(finding_id__in=ids, action="finding.released")
        .values_list("finding_id")
        .annotate(n=Count("id"))
    )
    causes = dict(
        Delivery.objects.filter(finding_id__in=ids, event=Delivery.Event.RELEASED)
        .values_list("finding_id")
        .annotate(n=Count("cause_id", distinct=True))
    )
    stages = list(
        ReleaseStage.objects.filter(
            finding_id__in=ids, audience=ReleaseStage.Audience.PUBLIC, fired_at__isnull=False
        ).values_list("scheduled_at", "fired_at")
    )
    return Outcome(
        released=released(ids),
        released_twice=sum(1 for pk in ids if events.get(pk, 0) > 1 or causes.get(pk, 0) > 1),
        lags=sorted((fired - scheduled).total_seconds() for scheduled, fired in stages),
        outbox_rows=dict(
            Delivery.objects.filter(finding_id__in=ids, event=Delivery.Event.RELEASED)
            .values_list("channel")
            .annotate(n=Count("id"))
        ),
        last_fired_at=max((fired for _, fired in stages), default=None),
    )


def outbox_line(result: Outcome, mail: dict[str, Any]) -> str:
    rows = ", ".join(f"{n:,} {channel}" for channel, n in sorted(result.outbox_rows.items()))
    return (
        f"  'released' outbox rows: {rows}; the SMTP server got {mail['mail_unique']:,} distinct "
        f"messages (every notice of the run), {mail['mail_duplicated']} of them twice"
    )


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(rank) - 1]


def lag_line(lags: list[float]) -> str:
    return "  ".join(
        f"{name} {percentile(lags, p) * 1000:7.0f} ms"
        for name, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    )
