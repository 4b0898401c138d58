"""Real parts for the end-to-end tests: an SMTP server on loopback and Celery processes.

Everything here waits by polling against a deadline; nothing sleeps and then asserts.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import IO, Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
# Generous: a loaded CI machine starting Python processes can be slow, and a pass is fast anyway.
DEADLINE = 90.0
POLL = 0.2
STOP_GRACE = 20.0


@dataclass(frozen=True)
class Received:
    """One message as the SMTP server got it."""

    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    # Stripped: a long header is folded right after its colon, and unfolding keeps the space.
    @property
    def to(self) -> str:
        return str(self.message["To"]).strip()

    @property
    def subject(self) -> str:
        return str(self.message["Subject"]).strip()

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, f"no text/plain part in {self.subject!r}"
        return str(part.get_content())  # type: ignore[attr-defined]

    @property
    def decoded_text(self) -> str:
        """Every header and the body, decoded, as a reader would see them."""
        headers = "\n".join(f"{name}: {value}" for name, value in self.message.items())
        return f"{headers}\n\n{self.body}"


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.port = 0  # set once the server listens
        self._lock = threading.Lock()
        self._received: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._received.append(Received(tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def with_subject(self, subject: str) -> list[Received]:
        return [r for r in self.received if r.subject == subject]


class LoopbackSMTP(Controller):
    """Listens on a port the OS chooses, so concurrent runs never collide on one."""

    def __init__(self, handler: Mailbox) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0)

    def _trigger_server(self) -> None:
        # The server is bound by now; learn its port before the base class connects to it.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Service:
    """A Celery process started by a test, its log going to a file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]
    expected_alive: bool = True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


@dataclass
class Stack:
    """Starts workers and the scheduler against the test's database, broker and SMTP server."""

    workdir: Path
    env: dict[str, str]
    services: list[Service] = field(default_factory=list)

    def start_worker(self, name: str, *, pause_marker: Path | None = None) -> Service:
        worker_args = [
            "--pool=solo",
            "--concurrency=1",
            "-l",
            "info",
            "-n",
            f"e2e-{name}@%h",
            # Broadcast chatter between workers only slows start-up; these tests do not use it.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        env = dict(self.env)
        if pause_marker is None:
            argv = [sys.executable, "-m", "celery", "-A", "config", "worker", *worker_args]
        else:
            argv = [sys.executable, "-m", "tests.e2e.paused_worker", *worker_args]
            env["E2E_PAUSE_MARKER"] = str(pause_marker)
        service = self._spawn(f"worker-{name}", argv, env)
        self.wait_until(
            lambda: re.search(r"@\S+ ready\.", service.log()) is not None,
            what=f"worker {name} to be ready",
            explain=service.tail,
        )
        return service

    def start_beat(self) -> Service:
        argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info"]
        service = self._spawn("beat", argv, dict(self.env))
        self.wait_until(
            lambda: "beat: Starting..." in service.log(),
            what="the scheduler to start",
            explain=service.tail,
        )
        return service

    def kill(self, service: Service) -> None:
        """SIGKILL: no shutdown handlers, no acknowledgements, no rollback by the process."""
        service.expected_alive = False
        service.process.send_signal(signal.SIGKILL)
        service.process.wait(timeout=STOP_GRACE)

    def stop_all(self) -> None:
        for service in self.services:
            service.expected_alive = False
            if service.process.poll() is None:
                service.process.terminate()
        for service in self.services:
            try:
                service.process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                # A worker held inside a task ignores a warm shutdown; nothing else would end it.
                service.process.kill()
                service.process.wait(timeout=STOP_GRACE)
            service.log_file.close()

    def logs(self) -> str:
        return "\n".join(
            f"===== {s.name} (exit {s.process.poll()}) {s.log_path} =====\n{s.log()}"
            for s in self.services
        )

    def wait_until(
        self,
        predicate: Callable[[], object],
        *,
        what: str,
        timeout: float = DEADLINE,
        explain: Callable[[], str] | None = None,
    ) -> None:
        """Poll until ``predicate`` holds; fail at once if a process that should run has died."""
        deadline = time.monotonic() + timeout
        while True:
            self._assert_alive()
            if predicate():
                return
            if time.monotonic() > deadline:
                detail = f"\n{explain()}" if explain else ""
                raise AssertionError(f"Gave up after {timeout:.0f}s waiting for {what}.{detail}")
            time.sleep(POLL)

    def task_result(self, task_id: str) -> str:
        """Wait for a worker to log that the task finished; return the value it logged."""
        succeeded = re.compile(rf"\[{re.escape(task_id)}\] succeeded in [0-9.]+s: (.*)$", re.M)
        raised = f"[{task_id}] raised"
        found: list[str] = []

        def finished() -> bool:
            for service in self.services:
                log = service.log()
                assert raised not in log, f"task {task_id} raised:\n{service.tail()}"
                if match := succeeded.search(log):
                    found.append(match.group(1).strip())
                    return True
            return False

        self.wait_until(finished, what=f"task {task_id} to finish", explain=self.logs)
        return found[0]

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Service:
        log_path = self.workdir / f"{name}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            argv, cwd=self.workdir, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
        service = Service(name, process, log_path, log_file)
        self.services.append(service)
        return service

    def _assert_alive(self) -> None:
        for service in self.services:
            code = service.process.poll()
            if service.expected_alive and code is not None:
                raise AssertionError(f"{service.name} exited with {code}:\n{service.tail()}")


def subprocess_env(**overrides: str) -> dict[str, str]:
    """This process's environment, with the repository importable from any working directory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env
