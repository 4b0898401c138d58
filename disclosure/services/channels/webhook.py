"""The webhook channel: thin, signed Standard Webhooks POSTs to an organization's endpoints.

The body tells only what the notification emails tell: the event, the finding's reference, its
TLP label, state and embargo end, the organization, and links. Nothing embargoed: the receiver
follows the links with its own credentials. Headers (https://www.standardwebhooks.com/):

- ``webhook-id``: the delivery's id, the same on every retry (receivers drop repeats by it);
- ``webhook-timestamp``: seconds since the epoch at this attempt;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` with the endpoint's secret, and a second
  ``v1,...`` with the previous secret while a rotation's overlap lasts.

``send_many`` sends a batch concurrently (``WEBHOOK_CONCURRENCY`` threads, at most
``WEBHOOK_CONCURRENCY_PER_ENDPOINT`` on one endpoint, and only one until a delivery to it has
succeeded) over pooled keep-alive connections. Once a delivery to an endpoint times out, cannot
connect, is refused, or is told to wait (Retry-After) or to stop (410), the endpoint's other
deliveries in the batch are not tried and fail the same way, so a slow receiver costs the batch
one thread for one timeout, not a timeout per delivery. Outcomes only: the
dispatcher (services.notify) records them, schedules retries and disables an endpoint that
answered 410.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from ... import policies
from ...models import Delivery, Embargo, Finding, WebhookEndpoint
from . import DeliveryFailed, OnSent, http
from .ssrf import Target, WebhookURLError, url_check

logger = logging.getLogger(__name__)

Event = Delivery.Event
PING = "ping"
GONE = 410
USER_AGENT = "Forewarn-Webhooks/1"
SNIPPET_LENGTH = 200
# Page and API links per event: a released finding is read as a public advisory.
LINKS: dict[str, tuple[str, str]] = {
    Event.RELEASED: ("advisory-detail", "api:advisory-detail"),
    Event.EMBARGO_CHANGED: ("finding-timeline", "api:finding-embargo"),
}
DEFAULT_LINKS = ("finding-detail", "api:finding-detail")


@dataclass(frozen=True)
class Message:
    """What one POST needs, read from the database before any thread starts."""

    key: int  # the delivery's id (0 for a ping)
    webhook_id: str
    url: str
    endpoint_id: int
    active: bool
    disabled_reason: str
    secrets: tuple[str, ...]
    body: bytes


# --- The payload and its signature.


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload(delivery: Delivery) -> dict[str, Any]:
    """The thin body of a delivery: reference, TLP, state, dates, links; nothing embargoed."""
    finding: Finding = delivery.finding
    html, api = LINKS.get(delivery.event, DEFAULT_LINKS)
    body: dict[str, Any] = {
        "type": delivery.event,
        "timestamp": _iso(delivery.created_at),
        "data": {
            "reference": finding.reference,
            "tlp": Finding.Tlp(policies.tlp_for_delivery(delivery)).label,
            "state": finding.state,
            "embargo_ends_at": _iso(finding.embargo_ends_at),
            "organization": delivery.organization.slug,
            "links": {
                "html": settings.SITE_URL + reverse(html, args=[finding.reference]),
                "api": settings.SITE_URL + reverse(api, args=[finding.reference]),
            },
        },
    }
    if delivery.event == Event.EMBARGO_CHANGED:  # a proposal's end is on the embargo only
        embargo = Embargo.objects.filter(finding_id=finding.pk).first()
        data: dict[str, Any] = body["data"]
        data["embargo"] = {
            "state": embargo.state if embargo else None,
            "ends_at": _iso(embargo.ends_at) if embargo else None,
        }
    return body


def ping_payload(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "type": PING,
        "timestamp": _iso(timezone.now()),
        "data": {"organization": endpoint.organization.slug, "endpoint": endpoint.pk},
    }


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> tuple[str, ...]:
    """The current secret, and the previous one while the rotation's overlap lasts."""
    now = now or timezone.now()
    secrets = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        secrets.append(endpoint.previous_secret)
    return tuple(secrets)


