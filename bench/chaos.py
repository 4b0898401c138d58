"""Benchmark: releases under chaos. Workers and the scheduler are killed, Redis is restarted.

    .venv/bin/python bench/chaos.py                        # 100 releases over two minutes
    .venv/bin/python bench/chaos.py --seed 7 --releases 50 --over 60

100 embargoed findings, each notified to three defender organizations, have their public
releases spread evenly over ``--over`` seconds. Two Celery workers and celery beat run with the
production settings against PostgreSQL and a Redis of their own (bench/scheduling.py). While
the releases fall due, this script SIGKILLs a worker or the scheduler (its whole process group)
every few seconds at random and restarts it a few seconds later; once, everything (both workers
and beat) is killed and stays down for ``--blackout`` seconds, so that releases fall due with
nobody to fire them; and once Redis is restarted, losing every message it held (it keeps nothing
on disk): the precise triggers sent with an ETA and the queued tasks. Then the chaos stops and
the script waits until every release is out. It prints how many were released (all should be),
how many twice (none should be: release audit events and sets of "released" outbox rows per
finding) and the lag of each release (``fired_at - scheduled_at``). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta

import scheduling as bench
from processes import kill_tree


class Crew:
    """The worker and scheduler processes, by name, each restartable, and supervised as a
    deployment's supervisor does (Compose's ``restart: unless-stopped``): one that exits by
    itself is started again."""

    def __init__(self, workers: int) -> None:
        self.starters: dict[str, Callable[[], subprocess.Popen[bytes]]] = {
            **{f"worker {n}": (lambda n=n: bench.worker(n)) for n in range(workers)},
            "beat": bench.beat,
        }
        self.processes = {name: start() for name, start in self.starters.items()}
        self.down: set[str] = set()  # killed by the chaos, kept down on purpose
        self.restarts: list[str] = []

    def kill(self, name: str) -> None:
        self.down.add(name)
        kill_tree(self.processes[name])

    def start(self, name: str) -> None:
        self.processes[name] = self.starters[name]()
        self.down.discard(name)

    def supervise(self) -> None:
        for name, process in list(self.processes.items()):
            if name not in self.down and process.poll() is not None:
                self.restarts.append(f"{name} (exit {process.returncode})")
                self.start(name)

    def pause(self, seconds: float) -> None:
        """Sleep, restarting whatever exits by itself meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.supervise()
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0)))

    def stop_all(self) -> None:
        for process in self.processes.values():
            kill_tree(process, signal.SIGTERM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--releases", type=int, default=100)
    parser.add_argument("--over", type=float, default=120.0, help="seconds they are spread over")
    parser.add_argument("--lead", type=float, default=30.0, help="seconds before the first")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--blackout", type=float, default=12.0, help="seconds all are down")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10_000)
    rng = random.Random(seed)

    bench.setup()
    receivers = bench.receivers()
    crew = Crew(args.workers)
    try:
        time.sleep(5)  # the workers' start-up (imports, broker connection)
        from django.utils import timezone

        first_at = timezone.now() + timedelta(seconds=args.lead)
        ids = bench.releases_schedule(args.releases, first_at=first_at, over=args.over)
        print(
            f"\nChaos: {args.releases} public releases spread over {args.over:.0f} s, "
            f"{args.workers} workers and beat, PostgreSQL, Redis (seed {seed})"
        )
        events: list[str] = []

        def at() -> str:
            return f"t{(timezone.now() - first_at).total_seconds():+6.1f} s"

        end_at = first_at + timedelta(seconds=args.over + 5)
        while timezone.now() < first_at:
            time.sleep(0.2)
        blackout_at = first_at + timedelta(seconds=args.over * 0.3)
        redis_at = first_at + timedelta(seconds=args.over * 0.6)
        kills = 0
        while timezone.now() < end_at:
            crew.pause(rng.uniform(4, 10))
            if blackout_at and timezone.now() >= blackout_at:
                events.append(
                    f"{at()}  kill -9 every worker and beat; all down {args.blackout:.0f} s"
                )
                for name in crew.processes:
                    crew.kill(name)
                kills += len(crew.processes)
                crew.pause(args.blackout)
                for name in crew.processes:
                    crew.start(name)
                events.append(f"{at()}  restarted them")
                blackout_at = None
                continue
            if redis_at and timezone.now() >= redis_at:
                events.append(f"{at()}  restart Redis (every message it held is lost)")
                bench.redis_stop()
                crew.pause(1)
                bench.redis_start()
                redis_at = None
                continue
            name = rng.choice(sorted(crew.processes))
            down = rng.uniform(1, 6)
            events.append(f"{at()}  kill -9 {name}, restarted {down:.1f} s later")
            crew.kill(name)
            kills += 1
            crew.pause(down)
            crew.start(name)
        print(f"  {kills} processes killed with SIGKILL, Redis restarted once:")
        for event in events:
            print(f"    {event}")
        deadline = time.monotonic() + 300
        while bench.released(ids) < len(ids) and time.monotonic() < deadline:
            crew.pause(0.5)
        if crew.restarts:
            print(
                "  exited by themselves and restarted by the supervisor: "
                + ", ".join(crew.restarts)
                + " (kombu's Redis transport ends a worker whose broker connection drops)"
            )
        time.sleep(3)  # let the last emails arrive
        result = bench.outcome(ids)
        mail = bench.stats()
        last = (result.last_fired_at - first_at).total_seconds() if result.last_fired_at else 0
        print(
            f"  the last release fired at t{last:+.1f} s (the last was due at t+{args.over:.1f} s)"
        )
        print(
            f"  released: {result.released} of {len(ids)}; released twice: {result.released_twice}"
        )
        print(f"  lag (fired_at - scheduled_at): {bench.lag_line(result.lags)}")
        late = sum(1 for lag in result.lags if lag > 1)
        print(f"  later than 1 s: {late} (due while nobody could fire them, or their trigger lost)")
        print(bench.outbox_line(result, mail))
        print(f"  load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        crew.stop_all()
        kill_tree(receivers, signal.SIGTERM)


if __name__ == "__main__":
    main()
