"""The webhook channel against a real HTTP receiver on loopback, which verifies each request
with the standardwebhooks library as a receiver would."""

from __future__ import annotations

import json
import tracemalloc
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.test import override_settings
from django.utils import timezone
from standardwebhooks.webhooks import WebhookVerificationError

from disclosure.models import AuditEvent, Delivery, Finding, WebhookEndpoint
from disclosure.services.channels import DeliveryFailed, webhook
from disclosure.services.channels.webhook import retry_after_seconds
from disclosure.services.notify import deliveries_dispatch
from disclosure.services.webhooks import endpoint_disable, endpoint_rotate_secret
from tests.disclosure.webhooks.conftest import add_endpoint, delivery_for, loaded
from tests.webhook_receiver import Receiver

SHORT = override_settings(WEBHOOK_TIMEOUT_SECONDS=0.5, WEBHOOK_DEADLINE_SECONDS=1.5)


def _send(delivery: Delivery) -> DeliveryFailed | None:
    try:
        webhook.send(delivery)
    except DeliveryFailed as failure:
        return failure
    return None


# --- Signed, thin, and verifiable.


def test_a_delivery_arrives_signed_and_verifies_with_the_endpoint_secret(
    world, admin, finding, receiver
):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url("/hook"))
    delivery = delivery_for(endpoint, finding)

    assert _send(delivery) is None

    [request] = receiver.requests
    assert request.path == "/hook"
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert request.headers["Content-Type"] == "application/json"
    body = request.verify(secret)
    assert body["type"] == "finding.notified"
    assert body["data"]["reference"] == finding.reference
    assert body["data"]["tlp"] == "TLP:AMBER"
    assert body["data"]["state"] == "embargoed"
    assert body["data"]["organization"] == "grid-isac"
    assert body["data"]["links"]["html"].endswith(f"/findings/{finding.reference}/")
    assert body["data"]["links"]["api"].endswith(f"/api/findings/{finding.reference}/")


def test_a_tampered_body_or_another_secret_does_not_verify(world, admin, finding, receiver):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url())
    _send(delivery_for(endpoint, finding))
    [request] = receiver.requests
    with pytest.raises(WebhookVerificationError):
        webhook.Webhook(secret).verify(request.body.replace(b"AMBER", b"CLEAR"), request.headers)
    _, other_secret = add_endpoint(admin, world.defender, receiver.url("/other"))
    with pytest.raises(WebhookVerificationError):
        request.verify(other_secret)


def test_a_retry_carries_the_same_webhook_id(world, admin, finding, receiver):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url())
    delivery = delivery_for(endpoint, finding)
    _send(delivery)
    _send(loaded(delivery.pk))
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.webhook_id
    assert second.verify(secret) == first.verify(secret)


def test_the_payload_carries_no_embargoed_content(world, admin, finding, receiver):
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
    _send(delivery_for(endpoint, finding))
    [request] = receiver.requests
    body = request.body.decode()
    for name in Finding.EMBARGOED_FIELDS:
        value = getattr(finding, name)
        assert value, f"the factory finding should have embargoed content in {name}"
        for part in value if isinstance(value, list) else [value]:
            text = part.isoformat() if hasattr(part, "isoformat") else str(part)
            assert text not in body, f"{name} leaked into the webhook"
    assert finding.title not in body
    assert finding.summary not in body
    data = json.loads(body)["data"]
    assert set(data) == {"reference", "tlp", "state", "embargo_ends_at", "organization", "links"}


def test_a_released_finding_links_to_its_advisory(world, admin, finding, receiver):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url())
    _send(delivery_for(endpoint, finding, event=Delivery.Event.RELEASED))
    data = receiver.requests[0].verify(secret)["data"]
    assert data["links"]["html"].endswith(f"/advisories/{finding.reference}/")
    assert data["links"]["api"].endswith(f"/api/advisories/{finding.reference}/")


# --- Rotation.


def test_during_the_overlap_both_the_old_and_the_new_secret_verify(world, admin, finding, receiver):
    endpoint, old = add_endpoint(admin, world.defender, receiver.url())
    endpoint, new = endpoint_rotate_secret(actor=admin, endpoint=endpoint, overlap_hours=24)
    assert new != old

    _send(delivery_for(endpoint, finding))

    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert request.verify(old)["data"]["reference"] == finding.reference  # not yet switched
    assert request.verify(new)["data"]["reference"] == finding.reference  # switched


