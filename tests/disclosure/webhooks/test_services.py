"""Managing webhook endpoints: only an organization's admins, every change audited, no secret
ever in the audit trail."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from standardwebhooks import Webhook

from disclosure.errors import NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, WebhookEndpoint
from disclosure.services import webhooks as service
from tests.disclosure.webhooks.conftest import add_endpoint


def _audit(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def test_an_admin_adds_an_endpoint_and_gets_its_secret_once(world, admin, receiver):
    endpoint, secret = service.endpoint_create(
        actor=admin, organization=world.defender, url=receiver.url(), description=" SOC "
    )
    assert secret.startswith("whsec_")
    Webhook(secret)  # a secret the library accepts
    assert (endpoint.secret, endpoint.description, endpoint.created_by) == (secret, "SOC", admin)
    assert endpoint.is_active
    [event] = _audit("webhook.created")
    assert event.actor == admin
    assert event.data["endpoint"] == endpoint.pk
    assert event.data["organization"] == "grid-isac"
    assert secret not in json.dumps(event.data)


def test_secrets_differ_between_endpoints(world, admin, receiver):
    secrets = {add_endpoint(admin, world.defender, receiver.url())[1] for _ in range(5)}
    assert len(secrets) == 5


@pytest.mark.parametrize("who", ["defender_user", "other_defender_user", "coordinator", "lab_user"])
def test_only_the_organizations_admins_manage_endpoints(world, admin, receiver, who):
    actor = getattr(world, who)
    with pytest.raises(NotAllowed):
        service.endpoint_create(actor=actor, organization=world.defender, url=receiver.url())
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
    for action in (
        lambda: service.endpoint_update(actor=actor, endpoint=endpoint, description="x"),
        lambda: service.endpoint_rotate_secret(actor=actor, endpoint=endpoint),
        lambda: service.endpoint_disable(actor=actor, endpoint=endpoint, reason="x"),
        lambda: service.endpoint_enable(actor=actor, endpoint=endpoint),
        lambda: service.endpoint_delete(actor=actor, endpoint=endpoint),
        lambda: service.endpoint_test(actor=actor, endpoint=endpoint),
    ):
        with pytest.raises(NotAllowed):
            action()
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.description == "SOC"
    assert receiver.requests == []


@override_settings(WEBHOOK_ALLOWED_NETWORKS=[])
def test_a_private_url_is_refused_with_nothing_written(world, admin):
    with pytest.raises(ValidationFailed) as caught:
        service.endpoint_create(actor=admin, organization=world.defender, url="http://10.0.0.1/")
    assert "private address" in caught.value.detail["url"]
    assert not WebhookEndpoint.objects.exists()
    assert not _audit("webhook.created")


def test_a_too_long_description_is_refused(world, admin, receiver):
    with pytest.raises(ValidationFailed) as caught:
        service.endpoint_create(
            actor=admin, organization=world.defender, url=receiver.url(), description="x" * 201
        )
    assert "description" in caught.value.detail


def test_changing_the_url_checks_it_again_and_is_audited(world, admin, receiver):
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/a"))
    with pytest.raises(ValidationFailed):
        service.endpoint_update(actor=admin, endpoint=endpoint, url="https://169.254.169.254/")
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url("/a")
    service.endpoint_update(actor=admin, endpoint=endpoint, url=receiver.url("/b"))
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url("/b")
    [event] = _audit("webhook.updated")
    assert event.data["changes"] == {"url": [receiver.url("/a"), receiver.url("/b")]}


def test_rotating_keeps_the_old_secret_for_the_overlap(world, admin, receiver):
    endpoint, old = add_endpoint(admin, world.defender, receiver.url())
    before = timezone.now()
    endpoint, new = service.endpoint_rotate_secret(actor=admin, endpoint=endpoint)
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.previous_secret) == (new, old)
    expires = endpoint.previous_secret_expires_at
    assert before + timedelta(hours=24) <= expires <= timezone.now() + timedelta(hours=24)
    [event] = _audit("webhook.secret_rotated")
    assert event.data["overlap_hours"] == 24
    assert old not in json.dumps(event.data) and new not in json.dumps(event.data)


@override_settings(WEBHOOK_SECRET_OVERLAP_HOURS=2)
def test_the_default_overlap_comes_from_the_settings(world, admin, receiver):
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
    endpoint, _ = service.endpoint_rotate_secret(actor=admin, endpoint=endpoint)
    left = endpoint.previous_secret_expires_at - timezone.now()
    assert timedelta(hours=1, minutes=59) < left <= timedelta(hours=2)


@pytest.mark.parametrize("hours", [-1, 24 * 7 + 1, "24", 1.5, True])
def test_a_bad_overlap_is_refused(world, admin, receiver, hours):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url())
    with pytest.raises(ValidationFailed) as caught:
        service.endpoint_rotate_secret(actor=admin, endpoint=endpoint, overlap_hours=hours)
    assert "overlap_hours" in caught.value.detail
    endpoint.refresh_from_db()
    assert endpoint.secret == secret


def test_the_system_disables_an_endpoint_once(world, admin, receiver):
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
    service.endpoint_disable(actor=None, endpoint=endpoint, reason="HTTP 410 Gone")
    service.endpoint_disable(actor=None, endpoint=endpoint, reason="HTTP 410 Gone")
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason == "HTTP 410 Gone"
    [event] = _audit("webhook.disabled")
    assert event.actor is None and event.data["reason"] == "HTTP 410 Gone"


def test_enabling_checks_the_url_against_the_rules_of_now(world, admin, receiver):
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
    service.endpoint_disable(actor=admin, endpoint=endpoint, reason="paused")
    with override_settings(WEBHOOK_ALLOWED_NETWORKS=[]), pytest.raises(ValidationFailed):
        service.endpoint_enable(actor=admin, endpoint=endpoint)
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    service.endpoint_enable(actor=admin, endpoint=endpoint)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""
    [event] = _audit("webhook.enabled")
    assert event.data["was_disabled_for"] == "paused"


def test_deleting_removes_the_endpoint_and_is_audited(world, admin, receiver):
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
    pk = endpoint.pk
    service.endpoint_delete(actor=admin, endpoint=endpoint)
    assert not WebhookEndpoint.objects.filter(pk=pk).exists()
    [event] = _audit("webhook.deleted")
    assert event.data["endpoint"] == pk


def test_a_test_ping_arrives_signed_and_reports_the_status(world, admin, receiver):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url())
    result = service.endpoint_test(actor=admin, endpoint=endpoint)
    assert (result.ok, result.status_code) == (True, 204)
    [request] = receiver.requests
    body = request.verify(secret)
    assert body["type"] == "ping"
    assert body["data"] == {"organization": "grid-isac", "endpoint": endpoint.pk}
    [event] = _audit("webhook.tested")
    assert event.data["ok"] is True and event.data["status_code"] == 204


def test_a_failed_ping_is_reported_and_changes_nothing(world, admin, receiver):
    receiver.on("/gone", status=410)
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/gone"))
    result = service.endpoint_test(actor=admin, endpoint=endpoint)
    assert (result.ok, result.status_code) == (False, 410)
    assert "410" in result.detail
    endpoint.refresh_from_db()
    assert endpoint.is_active  # only real deliveries disable an endpoint


def test_no_secret_ever_reaches_the_audit_trail(world, admin, receiver):
    endpoint, first = add_endpoint(admin, world.defender, receiver.url())
    endpoint, second = service.endpoint_rotate_secret(actor=admin, endpoint=endpoint)
    endpoint, third = service.endpoint_rotate_secret(actor=admin, endpoint=endpoint)
    service.endpoint_test(actor=admin, endpoint=endpoint)
    service.endpoint_disable(actor=admin, endpoint=endpoint, reason="x")
    service.endpoint_enable(actor=admin, endpoint=endpoint)
    service.endpoint_delete(actor=admin, endpoint=endpoint)
    trail = json.dumps([e.data for e in AuditEvent.objects.filter(action__startswith="webhook.")])
    for secret in (first, second, third):
        assert secret not in trail
        assert secret.removeprefix("whsec_") not in trail
