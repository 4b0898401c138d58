"""The webhooks page: an organization's admins list, add, rotate, test, disable, enable and
delete endpoints and see their last deliveries; nobody else gets in."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from disclosure.models import Delivery, WebhookEndpoint
from tests.disclosure.webhooks.conftest import add_endpoint, delivery_for

SECRET_RE = re.compile(r"whsec_[A-Za-z0-9+/=]{40,}")


def page(slug: str = "grid-isac") -> str:
    return reverse("organization-webhooks", args=[slug])


def action(endpoint: WebhookEndpoint, name: str) -> str:
    return reverse(f"organization-webhook-{name}", args=[endpoint.organization.slug, endpoint.pk])


def test_the_page_lists_endpoints_and_their_last_deliveries(
    client, world, admin, receiver, finding
):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url("/soc"))
    delivery = delivery_for(endpoint, finding)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.PENDING, attempts=2, last_status_code=503, last_error="HTTP 503 busy"
    )
    client.force_login(admin)
    response = client.get(page())
    assert response.status_code == 200
    html = response.content.decode()
    assert receiver.url("/soc") in html
    assert finding.reference in html
    assert "HTTP 503 busy" in html
    assert secret not in html
    assert "EMBARGOED" not in html


def test_adding_shows_the_secret_once(client, world, admin, receiver):
    client.force_login(admin)
    response = client.post(page(), {"url": receiver.url(), "description": "SOC"})
    assert response.status_code == 200
    [shown] = SECRET_RE.findall(response.content.decode())
    assert WebhookEndpoint.objects.get().secret == shown
    assert shown not in client.get(page()).content.decode()


@override_settings(WEBHOOK_ALLOWED_NETWORKS=[])
def test_a_private_url_is_refused_on_the_form(client, world, admin):
    client.force_login(admin)
    response = client.post(page(), {"url": "http://192.168.0.10/hook"})
    assert response.status_code == 400
    assert "192.168.0.10 is a private address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_rotating_shows_the_new_secret_once(client, world, admin, receiver):
    endpoint, old = add_endpoint(admin, world.defender, receiver.url())
    client.force_login(admin)
    response = client.post(action(endpoint, "rotate"), {"overlap_hours": "6"})
    assert response.status_code == 200
    [shown] = SECRET_RE.findall(response.content.decode())
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.previous_secret) == (shown, old)
    assert "previous secret also signs" in response.content.decode()


def test_the_test_button_pings_and_reports(client, world, admin, receiver):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url())
    client.force_login(admin)
    response = client.post(action(endpoint, "test"), follow=True)
    assert "accepted the ping (HTTP 204)" in response.content.decode()
    receiver.requests[0].verify(secret)


def test_disable_enable_and_delete(client, world, admin, receiver):
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
    client.force_login(admin)
    client.post(action(endpoint, "disable"), {"reason": "holiday"})
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, "holiday")
    assert "holiday" in client.get(page()).content.decode()
    client.post(action(endpoint, "enable"))
    endpoint.refresh_from_db()
    assert endpoint.is_active
    response = client.post(action(endpoint, "delete"), follow=True)
    assert "deleted" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [("defender_user", 403), ("coordinator", 403), ("other_defender_user", 404), ("lab_user", 404)],
)
def test_only_admins_get_in(client, world, admin, receiver, who, status):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url())
    client.force_login(getattr(world, who))
    assert client.get(page()).status_code == status
    for name in ("rotate", "test", "disable", "enable", "delete"):
        assert client.post(action(endpoint, name)).status_code == status
    assert client.post(page(), {"url": receiver.url("/mine")}).status_code == status
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.is_active) == (secret, True)
    assert WebhookEndpoint.objects.count() == 1
    assert receiver.requests == []


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    response = client.get(page())
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("rows", [1, 50])
def test_the_page_costs_the_same_for_1_and_50_endpoints(
    client, world, admin, receiver, finding, django_assert_max_num_queries, rows
):
    for _ in range(rows):
        endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
        delivery_for(endpoint, finding)
        delivery_for(endpoint, finding)
    client.force_login(admin)
    with django_assert_max_num_queries(8):
        response = client.get(page())
    assert response.content.decode().count(finding.reference) == 2 * rows
