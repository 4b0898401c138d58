"""The outbox and its dispatcher: notifications are rows written in the state change's
transaction, and workers deliver them after the commit.

Guarantees (see README, "Delivery outbox"):

- Nothing is lost: a row is written in the same transaction as the change it tells of, and
  stays due until a channel reports success or the retry schedule is spent. Queued tasks only
  hurry things along; the periodic sweep finds every due row in the database.
- Nothing is sent twice while a worker holds its lease: workers claim due rows in batches
  (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, inside a short transaction), so two
  workers never hold the same row, and the lease is renewed while a slow batch is being sent.
  A worker that dies mid-batch leaves its rows SENDING until the lease
  (``DELIVERY_LEASE_SECONDS``) runs out; then they are due again. Each success is recorded
  the moment the receiver has taken it (dispatch_threads.SentRecorder), so only a delivery
  the worker was sending when it died can be sent a second time. That resend carries the
  row's Message-ID / ``webhook-id``, so receivers can drop it: delivery is at least once,
  with an idempotency key.
- No network call happens inside a transaction: the claim commits before anything is sent, and
  each outcome is written afterwards, guarded by the attempt number the claim set.
"""

from __future__ import annotations

import importlib
import logging
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    CharField,
    DateTimeField,
    Exists,
    F,
    Field,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.utils import timezone

from accounts.models import Membership, Organization, User

from ..models import AuditEvent, Delivery, Finding, FindingRecipient, WebhookEndpoint
from .channels import DeliveryFailed, OnSent
from .deliveries import email_bounce_clear, email_bounce_flag
from .dispatch_threads import SentRecorder, lease_kept
from .webhooks import REASON_MAX_LENGTH, endpoint_disable

logger = logging.getLogger(__name__)

Channel = Delivery.Channel
State = Delivery.State

ERROR_MAX_LENGTH = 2000
STATUS_CODE_MAX = 32767  # PositiveSmallIntegerField
GONE = 410


# --- Writing the outbox.


def deliveries_enqueue(
    *,
    finding: Finding,
    event: str,
    organizations: Iterable[Organization],
    cause: AuditEvent,
) -> int:
    """Fan one change out to every channel of each organization; deliver after commit.

    - in-app inbox: every active member (delivered at once: the row is the message);
    - email: the organization's contacts (members with a contact role), or all its active
      members when it has designated none;
    - webhook: each active endpoint.

    One row per (cause, recipient, channel) or (cause, endpoint): rows that exist already are
    left alone, so enqueueing the same change twice never sends twice, and a user in two
    notified organizations hears once (as a member of the first). Returns the number of rows
    written.

    The database builds the rows itself, one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``
    per channel from the memberships and endpoints: nothing is loaded into Python, so a
    fan-out to tens of thousands of recipients costs three statements.
    """
    org_ids = sorted({org.pk for org in organizations})
    if not org_ids:
        return 0
    now = timezone.now()
    first_attempt = now + timedelta(seconds=_schedule()[0])
    members = Membership.objects.filter(organization_id__in=org_ids, user__is_active=True).order_by(
        "organization_id", "user_id"
    )
    designated = Membership.objects.filter(
        organization_id=OuterRef("organization_id"), user__is_active=True
    ).exclude(contact_role="")
    contacts = members.filter(~Q(contact_role="") | ~Exists(designated))
    endpoints = WebhookEndpoint.objects.filter(
        organization_id__in=org_ids, disabled_at__isnull=True
    ).order_by("organization_id", "id")

    row = {"event": _text(event), "cause": _number(cause.pk), "finding": _number(finding.pk)}
    pending = {**row, "state": _text(State.PENDING), "next_attempt_at": _moment(first_attempt)}
    written = _insert_select(
        members,
        **row,
        channel=_text(Channel.INBOX),
        recipient=F("user_id"),
        organization=F("organization_id"),
        state=_text(State.SENT),
        next_attempt_at=_moment(now),
        sent_at=_moment(now),
        created_at=_moment(now),
    )
    to_send = _insert_select(
        contacts,
        **pending,
        channel=_text(Channel.EMAIL),
        recipient=F("user_id"),
        organization=F("organization_id"),
        created_at=_moment(now),
    )
    to_send += _insert_select(
        endpoints,
        **pending,
        channel=_text(Channel.WEBHOOK),
        endpoint=F("id"),
        organization=F("organization_id"),
        created_at=_moment(now),
    )
    if to_send:
        transaction.on_commit(lambda: deliveries_kick(rows=to_send))
    return written + to_send


