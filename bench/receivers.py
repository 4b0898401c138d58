"""Loopback receivers for the fan-out benchmark: an SMTP server and a webhook HTTP server.

    .venv/bin/python bench/receivers.py --smtp-port 2525 --http-port 8089

Runs in its own process so that counting never competes with the process that measures. Each
receiver counts what arrives by its idempotency key, as a real receiver would deduplicate: the
SMTP server by Message-ID, the HTTP server by the Standard Webhooks ``webhook-id`` header.
``GET /stats`` on the HTTP port returns the counts as JSON.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mail: Counter[str] = Counter()
        self.hooks: Counter[str] = Counter()
        self.unsigned = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    def add(self, counter: Counter[str], key: str) -> None:
        now = time.time()
        with self.lock:
            counter[key] += 1
            self.first_at = self.first_at or now
            self.last_at = now

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "mail_total": sum(self.mail.values()),
                "mail_unique": len(self.mail),
                "mail_duplicated": sum(1 for n in self.mail.values() if n > 1),
                "webhook_total": sum(self.hooks.values()),
                "webhook_unique": len(self.hooks),
                "webhook_duplicated": sum(1 for n in self.hooks.values() if n > 1),
                "webhook_unsigned": self.unsigned,
                "first_at": self.first_at,
                "last_at": self.last_at,
            }


COUNTS = Counts()
HEADERS = BytesHeaderParser()


class Mailbox:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message_id = HEADERS.parsebytes(envelope.content).get("Message-ID", "")
        COUNTS.add(COUNTS.mail, str(message_id).strip())
        return "250 Message accepted for delivery"


class Hooks(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the sender pools connections

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        webhook_id = self.headers.get("webhook-id", "")
        if not (webhook_id and self.headers.get("webhook-signature")):
            with COUNTS.lock:
                COUNTS.unsigned += 1
        COUNTS.add(COUNTS.hooks, webhook_id)
        self._answer(204, b"")

    def do_GET(self) -> None:
        self._answer(200, json.dumps(COUNTS.snapshot()).encode(), "application/json")

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    args = parser.parse_args()
    smtp = Controller(Mailbox(), hostname="127.0.0.1", port=args.smtp_port)
    smtp.start()
    http = ThreadingHTTPServer(("127.0.0.1", args.http_port), Hooks)
    http.daemon_threads = True
    http.request_queue_size = 512
    print(f"receivers ready: smtp {args.smtp_port}, http {args.http_port}", flush=True)
    try:
        http.serve_forever()
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
