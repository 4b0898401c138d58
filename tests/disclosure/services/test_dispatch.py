"""The dispatcher: batch claims and leases, retries on the schedule, Retry-After, permanent
failures, HTTP 410 and bounces, against a real SMTP server and a real HTTP receiver on
loopback."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from disclosure.models import AuditEvent, Delivery, WebhookEndpoint
from disclosure.services import notify
from disclosure.services.channels import DeliveryFailed
from disclosure.services.notify import deliveries_claim, deliveries_dispatch, retry_delay
from tests.factories import OrganizationFactory
from tests.webhook_receiver import Receiver

from ..outbox import contact, endpoint, enqueue, smtp_server

Channel = Delivery.Channel
State = Delivery.State
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="FOR UPDATE SKIP LOCKED needs PostgreSQL"
)


def _emails(cause: AuditEvent):
    return Delivery.objects.filter(cause=cause, channel=Channel.EMAIL)


def _due_rows(n: int, world) -> list[int]:
    org = OrganizationFactory()
    for i in range(n):
        contact(org, f"c{i}@org.example")
    cause = enqueue(world.submitted(), org)
    return sorted(_emails(cause).values_list("pk", flat=True))


# --- The schedule.


def test_the_default_schedule_is_the_standard_webhooks_example_over_about_three_days():
    schedule = django_settings.DELIVERY_RETRY_SCHEDULE_SECONDS
    assert schedule[:7] == [0, 5, 300, 1800, 7200, 18000, 36000]
    assert 2.5 * 86400 < sum(schedule) < 3.5 * 86400


def test_each_retry_waits_the_scheduled_delay_jittered_within_bounds(settings):
    settings.DELIVERY_RETRY_JITTER = 0.15
    schedule = settings.DELIVERY_RETRY_SCHEDULE_SECONDS
    failure = DeliveryFailed("HTTP 500")
    for attempts in range(1, len(schedule)):
        delays = [retry_delay(attempts=attempts, failure=failure) for _ in range(200)]
        wanted = schedule[attempts]
        assert all(wanted * 0.85 <= d <= wanted * 1.15 for d in delays), attempts
        assert min(delays) < wanted < max(delays), "no jitter"
    assert retry_delay(attempts=len(schedule), failure=failure) is None


def test_a_longer_retry_after_wins_up_to_the_cap(settings):
    settings.DELIVERY_RETRY_AFTER_MAX_SECONDS = 7200
    assert retry_delay(attempts=1, failure=DeliveryFailed("x", retry_after=3600)) == 3600
    assert retry_delay(attempts=1, failure=DeliveryFailed("x", retry_after=10**7)) == 7200
    # A shorter one does not make us retry sooner than the schedule says.
    assert retry_delay(attempts=4, failure=DeliveryFailed("x", retry_after=1)) >= 7200 * 0.8


def test_permanent_failures_and_410_are_not_retried():
    assert retry_delay(attempts=1, failure=DeliveryFailed("x", permanent=True)) is None
    assert retry_delay(attempts=1, failure=DeliveryFailed("x", status_code=410)) is None


# --- Claims and leases.


def test_a_claim_leases_due_rows_and_counts_the_attempt(world, settings):
    settings.DELIVERY_LEASE_SECONDS = 120
    ids = _due_rows(3, world)
    before = timezone.now()
    claimed = deliveries_claim(limit=2)
    assert [d.pk for d in claimed] == ids[:2]
    for row in Delivery.objects.filter(pk__in=ids[:2]):
        assert (row.state, row.attempts) == (State.SENDING, 1)
        assert before + timedelta(seconds=119) < row.claimed_until
    assert [d.pk for d in deliveries_claim(limit=5)] == ids[2:]
    assert deliveries_claim(limit=5) == []


def test_a_row_whose_lease_ran_out_is_claimed_again(world):
    (pk,) = _due_rows(1, world)
    deliveries_claim(limit=1)
    assert deliveries_claim(limit=1) == []
    Delivery.objects.filter(pk=pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    (again,) = deliveries_claim(limit=1)
    assert (again.pk, again.attempts) == (pk, 2)


def test_a_worker_that_lost_its_lease_records_nothing_and_the_resend_keeps_its_message_id(world):
    (pk,) = _due_rows(1, world)
    stale = deliveries_claim(limit=1)  # a worker that stalls past its lease
    Delivery.objects.filter(pk=pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    fresh = deliveries_claim(limit=1)  # another worker takes the row over

    notify._deliver(stale)  # the stalled worker wakes up and sends
    row = Delivery.objects.get(pk=pk)
    assert (row.state, row.attempts) == (State.SENDING, 2)  # the new holder's claim stands

    notify._deliver(fresh)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.SENT, 2)
    # At least once: two sends, recognisable as one message by the receiver.
    assert len(mail.outbox) == 2
    assert {m.extra_headers["Message-ID"] for m in mail.outbox} == {row.message_id}


def test_a_row_whose_workers_keep_dying_fails_after_the_last_attempt(world, settings):
    (pk,) = _due_rows(1, world)
    Delivery.objects.filter(pk=pk).update(
        state=State.SENDING,
        attempts=len(settings.DELIVERY_RETRY_SCHEDULE_SECONDS),
        claimed_until=timezone.now() - timedelta(seconds=1),
    )
    deliveries_dispatch()
    row = Delivery.objects.get(pk=pk)
    assert row.state == State.FAILED
    assert "worker stopped" in row.last_error
    assert mail.outbox == []


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_claimer_skips_rows_another_holds_locked_instead_of_waiting(world):
    ids = _due_rows(10, world)
    locked = threading.Event()
    release = threading.Event()
    held: list[int] = []

    def hold_first_five() -> None:
        try:
            with transaction.atomic():
                rows = (
                    Delivery.objects.filter(pk__in=ids)
                    .order_by("id")
                    .select_for_update()
                    .values_list("pk", flat=True)[:5]
                )
                held.extend(rows)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_first_five)
    holder.start()
    try:
        assert locked.wait(10)
        claimed = [d.pk for d in deliveries_claim(limit=10)]  # would block without SKIP LOCKED
    finally:
        release.set()
        holder.join(10)
    assert held == ids[:5]
    assert claimed == ids[5:]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_take_disjoint_sets_and_miss_nothing(world):
    ids = _due_rows(120, world)
    start = threading.Barrier(4)
    claims: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def claimer(mine: list[int]) -> None:
        try:
            start.wait(10)
            while batch := deliveries_claim(limit=7):
                mine.extend(d.pk for d in batch)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=(claims[i],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    everything = [pk for mine in claims for pk in mine]
    assert sorted(everything) == ids  # each row claimed once, none missed
    assert sum(1 for mine in claims if mine) >= 2, "the claimers did not share the work"


# --- Outcomes over real SMTP.


def test_an_address_refused_for_good_fails_at_once_and_flags_the_contact(world, settings):
    with smtp_server(settings) as smtp:
        smtp.refuse.add(world.defender_user.email)
        cause = enqueue(world.submitted(), world.defender)
        deliveries_dispatch()
    row = _emails(cause).get()
    assert (row.state, row.attempts, row.last_status_code) == (State.FAILED, 1, 550)
    assert "User unknown" in row.last_error
    user = User.objects.get(pk=world.defender_user.pk)
    assert user.email_bouncing_at is not None
    assert "550" in user.email_bounce_reason
    flagged = AuditEvent.objects.get(action="user.email_bouncing")
    assert (flagged.actor, flagged.data) == (None, {"user": user.pk})


def test_a_later_accepted_mail_clears_the_bounce_flag(world, settings):
    with smtp_server(settings) as smtp:
        smtp.refuse.add(world.defender_user.email)
        enqueue(world.submitted(), world.defender)
        deliveries_dispatch()
        smtp.refuse.clear()
        cause = enqueue(world.submitted(), world.defender)
        deliveries_dispatch()
        assert [r.to for r in smtp.received] == [world.defender_user.email]
    assert _emails(cause).get().state == State.SENT
    user = User.objects.get(pk=world.defender_user.pk)
    assert (user.email_bouncing_at, user.email_bounce_reason) == (None, "")
    assert AuditEvent.objects.filter(action="user.email_delivered", data={"user": user.pk}).exists()


def test_an_unreachable_mail_server_is_retried_later_with_the_error_kept(world, settings):
    with smtp_server(settings):
        pass  # stopped: nothing listens on its port any more
    cause = enqueue(world.submitted(), world.defender)
    before = timezone.now()
    deliveries_dispatch()
    row = _emails(cause).get()
    assert (row.state, row.attempts) == (State.PENDING, 1)
    assert row.last_error
    wait = (row.next_attempt_at - before).total_seconds()
    assert 5 * 0.85 - 1 <= wait <= 5 * 1.15 + 1
    assert row.pk not in notify.deliveries_due()
    assert User.objects.get(pk=world.defender_user.pk).email_bouncing_at is None


def test_the_last_scheduled_attempt_fails_the_delivery(world, settings):
    with smtp_server(settings):
        pass
    cause = enqueue(world.submitted(), world.defender)
    last = len(settings.DELIVERY_RETRY_SCHEDULE_SECONDS)
    _emails(cause).update(attempts=last - 1)
    deliveries_dispatch()
    row = _emails(cause).get()
    assert (row.state, row.attempts) == (State.FAILED, last)


def test_mail_that_must_be_encrypted_to_a_contact_without_a_key_fails_at_once(world):
    world.defender.requires_encryption = True
    world.defender.save(update_fields=["requires_encryption"])
    cause = enqueue(world.submitted(), world.defender)
    deliveries_dispatch()
    row = _emails(cause).get()
    assert (row.state, row.attempts) == (State.FAILED, 1)
    assert "requires encrypted email" in row.last_error
    assert mail.outbox == []
    # Not a bounce: the address is fine.
    assert User.objects.get(pk=world.defender_user.pk).email_bouncing_at is None


# --- Outcomes over real HTTP.


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def _hook(world, receiver: Receiver, path: str) -> tuple[WebhookEndpoint, AuditEvent]:
    org = OrganizationFactory()
    owner = contact(org, f"admin{path.strip('/')}@org.example")
    hook = endpoint(org, receiver.url(path), by=owner)
    cause = enqueue(world.submitted(), org)
    return hook, cause


def _webhook_row(cause: AuditEvent) -> Delivery:
    return Delivery.objects.get(cause=cause, channel=Channel.WEBHOOK)


def test_a_webhook_that_answers_2xx_is_sent_with_its_stable_id(world, receiver):
    hook, cause = _hook(world, receiver, "/ok")
    deliveries_dispatch()
    row = _webhook_row(cause)
    assert row.state == State.SENT
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == row.webhook_id
    request.verify(hook.secret)


def test_retry_after_longer_than_the_schedule_is_honoured(world, receiver):
    receiver.on("/busy", status=503, headers={"Retry-After": "3600"})
    _, cause = _hook(world, receiver, "/busy")
    before = timezone.now()
    deliveries_dispatch()
    row = _webhook_row(cause)
    assert (row.state, row.last_status_code) == (State.PENDING, 503)
    assert 3599 <= (row.next_attempt_at - before).total_seconds() <= 3610


def test_retry_after_is_capped(world, receiver, settings):
    settings.DELIVERY_RETRY_AFTER_MAX_SECONDS = 600
    receiver.on("/busy", status=429, headers={"Retry-After": "864000"})
    _, cause = _hook(world, receiver, "/busy")
    before = timezone.now()
    deliveries_dispatch()
    row = _webhook_row(cause)
    assert (row.state, row.last_status_code) == (State.PENDING, 429)
    assert 599 <= (row.next_attempt_at - before).total_seconds() <= 610


def test_http_410_fails_the_delivery_and_disables_the_endpoint_once(world, receiver):
    receiver.on("/gone", status=410)
    hook, cause = _hook(world, receiver, "/gone")
    deliveries_dispatch()
    row = _webhook_row(cause)
    assert (row.state, row.attempts, row.last_status_code) == (State.FAILED, 1, 410)
    hook.refresh_from_db()
    assert hook.disabled_at is not None
    assert "410" in hook.disabled_reason
    (disabled,) = AuditEvent.objects.filter(action="webhook.disabled")
    assert disabled.actor is None

    # A later notification for that organization is not even tried.
    cause = enqueue(world.submitted(), hook.organization)
    assert not Delivery.objects.filter(cause=cause, channel=Channel.WEBHOOK).exists()
    assert len(receiver.requests) == 1


def test_a_row_for_an_endpoint_disabled_after_enqueueing_fails_without_a_request(world, receiver):
    hook, cause = _hook(world, receiver, "/hook")
    WebhookEndpoint.objects.filter(pk=hook.pk).update(
        disabled_at=timezone.now(), disabled_reason="replaced"
    )
    deliveries_dispatch()
    row = _webhook_row(cause)
    assert row.state == State.FAILED
    assert "disabled (replaced)" in row.last_error
    assert receiver.requests == []


def test_one_failing_endpoint_does_not_hold_up_the_others(world, receiver):
    receiver.on("/down", status=500)
    _, failing = _hook(world, receiver, "/down")
    _, fine = _hook(world, receiver, "/fine")
    deliveries_dispatch()
    assert _webhook_row(failing).state == State.PENDING
    assert _webhook_row(fine).state == State.SENT


@pytest.mark.django_db(transaction=True)
def test_a_batch_slower_than_its_lease_keeps_its_claim_while_it_is_sent(world, settings):
    settings.DELIVERY_LEASE_SECONDS = 1
    settings.WEBHOOK_TIMEOUT_SECONDS = 3
    settings.WEBHOOK_DEADLINE_SECONDS = 3
    with Receiver() as slow:
        slow.on("/slow", hang=True)
        _, cause = _hook(world, slow, "/slow")
        sending = threading.Thread(target=deliveries_dispatch)
        sending.start()
        try:
            slow.wait_for(1)
            stolen = []
            for _ in range(4):  # two leases and more, while the receiver keeps silent
                threading.Event().wait(0.6)
                stolen += deliveries_claim(limit=10)
        finally:
            sending.join(30)
    assert stolen == []
    row = _webhook_row(cause)
    assert (row.state, row.attempts, row.claimed_until) == (State.PENDING, 1, None)
    assert len(slow.requests) == 1


# --- Each success is recorded as it happens, so a crash mid-batch resends almost nothing.


def test_a_success_is_recorded_before_the_rest_of_its_batch_is_sent(transactional_db, world):
    ids = _due_rows(3, world)
    seen: dict[str, object] = {}

    class Channel:
        """Takes the first delivery, then looks at the database before going on, as a worker
        about to be killed would leave it."""

        @staticmethod
        def send_many(rows, on_sent=None):
            first, *rest = rows
            on_sent(first.pk)
            deadline = timezone.now() + timedelta(seconds=10)
            while timezone.now() < deadline:
                states = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "state"))
                if states[first.pk] == State.SENT:
                    break
            seen["states"] = states
            return {first.pk: None, **{row.pk: DeliveryFailed("HTTP 503") for row in rest}}

    assert not connection.in_atomic_block
    original = notify._channel
    notify._channel = lambda name: Channel
    try:
        sent = deliveries_dispatch(batch_size=10)
    finally:
        notify._channel = original

    # Mid-batch, the first was SENT already and the others still held by this worker.
    assert seen["states"] == {ids[0]: State.SENT, ids[1]: State.SENDING, ids[2]: State.SENDING}
    assert sent == 1
    rows = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "state"))
    assert rows == {ids[0]: State.SENT, ids[1]: State.PENDING, ids[2]: State.PENDING}
