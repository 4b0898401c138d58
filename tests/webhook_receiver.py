"""A real webhook receiver on loopback: an HTTP(S) server in a thread that records each request
and answers as told per path, including badly (huge bodies, silence, trickling headers).

    with Receiver() as receiver:
        receiver.on("/gone", status=410)
        url = receiver.url("/gone")
        ...
        Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    client: tuple[str, int]  # the sender's address and port: one port per connection

    def verify(self, secret: str) -> Any:
        """What a receiver does: raises WebhookVerificationError unless the signature holds."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Behaviour:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    body_size: int = 0  # a body of this many bytes, streamed (for huge answers)
    hang: bool = False  # read the request, never answer
    trickle: float = 0.0  # answer with one header byte every this many seconds


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the sender pools connections
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        receiver.record(
            Request(self.path, dict(self.headers.items()), body, self.client_address[:2])
        )
        behaviour = receiver.behaviour(self.path)
        try:
            self._answer(behaviour)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True  # the sender hung up, as it may

    def _answer(self, behaviour: Behaviour) -> None:
        stopping = self.server.receiver.stopping
        if behaviour.hang:
            stopping.wait()
            self.close_connection = True
            return
        if behaviour.trickle:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            while not stopping.wait(behaviour.trickle):
                self.wfile.write(b"X")
                self.wfile.flush()
            self.close_connection = True
            return
        size = behaviour.body_size or len(behaviour.body)
        self.send_response(behaviour.status)
        for name, value in behaviour.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if behaviour.body_size:
            chunk = b"x" * CHUNK
            for offset in range(0, size, CHUNK):
                self.wfile.write(chunk[: min(CHUNK, size - offset)])
        else:
            self.wfile.write(behaviour.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a refused TLS handshake or a sender hanging up is part of the tests


class Receiver:
    """``tls``: (certificate file, key file) to serve https."""

    def __init__(self, *, host: str = "127.0.0.1", tls: tuple[str, str] | None = None) -> None:
        self.host = host
        self.tls = tls
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._behaviours: dict[str, Behaviour] = {}
        self._server: _Server | None = None
        self.port = 0

    def __enter__(self) -> Receiver:
        server = _Server((self.host, 0), _Handler)
        server.receiver = self
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.port = server.server_address[1]
        threading.Thread(
            target=server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def url(self, path: str = "/hook", *, host: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def on(self, path: str, **behaviour: Any) -> None:
        self._behaviours[path] = Behaviour(**behaviour)

    def behaviour(self, path: str) -> Behaviour:
        return self._behaviours.get(path.split("?")[0], Behaviour())

    def record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def wait_for(self, count: int, *, timeout: float = 10.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests
