"""POST to a checked webhook target with urllib3: to the checked address, with bounded time and
a bounded read.

- The connection goes to an address ``ssrf.url_check`` approved, never to the host name again:
  the pool's host is the IP; TLS gets ``server_hostname`` (SNI) and ``assert_hostname`` (the
  certificate must name the URL's host); the Host header carries the original host.
- No redirects, no retries here (the outbox retries).
- ``WEBHOOK_TIMEOUT_SECONDS`` for connecting and for each read, and ``WEBHOOK_DEADLINE_SECONDS``
  for the whole request: a watchdog thread shuts the socket of a request past its deadline, so a
  receiver that trickles a byte now and then cannot hold a worker.
- At most ``WEBHOOK_MAX_RESPONSE_BYTES`` of the answer are read. A connection whose answer was
  read to the end goes back to its pool for reuse; any other is closed.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.response import BaseHTTPResponse

from .ssrf import Target

MAX_POOLS = 512  # pools kept, least recently used dropped first


class TransportError(Exception):
    """No HTTP answer: refused, timed out, TLS failed, or cut off."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes  # at most WEBHOOK_MAX_RESPONSE_BYTES


# --- The deadline watchdog.


@dataclass(eq=False)
class _Watch:
    deadline: float
    connections: list[HTTPConnection] = field(default_factory=list)
    fired: bool = False
    cancelled: bool = False

    def fire(self) -> None:
        if self.cancelled:
            return
        self.fired = True
        for conn in self.connections:
            sock = getattr(conn, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv at once


class _Watchdog:
    """One daemon thread that fires the watches whose deadline has passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float) -> _Watch:
        entry = _Watch(deadline)
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._order), entry))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="webhook-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is entry:
                self._cond.notify()
        return entry

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                entry = heapq.heappop(self._heap)[2]
            entry.fire()


_watchdog = _Watchdog()
_local = threading.local()


def _watched(conn: HTTPConnection) -> None:
    """Put the connection under the current request's deadline (see _Watch.fire)."""
    entry: _Watch | None = getattr(_local, "watch", None)
    if entry is not None and conn not in entry.connections:
        entry.connections.append(conn)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _watched(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watched(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _watched(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watched(self)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


# --- Pools, one per (scheme, address, port, host name): keep-alive connections are reused.

_pools: OrderedDict[tuple[Any, ...], HTTPConnectionPool] = OrderedDict()
_pools_lock = threading.Lock()


def _pool(target: Target, address: str) -> HTTPConnectionPool:
    ca_bundle = settings.WEBHOOK_CA_BUNDLE
    key = (target.scheme, address, target.port, target.host, ca_bundle)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        common: dict[str, Any] = {
            "port": target.port,
            "maxsize": settings.WEBHOOK_CONCURRENCY,
            "block": False,
            "retries": False,
        }
        if target.scheme == "https":
            pool = _HTTPSPool(
                address,
                cert_reqs="CERT_REQUIRED",
                ca_certs=ca_bundle,
                server_hostname=target.host,
                assert_hostname=target.host,
                **common,
            )
        else:
            pool = _HTTPPool(address, **common)
        _pools[key] = pool
        while len(_pools) > MAX_POOLS:
            _pools.popitem(last=False)[1].close()
        return pool


def _after_fork_in_child() -> None:
    # A forked worker must not share its parent's sockets, locks or watchdog thread.
    global _pools, _pools_lock, _watchdog, _local
    _pools = OrderedDict()
    _pools_lock = threading.Lock()
    _watchdog = _Watchdog()
    _local = threading.local()


os.register_at_fork(after_in_child=_after_fork_in_child)


def pools_clear() -> None:
    """Close every pooled connection (tests; settings changes)."""
    with _pools_lock:
        while _pools:
            _pools.popitem()[1].close()


# --- Sending.


def _read_capped(response: BaseHTTPResponse) -> tuple[bytes, bool]:
    """At most the cap of the body, and whether that was all of it."""
    cap = settings.WEBHOOK_MAX_RESPONSE_BYTES
    length = response.length_remaining
    if length is not None and length <= cap:
        return (response.read(length, decode_content=False) if length else b""), True
    # Too long, or of unknown length: one read of what has arrived, and no waiting for more.
    return response.read1(cap, decode_content=False), False


def _timeout_message(watch: _Watch) -> str:
    if watch.fired:
        return (
            f"No complete answer within {settings.WEBHOOK_DEADLINE_SECONDS:g} s "
            "(the total time allowed for a delivery); the connection was cut."
        )
    return f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s."


def post(target: Target, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to the target; the answer whatever its status, or TransportError.

    The addresses are tried in order while connecting fails (nothing was sent yet), so a host
    with an IPv6 and an IPv4 address still works when one of them does not answer.
    """
    deadline = time.monotonic() + settings.WEBHOOK_DEADLINE_SECONDS
    timeout = Timeout(
        connect=settings.WEBHOOK_TIMEOUT_SECONDS, read=settings.WEBHOOK_TIMEOUT_SECONDS
    )
    headers = {**headers, "Host": target.host_header}
    failure = "no address to connect to"
    for address in target.addresses:
        if time.monotonic() >= deadline:
            break
        watch = _watchdog.watch(deadline)
        _local.watch = watch
        try:
            return _exchange(_pool(target, address), target, body, headers, timeout, watch)
        except (NewConnectionError, ConnectTimeoutError) as exc:
            if watch.fired:
                raise TransportError(_timeout_message(watch)) from None
            failure = f"could not connect to {address} port {target.port}: {_reason(exc)}"
        finally:
            watch.cancelled = True
            _local.watch = None
    raise TransportError(f"No connection: {failure}.")


def _exchange(
    pool: HTTPConnectionPool,
    target: Target,
    body: bytes,
    headers: dict[str, str],
    timeout: Timeout,
    watch: _Watch,
) -> Answer:
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            timeout=timeout,
            preload_content=False,
            release_conn=False,
        )
    except (NewConnectionError, ConnectTimeoutError):
        raise
    except ReadTimeoutError:
        raise TransportError(_timeout_message(watch)) from None
    except SSLError as exc:
        raise TransportError(f"TLS failed: {_reason(exc)}") from None
    except HTTPError as exc:
        if watch.fired:
            raise TransportError(_timeout_message(watch)) from None
        raise TransportError(f"The connection failed: {_reason(exc)}") from None
    complete = False
    try:
        data, complete = _read_capped(response)
    except (HTTPError, OSError) as exc:
        # The status line and headers arrived: the answer counts, without its body.
        data = f"(the body could not be read: {_reason(exc)})".encode()
    finally:
        watch.cancelled = True  # before the connection can go back to the pool
        if not complete or watch.fired:
            response.close()
        response.release_conn()
    if watch.fired:
        # Cut off mid-answer: what arrived may be a fragment (a status line, half the headers).
        raise TransportError(_timeout_message(watch))
    return Answer(response.status, dict(response.headers.items()), data)


def _reason(exc: BaseException) -> str:
    """The innermost cause, without urllib3's object reprs."""
    while exc.__context__ is not None and isinstance(exc, HTTPError):
        exc = exc.__context__
    text = str(exc)
    if ": " in text and text.startswith("<"):
        text = text.split(": ", 1)[1]
    return text or type(exc).__name__