def test_after_the_overlap_only_the_new_secret_verifies(world, admin, finding, receiver):
    endpoint, old = add_endpoint(admin, world.defender, receiver.url())
    endpoint, new = endpoint_rotate_secret(actor=admin, endpoint=endpoint, overlap_hours=1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    endpoint.refresh_from_db()

    _send(delivery_for(endpoint, finding))

    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    request.verify(new)
    with pytest.raises(WebhookVerificationError):
        request.verify(old)


def test_a_rotation_without_overlap_voids_the_old_secret_at_once(world, admin, finding, receiver):
    endpoint, old = add_endpoint(admin, world.defender, receiver.url())
    endpoint, new = endpoint_rotate_secret(actor=admin, endpoint=endpoint, overlap_hours=0)
    _send(delivery_for(endpoint, finding))
    [request] = receiver.requests
    request.verify(new)
    with pytest.raises(WebhookVerificationError):
        request.verify(old)


# --- Answers: success, refusals, bad receivers.


def test_a_20_mb_answer_is_read_only_up_to_the_cap_and_counts(world, admin, finding, receiver):
    receiver.on("/big", status=200, body_size=20 * 1024 * 1024)
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/big"))
    delivery = delivery_for(endpoint, finding)
    tracemalloc.start()
    try:
        failure = _send(delivery)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert failure is None
    assert peak < 2 * 1024 * 1024, f"{peak} bytes allocated for a capped read"


def test_a_large_error_answer_is_capped_in_the_error(world, admin, finding, receiver):
    receiver.on("/big-error", status=500, body_size=20 * 1024 * 1024)
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/big-error"))
    failure = _send(delivery_for(endpoint, finding))
    assert failure is not None and not failure.permanent
    assert failure.status_code == 500
    assert len(str(failure)) < 400


@SHORT
def test_a_receiver_that_never_answers_is_a_temporary_failure(world, admin, finding, receiver):
    receiver.on("/silent", hang=True)
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/silent"))
    failure = _send(delivery_for(endpoint, finding))
    assert failure is not None
    assert not failure.permanent
    assert failure.status_code is None
    assert "No answer within 0.5 s" in str(failure)


@override_settings(WEBHOOK_TIMEOUT_SECONDS=1, WEBHOOK_DEADLINE_SECONDS=1.5)
def test_a_receiver_trickling_its_answer_is_cut_at_the_deadline(world, admin, finding, receiver):
    # A byte every 0.2 s never lets the 1 s read timeout expire; the total deadline does.
    receiver.on("/trickle", trickle=0.2)
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/trickle"))
    failure = _send(delivery_for(endpoint, finding))
    assert failure is not None and not failure.permanent
    assert "No complete answer within 1.5 s" in str(failure)


def test_410_gone_is_a_permanent_failure(world, admin, finding, receiver):
    receiver.on("/gone", status=410, body=b"unsubscribed")
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/gone"))
    failure = _send(delivery_for(endpoint, finding))
    assert failure is not None
    assert (failure.permanent, failure.status_code) == (True, 410)
    assert "unsubscribed" in str(failure)


def test_the_dispatcher_disables_an_endpoint_that_answers_410(world, admin, finding, receiver):
    receiver.on("/gone", status=410)
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/gone"))
    delivery = delivery_for(endpoint, finding)

    deliveries_dispatch(budget=10)

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert (delivery.state, delivery.last_status_code) == (Delivery.State.FAILED, 410)
    assert not endpoint.is_active
    assert "410" in endpoint.disabled_reason
    event = AuditEvent.objects.get(action="webhook.disabled")
    assert event.actor is None
    assert event.data["endpoint"] == endpoint.pk


@pytest.mark.parametrize(
    ("retry_after", "expected"), [("120", 120.0), ("in a while", None), (None, None)]
)
def test_429_is_temporary_and_carries_retry_after(
    world, admin, finding, receiver, retry_after, expected
):
    headers = {"Retry-After": retry_after} if retry_after else {}
    receiver.on("/busy", status=429, headers=headers)
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/busy"))
    failure = _send(delivery_for(endpoint, finding))
    assert failure is not None and not failure.permanent
    assert (failure.status_code, failure.retry_after) == (429, expected)


def test_retry_after_as_an_http_date():
    now = timezone.now().replace(microsecond=0)
    assert (
        retry_after_seconds(format_datetime(now + timedelta(minutes=5), usegmt=True), now=now)
        == 300
    )
    assert (
        retry_after_seconds(format_datetime(now - timedelta(minutes=5), usegmt=True), now=now) == 0
    )


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_other_errors_are_temporary_with_their_status(world, admin, finding, receiver, status):
    receiver.on("/error", status=status)
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/error"))
    failure = _send(delivery_for(endpoint, finding))
    assert failure is not None
    assert (failure.permanent, failure.status_code) == (False, status)


def test_a_redirect_is_not_followed(world, admin, finding, receiver):
    receiver.on("/moved", status=302, headers={"Location": "http://169.254.169.254/"})
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/moved"))
    failure = _send(delivery_for(endpoint, finding))
    assert failure is not None and failure.status_code == 302
    assert "redirects are not followed" in str(failure)
    assert [r.path for r in receiver.requests] == ["/moved"]


def test_a_refused_connection_is_a_temporary_failure(world, admin, finding):
    with Receiver() as gone:
        url = gone.url("/hook")
    endpoint, _ = add_endpoint(admin, world.defender, url)
    failure = _send(delivery_for(endpoint, finding))
    assert failure is not None and not failure.permanent
    assert "could not connect" in str(failure)


def test_a_disabled_endpoint_fails_permanently_without_a_request(world, admin, finding, receiver):
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
    delivery = delivery_for(endpoint, finding)
    endpoint_disable(actor=admin, endpoint=endpoint, reason="maintenance")
    failure = _send(loaded(delivery.pk))
    assert failure is not None and failure.permanent
    assert "disabled (maintenance)" in str(failure)
    assert receiver.requests == []


# --- SSRF at send time: the address is checked again, and the checked one is used.


def test_the_sender_connects_to_the_checked_address_with_the_original_host(
    world, admin, finding, receiver, dns
):
    dns["hooks.example"] = ["127.0.0.1"]
    endpoint, secret = add_endpoint(
        admin, world.defender, receiver.url("/hook", host="hooks.example")
    )
    assert _send(delivery_for(endpoint, finding)) is None
    [request] = receiver.requests
    assert request.headers["Host"] == f"hooks.example:{receiver.port}"
    request.verify(secret)


def test_a_name_now_resolving_to_a_private_address_is_refused_at_send_time(
    world, admin, finding, receiver, dns
):
    dns["hooks.example"] = ["127.0.0.1"]
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/hook", host="hooks.example"))
    dns["hooks.example"] = ["10.0.0.7"]  # DNS rebinding after the check at creation
    failure = _send(delivery_for(endpoint, finding))
    assert failure is not None and failure.permanent
    assert "resolves to 10.0.0.7" in str(failure)
    assert receiver.requests == []


def test_an_address_no_longer_allowed_is_refused_at_send_time(world, admin, finding, receiver):
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
    with override_settings(WEBHOOK_ALLOWED_NETWORKS=[]):
        failure = _send(delivery_for(endpoint, finding))
    assert failure is not None and failure.permanent
    assert "loopback" in str(failure)
    assert receiver.requests == []


def test_tls_checks_the_certificate_against_the_url_host(world, admin, finding, dns, tls_files):
    dns["hooks.example"] = ["127.0.0.1"]
    dns["other.example"] = ["127.0.0.1"]
    with (
        Receiver(tls=(str(tls_files["leaf"]), str(tls_files["key"]))) as tls,
        override_settings(WEBHOOK_CA_BUNDLE=str(tls_files["ca"])),
    ):
        good, secret = add_endpoint(admin, world.defender, tls.url("/hook", host="hooks.example"))
        wrong, _ = add_endpoint(admin, world.defender, tls.url("/hook", host="other.example"))

        assert _send(delivery_for(good, finding)) is None
        failure = _send(delivery_for(wrong, finding))

        [request] = tls.requests
        request.verify(secret)
        assert request.headers["Host"] == f"hooks.example:{tls.port}"
        assert failure is not None and not failure.permanent
        assert "TLS failed" in str(failure) and "other.example" in str(failure)


# --- Batches: concurrency, pooled connections, one slow endpoint.


def test_a_batch_reuses_pooled_connections(world, admin, finding, receiver):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url())
    rows = [delivery_for(endpoint, finding) for _ in range(60)]

    results = webhook.send_many(rows)

    assert results == {row.pk: None for row in rows}
    requests = receiver.requests
    assert sorted(r.headers["webhook-id"] for r in requests) == sorted(r.webhook_id for r in rows)
    for request in requests:
        request.verify(secret)
    connections = {request.client for request in requests}
    assert len(connections) <= 4  # WEBHOOK_CONCURRENCY_PER_ENDPOINT