def _text(value: str) -> Value:
    return Value(str(value), output_field=CharField())


def _number(value: int) -> Value:
    return Value(value, output_field=BigIntegerField())


def _moment(value: datetime) -> Value:
    return Value(value, output_field=DateTimeField())


def _column(name: str) -> str:
    return str(cast("Field[Any, Any]", Delivery._meta.get_field(name)).column)


def _insert_select(source: QuerySet[Any], **columns: Any) -> int:
    """``INSERT INTO delivery (columns) SELECT ... FROM source ON CONFLICT DO NOTHING``.

    ``columns`` maps Delivery fields to expressions over ``source``; the others take their
    defaults here. Returns the number of rows inserted (conflicts are skipped, not counted).
    """
    columns = {"attempts": Value(0), "last_error": _text(""), **columns}
    aliases = {f"outbox_{name}": expression for name, expression in columns.items()}
    select = source.annotate(**aliases).values(*aliases)
    sql, params = select.query.sql_with_params()
    quote = connection.ops.quote_name
    fields = ", ".join(quote(_column(name)) for name in columns)
    # Identifiers come from the model's metadata and every value is a query parameter.
    statement = (
        f"INSERT INTO {quote(Delivery._meta.db_table)} ({fields}) {sql} ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return max(cursor.rowcount, 0)


def deliveries_kick(*, rows: int = 1) -> None:
    """Queue a few dispatcher tasks for ``rows`` due rows (not one task per row).

    Each task claims batches until nothing is due, so a handful keep every worker busy. If the
    broker is down the periodic sweep delivers them anyway.
    """
    from ..tasks import dispatch_deliveries

    tasks = min(settings.DELIVERY_DISPATCH_TASKS, math.ceil(rows / settings.DELIVERY_BATCH_SIZE))
    for _ in range(max(tasks, 1)):
        try:
            dispatch_deliveries.delay()
        except Exception:  # the broker is down: the sweep delivers these later
            logger.exception("Could not queue the delivery dispatcher; the sweep will run it")
            return


# --- Claiming due rows.


def _due(now: datetime) -> Q:
    """Pending rows whose time has come, and rows whose worker's lease ran out."""
    return Q(state=State.PENDING, next_attempt_at__lte=now) | Q(
        state=State.SENDING, claimed_until__lt=now
    )


def deliveries_due(*, limit: int = 500) -> list[int]:
    """Ids of rows a dispatcher would claim now (for tests and diagnostics; claims nothing)."""
    return list(
        Delivery.objects.filter(_due(timezone.now()))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def deliveries_claim(*, limit: int) -> list[Delivery]:
    """Claim up to ``limit`` due rows for this worker: SENDING, leased, one more attempt.

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``, so concurrent claimers
    take disjoint sets without waiting for each other. On SQLite the transaction takes the
    database's write lock at BEGIN (``transaction_mode`` IMMEDIATE), which serialises claimers;
    the UPDATE repeats the due condition all the same.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    with transaction.atomic():
        due = Delivery.objects.filter(_due(now)).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Delivery.objects.filter(_due(now), pk__in=ids).update(
            state=State.SENDING, claimed_until=lease, attempts=F("attempts") + 1
        )
    # The TLP of the release stage that brought each row's organization in (policies.
    # tlp_for_delivery), in the same query.
    stage_tlp = FindingRecipient.objects.filter(
        finding_id=OuterRef("finding_id"), organization_id=OuterRef("organization_id")
    ).values("stage__tlp")[:1]
    return list(
        Delivery.objects.filter(pk__in=ids, state=State.SENDING, claimed_until=lease)
        .select_related("finding", "recipient", "organization", "endpoint")
        .annotate(stage_tlp=Subquery(stage_tlp))
        .order_by("id")
    )


# --- Sending.


def deliveries_dispatch(*, batch_size: int | None = None, budget: float | None = None) -> int:
    """Claim and deliver batches until nothing is due or the time budget is spent.

    Returns how many deliveries succeeded. Run by the tasks queued after a commit and by the
    periodic sweep; any number may run at once.
    """
    batch_size = batch_size or settings.DELIVERY_BATCH_SIZE
    deadline = time.monotonic() + (budget or settings.DELIVERY_DISPATCH_SECONDS)
    sent = 0
    while time.monotonic() < deadline:
        batch = deliveries_claim(limit=batch_size)
        if not batch:
            break
        sent += _deliver(batch)
    return sent


def _deliver(batch: list[Delivery]) -> int:
    """Send one claimed batch, grouped by channel, and record each row's outcome."""
    outcomes: dict[int, DeliveryFailed | None] = {}
    by_channel: dict[str, list[Delivery]] = defaultdict(list)
    max_attempts = len(_schedule())
    for delivery in batch:
        refusal = _refusal(delivery, max_attempts)
        if refusal is not None:
            outcomes[delivery.pk] = refusal
        elif delivery.channel == Channel.INBOX:
            outcomes[delivery.pk] = None  # the row is the message
        else:
            by_channel[delivery.channel].append(delivery)
    recorded = 0
    if by_channel:
        # Outside a transaction, successes are recorded as they happen (by a thread of the
        # recorder's), so a worker killed mid-batch leaves at most the deliveries in flight
        # to be sent again. Inside one (tests) a second connection could not see the rows.
        recorder = SentRecorder(batch) if not connection.in_atomic_block else None
        with lease_kept(batch):
            try:
                for channel, rows in by_channel.items():
                    outcomes.update(_send_many(channel, rows, recorder))
            finally:
                if recorder is not None:
                    recorded = recorder.close()
    return recorded + _record(batch, outcomes)


def _refusal(delivery: Delivery, max_attempts: int) -> DeliveryFailed | None:
    """Reasons not to try at all: each is final."""
    if delivery.attempts > max_attempts:
        # Only a worker that died holding the row gets here: its attempts left no outcome.
        return DeliveryFailed(
            f"Gave up after {max_attempts} attempts; the last ended without a result "
            "(the worker stopped while sending).",
            permanent=True,
        )
    endpoint, recipient = delivery.endpoint, delivery.recipient
    if endpoint is not None and not endpoint.is_active:
        reason = endpoint.disabled_reason or "no reason given"
        return DeliveryFailed(f"The endpoint is disabled ({reason}).", permanent=True)
    if delivery.channel == Channel.EMAIL and recipient is not None and not recipient.is_active:
        return DeliveryFailed("The recipient's account is deactivated.", permanent=True)
    return None


def _channel(name: str) -> ModuleType:
    return importlib.import_module(f"{__package__}.channels.{name}")


def _send_many(
    channel: str, rows: list[Delivery], on_sent: OnSent | None
) -> dict[int, DeliveryFailed | None]:
    """The channel's verdict for each row; a channel that breaks fails its rows, temporarily."""
    try:
        results: dict[int, Any] = _channel(channel).send_many(rows, on_sent=on_sent)
    except Exception as exc:
        logger.exception("The %s channel failed a batch of %d", channel, len(rows))
        failure = DeliveryFailed(f"{type(exc).__name__}: {exc}")
        return dict.fromkeys((row.pk for row in rows), failure)
    missing = DeliveryFailed(f"The {channel} channel reported no result for this delivery.")
    outcomes: dict[int, DeliveryFailed | None] = {}
    for row in rows:
        result = results.get(row.pk, missing)
        if result is not None and not isinstance(result, DeliveryFailed):
            result = DeliveryFailed(f"{type(result).__name__}: {result}")
        outcomes[row.pk] = result
    return outcomes


# --- Recording outcomes and scheduling retries.


def _schedule() -> list[float]:
    return [float(s) for s in settings.DELIVERY_RETRY_SCHEDULE_SECONDS]


def retry_delay(*, attempts: int, failure: DeliveryFailed) -> float | None:
    """Seconds until the next attempt after ``attempts`` attempts, or None: give up.

    The schedule (``DELIVERY_RETRY_SCHEDULE_SECONDS``; by default the Standard Webhooks
    example, about three days) gives the delay before each attempt, the first being 0. Each
    delay is jittered by ``DELIVERY_RETRY_JITTER`` either way so that retries of a fan-out do
    not arrive together. A receiver's Retry-After wins when it asks for longer, up to
    ``DELIVERY_RETRY_AFTER_MAX_SECONDS``.
    """
    schedule = _schedule()
    if failure.permanent or failure.status_code == GONE or attempts >= len(schedule):
        return None
    jitter = settings.DELIVERY_RETRY_JITTER
    delay = schedule[attempts] * random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 (not crypto)
    if failure.retry_after:
        asked = min(float(failure.retry_after), float(settings.DELIVERY_RETRY_AFTER_MAX_SECONDS))
        delay = max(delay, asked)
    return delay


def _record(batch: list[Delivery], outcomes: dict[int, DeliveryFailed | None]) -> int:
    """Write each outcome, only if this worker still holds the row (same attempt number)."""
    now = timezone.now()
    sent: dict[int, list[int]] = defaultdict(list)
    recovered: dict[int, User] = {}
    for delivery in batch:
        failure = outcomes[delivery.pk]
        if failure is None:
            sent[delivery.attempts].append(delivery.pk)
            recipient = delivery.recipient
            if delivery.channel == Channel.EMAIL and recipient and recipient.email_bouncing_at:
                recovered[recipient.pk] = recipient
        else:
            _record_failure(delivery, failure, now)
    done = 0
    for attempts, ids in sent.items():
        done += Delivery.objects.filter(pk__in=ids, state=State.SENDING, attempts=attempts).update(
            state=State.SENT, sent_at=now, claimed_until=None, last_error="", last_status_code=None
        )
    for user in recovered.values():  # the address takes mail again
        email_bounce_clear(actor=None, user=user)
    return done


def _record_failure(delivery: Delivery, failure: DeliveryFailed, now: datetime) -> None:
    delay = retry_delay(attempts=delivery.attempts, failure=failure)
    code = (
        failure.status_code
        if failure.status_code and failure.status_code <= STATUS_CODE_MAX
        else None
    )
    updated = Delivery.objects.filter(
        pk=delivery.pk, state=State.SENDING, attempts=delivery.attempts
    ).update(
        state=State.FAILED if delay is None else State.PENDING,
        next_attempt_at=now if delay is None else now + timedelta(seconds=delay),
        claimed_until=None,
        last_error=str(failure)[:ERROR_MAX_LENGTH],
        last_status_code=code,
    )
    logger.warning(
        "Delivery %s (%s, attempt %s) failed%s: %s",
        delivery.pk,
        delivery.channel,
        delivery.attempts,
        "" if delay is None else f"; retrying in {delay:.0f}s",
        failure,
    )
    if not updated:
        return  # the lease ran out and another worker has the row now
    if delivery.endpoint is not None and failure.status_code == GONE:
        _disable_endpoint(delivery.endpoint)
    elif delivery.recipient is not None and _is_bounce(delivery, failure):
        email_bounce_flag(actor=None, user=delivery.recipient, reason=str(failure))


def _is_bounce(delivery: Delivery, failure: DeliveryFailed) -> bool:
    """A permanent SMTP 5xx refusal (not, say, a missing key: the address is fine then)."""
    code = failure.status_code
    return (
        delivery.channel == Channel.EMAIL
        and failure.permanent
        and code is not None
        and 500 <= code < 600
    )


def _disable_endpoint(endpoint: WebhookEndpoint) -> None:
    """HTTP 410 Gone: the receiver wants nothing more. Disabled here, and only here (the
    webhook channel reports outcomes; endpoint_disable does nothing to a disabled endpoint)."""
    reason = f"HTTP 410 Gone from the receiver ({timezone.now():%Y-%m-%d %H:%M} UTC)."
    endpoint_disable(actor=None, endpoint=endpoint, reason=reason[:REASON_MAX_LENGTH])
