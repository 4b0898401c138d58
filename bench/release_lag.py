"""Benchmark: release lag, from a public stage's scheduled time to its firing.

    .venv/bin/python bench/release_lag.py                  # 200 releases over 75 s
    .venv/bin/python bench/release_lag.py --releases 50 --over 30

200 embargoed findings, each notified to three defender organizations, have their public
release stages spread evenly over ``--over`` seconds, starting ``--lead`` seconds after they are
accepted. Two Celery workers (prefork, one process each) and celery beat run with the
production settings against PostgreSQL and a Redis of their own (bench/scheduling.py); each
release goes out by its precise trigger (a task with an ETA at the stage's time), the sweep
every RELEASE_SWEEP_SECONDS being the safety net. The lag of a release is ``fired_at -
scheduled_at``, both by the database's clock; ``fired_at`` is written last in the release's
transaction, after its state change, audit event and outbox rows. The "released" emails go to
a loopback SMTP server while the releases are firing. Prints p50, p95, p99 and max; asserts
nothing.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from datetime import timedelta

import scheduling as bench
from processes import kill_tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--releases", type=int, default=200)
    parser.add_argument("--over", type=float, default=75.0, help="seconds they are spread over")
    parser.add_argument("--lead", type=float, default=40.0, help="seconds before the first")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    bench.setup()
    processes = [bench.receivers()]
    processes += [bench.worker(n) for n in range(args.workers)]
    processes.append(bench.beat())
    try:
        time.sleep(5)  # the workers' start-up (imports, broker connection)
        from django.utils import timezone

        started = time.perf_counter()
        first_at = timezone.now() + timedelta(seconds=args.lead)
        ids = bench.releases_schedule(args.releases, first_at=first_at, over=args.over)
        accepted_s = time.perf_counter() - started
        left = (first_at - timezone.now()).total_seconds()
        print(
            f"\nRelease lag: {args.releases} public releases spread over {args.over:.0f} s "
            f"(3 notified organizations each), {args.workers} workers (prefork, 1 process "
            f"each) and beat, PostgreSQL, Redis; load average {os.getloadavg()[0]:.1f}"
        )
        print(f"  accepting them took {accepted_s:.1f} s; the first was due {left:.1f} s later")
        last_at = first_at + timedelta(seconds=args.over)
        deadline = time.monotonic() + (last_at - timezone.now()).total_seconds() + 120
        while bench.released(ids) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # let the last emails arrive
        result = bench.outcome(ids)
        mail = bench.stats()
        print(f"  released: {result.released} of {len(ids)}, twice: {result.released_twice}")
        print(f"  lag (fired_at - scheduled_at): {bench.lag_line(result.lags)}")
        print(f"  lag min {min(result.lags) * 1000:.0f} ms (never before its time: >= 0)")
        print(bench.outbox_line(result, mail))
        print(f"  load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        for process in processes:
            kill_tree(process, signal.SIGTERM)


if __name__ == "__main__":
    main()