@SHORT
def test_one_slow_endpoint_does_not_hold_up_the_others(world, admin, finding, receiver):
    receiver.on("/slow", hang=True)
    slow, _ = add_endpoint(admin, world.defender, receiver.url("/slow"))
    fast = [add_endpoint(admin, world.defender, receiver.url(f"/fast{i}"))[0] for i in range(5)]
    slow_rows = [delivery_for(slow, finding) for _ in range(30)]
    fast_rows = [delivery_for(endpoint, finding) for endpoint in fast for _ in range(10)]

    results = webhook.send_many([*slow_rows, *fast_rows])

    assert all(results[row.pk] is None for row in fast_rows)
    failures = [results[row.pk] for row in slow_rows]
    assert all(f is not None and not f.permanent for f in failures)
    # One probe reached the silent receiver and timed out; the rest were not tried.
    assert [r.path for r in receiver.requests].count("/slow") == 1
    assert sum("Not tried" in str(f) for f in failures) == 29


def test_a_retry_after_stops_the_rest_of_the_batch_for_that_endpoint(
    world, admin, finding, receiver
):
    receiver.on("/busy", status=429, headers={"Retry-After": "60"})
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/busy"))
    rows = [delivery_for(endpoint, finding) for _ in range(20)]
    results = webhook.send_many(rows)
    assert len(receiver.requests) == 1
    assert all(f is not None and f.retry_after == 60 for f in results.values())
