"""The webhooks API: an organization's admins manage its endpoints; nobody else learns more
than that the organization exists."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from disclosure.models import AuditEvent, WebhookEndpoint
from tests.disclosure.webhooks.conftest import add_endpoint, delivery_for
from tests.factories import MembershipFactory, OrganizationFactory

BASE = "/api/organizations/grid-isac/webhooks/"


def client_for(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def test_an_admin_adds_an_endpoint_and_sees_the_secret_only_then(world, admin, receiver):
    client = client_for(admin)
    response = client.post(BASE, {"url": receiver.url(), "description": "SOC"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["is_active"] is True
    assert created["created_by"] == admin.email

    listed = client.get(BASE).json()
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    one = client.get(f"{BASE}{created['id']}/").json()
    assert "secret" not in one and created["secret"] not in str(one)


@override_settings(WEBHOOK_ALLOWED_NETWORKS=[])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.1/hook", "private address"),
        ("http://169.254.169.254/", "cloud-metadata"),
        ("http://localhost/", "loopback"),
        ("nonsense", "Only http"),
        ("https://user:pw@93.184.215.14/", "user name or password"),
    ],
)
def test_a_url_webhooks_may_not_reach_is_a_400_naming_the_field(world, admin, url, message):
    response = client_for(admin).post(BASE, {"url": url}, format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]["url"]
    assert not WebhookEndpoint.objects.exists()


@override_settings(WEBHOOK_ALLOW_HTTP=False)
def test_http_is_a_400_when_https_is_required(world, admin):
    response = client_for(admin).post(BASE, {"url": "http://93.184.215.14/"}, format="json")
    assert response.status_code == 400
    assert "Only https://" in response.json()["detail"]["url"]


def test_unknown_fields_and_missing_url_are_400s(world, admin, receiver):
    client = client_for(admin)
    assert client.post(BASE, {}, format="json").status_code == 400
    response = client.post(BASE, {"url": receiver.url(), "secret": "mine"}, format="json")
    assert response.status_code == 400
    assert "secret" in response.json()["detail"]


def test_the_whole_life_of_an_endpoint(world, admin, receiver):
    client = client_for(admin)
    created = client.post(BASE, {"url": receiver.url("/a")}, format="json").json()
    url = f"{BASE}{created['id']}/"

    changed = client.patch(url, {"url": receiver.url("/b"), "description": "new"}, format="json")
    assert (changed.json()["url"], changed.json()["description"]) == (receiver.url("/b"), "new")

    rotated = client.post(f"{url}rotate-secret/", {"overlap_hours": 2}, format="json").json()
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"] is not None

    tested = client.post(f"{url}test/").json()
    assert tested == {"ok": True, "status_code": 204, "detail": tested["detail"]}
    [ping] = receiver.requests
    assert ping.path == "/b"
    ping.verify(created["secret"])  # the old secret, still in its overlap
    ping.verify(rotated["secret"])

    disabled = client.post(f"{url}disable/", {"reason": "maintenance"}, format="json").json()
    assert (disabled["is_active"], disabled["disabled_reason"]) == (False, "maintenance")
    assert client.post(f"{url}enable/").json()["is_active"] is True

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    actions = list(
        AuditEvent.objects.filter(action__startswith="webhook.").values_list("action", flat=True)
    )
    assert actions == [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.tested",
        "webhook.disabled",
        "webhook.enabled",
        "webhook.deleted",
    ]


def test_a_bad_overlap_is_a_400(world, admin, receiver):
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
    response = client_for(admin).post(
        f"{BASE}{endpoint.pk}/rotate-secret/", {"overlap_hours": 1000}, format="json"
    )
    assert response.status_code == 400
    assert "overlap_hours" in response.json()["detail"]


def test_a_failing_receiver_is_reported_by_the_test(world, admin, receiver):
    receiver.on("/down", status=503, headers={"Retry-After": "30"})
    endpoint, _ = add_endpoint(admin, world.defender, receiver.url("/down"))
    result = client_for(admin).post(f"{BASE}{endpoint.pk}/test/").json()
    assert (result["ok"], result["status_code"]) == (False, 503)
    assert "HTTP 503" in result["detail"]


# --- Who may: every route, every kind of caller.

ROUTES = [
    ("get", ""),
    ("post", ""),
    ("get", "{id}/"),
    ("patch", "{id}/"),
    ("delete", "{id}/"),
    ("post", "{id}/rotate-secret/"),
    ("post", "{id}/test/"),
    ("post", "{id}/enable/"),
    ("post", "{id}/disable/"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),  # not logged in
        ("defender_user", 403),  # a member, not an admin
        ("coordinator", 403),  # sees the organization, does not manage it
        ("other_defender_user", 404),  # an outsider learns nothing
        ("lab_user", 404),
        ("other_admin", 404),  # an admin of another organization
    ],
)
def test_only_admins_reach_the_endpoints(world, admin, receiver, method, route, who, status):
    endpoint, secret = add_endpoint(admin, world.defender, receiver.url())
    if who == "other_admin":
        user = world.other_defender_user
        user.memberships.update(role="admin")
    else:
        user = getattr(world, who) if who else None
    path = BASE + route.format(id=endpoint.pk)
    response = getattr(client_for(user), method)(path, {"url": receiver.url("/x")}, format="json")
    assert response.status_code == status
    assert secret not in response.content.decode()
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.secret, endpoint.is_active) == (receiver.url(), secret, True)
    assert WebhookEndpoint.objects.count() == 1
    assert receiver.requests == []


def test_an_endpoint_of_another_organization_is_a_404(world, admin, receiver):
    theirs = OrganizationFactory(slug="theirs")
    their_admin = MembershipFactory(organization=theirs, role="admin").user
    endpoint, _ = add_endpoint(their_admin, theirs, receiver.url())
    client = client_for(admin)
    for path in (f"{BASE}{endpoint.pk}/", f"{BASE}{endpoint.pk}/test/"):
        assert client.post(path).status_code in (404, 405)
        assert client.get(f"{BASE}{endpoint.pk}/").status_code == 404
    assert receiver.requests == []


def test_an_unknown_organization_is_a_404(world, admin):
    assert client_for(admin).get("/api/organizations/nope/webhooks/").status_code == 404


@pytest.mark.parametrize("rows", [1, 50])
def test_the_list_costs_the_same_for_1_and_50_endpoints(
    world, admin, receiver, finding, django_assert_max_num_queries, rows
):
    for _ in range(rows):
        endpoint, _ = add_endpoint(admin, world.defender, receiver.url())
        delivery_for(endpoint, finding)
    client = client_for(admin)
    with django_assert_max_num_queries(5):
        response = client.get(BASE)
    assert len(response.json()) == rows
