"""The benchmarks' processes on loopback: a Redis server of their own, Celery workers and beat,
the SMTP and webhook receivers (receivers.py), and how to wait for, signal and measure them.

Each benchmark gives its own port, folder and environment (``Stack``), so that restarting its
Redis or killing its workers disturbs nothing else on the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent


def bench_env(
    *, database_url: str, redis_port: int, var_dir: Path, smtp_port: int
) -> dict[str, str]:
    """The production settings as the benchmarks run them (bench/settings.py), on loopback."""
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", database_url),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SECRET_KEY": "bench-only-not-secret",
        # Public, for the benchmark only: the audit chain is sealed with it.
        "AUDIT_HMAC_KEY": "bench-only-audit-hmac-key-not-secret-0000000",
        # Public, for the benchmarks only: the embargoed columns are encrypted with it.
        "FOREWARN_ENCRYPTION_KEYS": "YmVuY2gtb25seS1ub3Qtc2VjcmV0LWVuY3J5cHRrZXk=",
        "DJANGO_DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": "https://forewarn.example",
        "LOG_LEVEL": "WARNING",
        "FOREWARN_VAR_DIR": str(var_dir),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        # The receivers are on loopback, which production refuses unless allowed (SSRF guard).
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "OPENPGP_SIGNING_KEY_FILE": str(var_dir / "site-key.asc"),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(check: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def kill_tree(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Signal the process's whole group (a prefork worker and its child)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def peak_memory_mb(process: subprocess.Popen[bytes]) -> float:
    """The largest VmHWM (peak resident set) among the processes of the process's group."""
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != process.pid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ProcessLookupError):
            continue
    return peak / 1024


@dataclass
class Stack:
    """One benchmark's Redis port, folder (logs, beat schedules) and environment."""

    redis_port: int
    var_dir: Path
    env: dict[str, str]
    smtp_port: int
    http_port: int
    name: str

    # --- Redis.

    def redis(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["redis-cli", "-p", str(self.redis_port), *args], capture_output=True, check=False
        )

    def redis_start(self) -> None:
        if self.redis("ping").stdout.strip() == b"PONG":
            return
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.var_dir),
            ],
            check=True,
        )
        wait(lambda: self.redis("ping").stdout.strip() == b"PONG", "Redis to start")

    def redis_stop(self) -> None:
        self.redis("shutdown", "nosave")
        wait(lambda: self.redis("ping").returncode != 0, "Redis to stop")

    def redis_restart(self) -> None:
        self.redis_stop()
        self.redis_start()

    # --- Processes.

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.var_dir / f"{name}.log", "ab")  # noqa: SIM115 (lives with the process)
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

    def worker(self, n: int) -> subprocess.Popen[bytes]:
        return self.spawn(
            f"worker-{n}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "-l",
                "warning",
                "-n",
                f"{self.name}-{n}-{time.time_ns()}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
        )

    def beat(self, n: int = 0) -> subprocess.Popen[bytes]:
        return self.spawn(
            f"beat-{n}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "-l",
                "warning",
                "-s",
                str(self.var_dir / f"celerybeat-schedule-{n}"),
            ],
        )

    def receivers(self) -> subprocess.Popen[bytes]:
        process = self.spawn(
            "receivers",
            [
                sys.executable,
                str(ROOT / "bench" / "receivers.py"),
                "--smtp-port",
                str(self.smtp_port),
                "--http-port",
                str(self.http_port),
            ],
        )
        wait(lambda: self.try_stats() is not None, "the receivers")
        return process

    def stats(self) -> dict[str, Any]:
        """What the receivers counted (receivers.py)."""
        url = f"http://127.0.0.1:{self.http_port}/stats"
        with urlopen(url, timeout=10) as response:
            return dict(json.load(response))

    def try_stats(self) -> dict[str, Any] | None:
        try:
            return self.stats()
        except OSError:
            return None