def signed_headers(message: Message, *, now: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt (a fresh timestamp each time)."""
    moment = (now or timezone.now()).replace(microsecond=0)
    text = message.body.decode()
    signature = " ".join(
        Webhook(secret).sign(msg_id=message.webhook_id, timestamp=moment, data=text)
        for secret in message.secrets
    )
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message.webhook_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }


def _encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def message_for(delivery: Delivery) -> Message:
    endpoint = delivery.endpoint
    if endpoint is None:
        raise ValueError(f"Delivery {delivery.pk} is not a webhook delivery.")
    return Message(
        key=delivery.pk,
        webhook_id=delivery.webhook_id,
        url=endpoint.url,
        endpoint_id=endpoint.pk,
        active=endpoint.is_active,
        disabled_reason=endpoint.disabled_reason,
        secrets=signing_secrets(endpoint),
        body=_encode(payload(delivery)),
    )


def ping_message(endpoint: WebhookEndpoint) -> Message:
    return Message(
        key=0,
        webhook_id=f"msg_forewarn_ping_{uuid.uuid4().hex}",
        url=endpoint.url,
        endpoint_id=endpoint.pk,
        active=True,  # an admin may test a disabled endpoint before enabling it again
        disabled_reason="",
        secrets=signing_secrets(endpoint),
        body=_encode(ping_payload(endpoint)),
    )


# --- Judging an answer.


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header (delay-seconds or an HTTP-date) as seconds from now, or None."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or timezone.now())).total_seconds())


def _snippet(body: bytes) -> str:
    text = " ".join(body[: SNIPPET_LENGTH * 4].decode("utf-8", "replace").split())
    return text[:SNIPPET_LENGTH]


def verdict(answer: http.Answer) -> DeliveryFailed | None:
    """None for a 2xx; otherwise the failure, permanent only for 410 Gone."""
    status = answer.status
    if 200 <= status < 300:
        return None
    said = _snippet(answer.body)
    said = f": {said}" if said else ""
    if status == GONE:
        return DeliveryFailed(
            f"HTTP 410 Gone: the receiver wants no more deliveries{said}",
            permanent=True,
            status_code=status,
        )
    headers = {name.lower(): value for name, value in answer.headers.items()}
    retry_after = retry_after_seconds(headers.get("retry-after"))
    if 300 <= status < 400:
        where = headers.get("location", "")
        return DeliveryFailed(
            f"HTTP {status}: redirects are not followed; give the final URL ({where}).",
            status_code=status,
        )
    wait = f" (Retry-After: {retry_after:g} s)" if retry_after is not None else ""
    return DeliveryFailed(
        f"HTTP {status} from the receiver{wait}{said}", retry_after=retry_after, status_code=status
    )


# --- Sending.


class _Targets:
    """URL checks for one batch: each URL is resolved and checked once per batch."""

    def __init__(self) -> None:
        self._checked: dict[str, Target | WebhookURLError] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> Target:
        with self._lock:
            known = self._checked.get(url)
        if known is None:
            try:
                known = url_check(url)
            except WebhookURLError as exc:
                known = exc
            with self._lock:
                self._checked[url] = known
        if isinstance(known, WebhookURLError):
            raise known
        return known


def _attempt(message: Message, targets: _Targets) -> tuple[int | None, DeliveryFailed | None]:
    """The receiver's HTTP status (None if there was no answer) and the failure, if any."""
    if not message.active:
        reason = message.disabled_reason or "no reason given"
        return None, DeliveryFailed(f"The endpoint is disabled ({reason}).", permanent=True)
    try:
        target = targets.get(message.url)
    except WebhookURLError as exc:
        what = "refused" if exc.permanent else "not usable now"
        failure = DeliveryFailed(f"The endpoint's URL is {what}: {exc}", permanent=exc.permanent)
        return None, failure
    try:
        answer = http.post(target, body=message.body, headers=signed_headers(message))
    except http.TransportError as exc:
        return None, DeliveryFailed(str(exc))
    return answer.status, verdict(answer)


class _Breaker:
    """Stops a batch's deliveries to one endpoint after a failure that will repeat."""

    def __init__(self) -> None:
        self.failure: DeliveryFailed | None = None

    def trip(self, failure: DeliveryFailed) -> None:
        if self.failure is None and (
            failure.permanent or failure.retry_after is not None or failure.status_code is None
        ):
            self.failure = failure

    def skipped(self, failure: DeliveryFailed) -> DeliveryFailed:
        return DeliveryFailed(
            f"Not tried: an earlier delivery to this endpoint in the batch failed ({failure})",
            permanent=failure.permanent,
            retry_after=failure.retry_after,
        )


class _Batch:
    """The threads of one batch. An endpoint starts with one lane (a probe); only once a
    delivery to it has succeeded do more lanes join, up to WEBHOOK_CONCURRENCY_PER_ENDPOINT.
    So a dead or silent endpoint holds one thread for one timeout, not several."""

    def __init__(
        self, pool: ThreadPoolExecutor, targets: _Targets, on_sent: OnSent | None = None
    ) -> None:
        self.pool = pool
        self.targets = targets
        self.on_sent = on_sent
        self.results: dict[int, DeliveryFailed | None] = {}
        self.extra_lanes = max(1, settings.WEBHOOK_CONCURRENCY_PER_ENDPOINT) - 1
        self._pending = 0
        self._done = threading.Condition()

    def start(self, lane: Callable[[], None]) -> None:
        with self._done:
            self._pending += 1
        self.pool.submit(self._run, lane)

    def _run(self, lane: Callable[[], None]) -> None:
        try:
            lane()
        except Exception:  # noted; the dispatcher treats a missing outcome as a failure
            logger.exception("A webhook lane failed")
        finally:
            with self._done:
                self._pending -= 1
                self._done.notify_all()

    def wait(self) -> None:
        with self._done:
            while self._pending:
                self._done.wait()

    def lane(self, queue: deque[Message], breaker: _Breaker, *, probe: bool) -> None:
        """Send an endpoint's messages one after another; several lanes may share one queue."""
        while True:
            try:
                message = queue.popleft()
            except IndexError:
                return
            if breaker.failure is not None:
                self.results[message.key] = breaker.skipped(breaker.failure)
                continue
            try:
                failure = _attempt(message, self.targets)[1]
            except Exception as exc:  # a bug must not lose the rest of the batch's outcomes
                logger.exception("Webhook %s could not be sent", message.webhook_id)
                failure = DeliveryFailed(f"{type(exc).__name__}: {exc}")
            self.results[message.key] = failure
            if failure is None and self.on_sent is not None:
                self.on_sent(message.key)
            if failure is not None:
                breaker.trip(failure)
            elif probe:
                probe = False
                for _ in range(min(self.extra_lanes, len(queue))):
                    self.start(partial(self.lane, queue, breaker, probe=False))


def send_messages(
    messages: Iterable[Message], on_sent: OnSent | None = None
) -> dict[int, DeliveryFailed | None]:
    """Send concurrently; the outcome of each message by its key (None: delivered).

    ``on_sent(key)`` is called (from a sending thread) as soon as each message is delivered.
    """
    queues: dict[int, deque[Message]] = {}
    for message in messages:
        queues.setdefault(message.endpoint_id, deque()).append(message)
    if not queues:
        return {}
    workers = max(1, settings.WEBHOOK_CONCURRENCY)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        batch = _Batch(pool, _Targets(), on_sent)
        for queue in queues.values():
            batch.start(partial(batch.lane, queue, _Breaker(), probe=True))
        batch.wait()
    return batch.results


def send_many(
    deliveries: Iterable[Delivery], on_sent: OnSent | None = None
) -> dict[int, DeliveryFailed | None]:
    """Send a batch of webhook deliveries (with their endpoint, finding and organization
    loaded); the outcome of each by its id. The threads touch no database; ``on_sent(id)`` is
    called from them as each delivery is taken."""
    return send_messages([message_for(delivery) for delivery in deliveries], on_sent)


def send(delivery: Delivery) -> None:
    """Send one delivery; raise DeliveryFailed if it did not arrive."""
    failure = send_many([delivery]).get(delivery.pk)
    if failure is not None:
        raise failure


def ping(endpoint: WebhookEndpoint) -> tuple[int | None, DeliveryFailed | None]:
    """Send a signed ``ping`` event now, outside the outbox: the receiver's HTTP status (None
    without an answer) and the failure (None if it took the ping)."""
    return _attempt(ping_message(endpoint), _Targets())
