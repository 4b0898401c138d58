"""Managing calendar feeds: a defender organization's admins create (the URL shown once), list
and revoke them, by the services, the API and the page; nobody else gets in."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.tokens import token_hash
from disclosure.errors import Conflict, NotAllowed
from disclosure.models import AuditEvent, CalendarFeed
from disclosure.services import calendar as service
from tests.factories import MembershipFactory, OrganizationFactory

BASE = "/api/organizations/grid-isac/calendar-feeds/"
URL_RE = re.compile(r"http://127\.0\.0\.1:8000/calendar/cal_[A-Za-z0-9_-]{40,}\.ics")


def api_for(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


# --- The services.


def test_creating_stores_only_a_hash_and_audits_without_the_token(world, admin):
    feed, url = service.calendar_feed_create(actor=admin, organization=world.defender)

    assert URL_RE.fullmatch(url)
    raw = path_of(url).removeprefix("/calendar/").removesuffix(".ics")
    feed.refresh_from_db()
    assert feed.token_hash == token_hash(raw)
    assert raw.startswith(feed.prefix) and len(feed.prefix) == 10
    assert (feed.organization, feed.created_by, feed.revoked_at) == (world.defender, admin, None)
    event = AuditEvent.objects.get(action="calendar_feed.created")
    assert event.actor == admin
    assert event.data == {"organization": "grid-isac", "feed": feed.pk, "prefix": feed.prefix}
    assert raw not in str(event.data)


def test_an_organization_may_have_several_feeds(world, admin):
    urls = {service.calendar_feed_create(actor=admin, organization=world.defender)[1]}
    urls.add(service.calendar_feed_create(actor=admin, organization=world.defender)[1])
    assert len(urls) == 2
    for url in urls:
        assert Client().get(path_of(url)).status_code == 200


def test_revoking_is_audited_once(world, admin):
    feed, url = service.calendar_feed_create(actor=admin, organization=world.defender)
    service.calendar_feed_revoke(actor=admin, feed=feed)
    service.calendar_feed_revoke(actor=admin, feed=feed)

    feed.refresh_from_db()
    assert feed.revoked_at is not None
    assert AuditEvent.objects.filter(action="calendar_feed.revoked").count() == 1
    assert Client().get(path_of(url)).status_code == 404


@pytest.mark.parametrize("who", ["defender_user", "coordinator", "other_defender_user", "lab_user"])
def test_only_the_admins_may_create_or_revoke(world, admin, who):
    user = getattr(world, who)
    with pytest.raises(NotAllowed):
        service.calendar_feed_create(actor=user, organization=world.defender)
    feed, _ = service.calendar_feed_create(actor=admin, organization=world.defender)
    with pytest.raises(NotAllowed):
        service.calendar_feed_revoke(actor=user, feed=feed)
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1


def test_an_organization_that_is_not_a_defender_has_no_feeds(world):
    world.lab_user.memberships.update(role=Membership.Role.ADMIN)
    with pytest.raises(NotAllowed):
        service.calendar_feed_create(actor=world.lab_user, organization=world.lab)
    assert not CalendarFeed.objects.exists()


def test_the_number_of_live_feeds_is_capped(world, admin, monkeypatch):
    monkeypatch.setattr(service, "FEEDS_MAX", 2)
    first, _ = service.calendar_feed_create(actor=admin, organization=world.defender)
    service.calendar_feed_create(actor=admin, organization=world.defender)
    with pytest.raises(Conflict, match="revoke one"):
        service.calendar_feed_create(actor=admin, organization=world.defender)
    service.calendar_feed_revoke(actor=admin, feed=first)
    service.calendar_feed_create(actor=admin, organization=world.defender)
    assert CalendarFeed.objects.count() == 3


# --- The API.


def test_an_admin_creates_lists_and_revokes_by_the_api(world, admin):
    client = api_for(admin)
    created = client.post(BASE)
    assert created.status_code == 201, created.content
    body = created.json()
    assert URL_RE.fullmatch(body["url"])
    assert body["is_active"] is True and body["created_by"] == admin.email

    listed = client.get(BASE).json()
    assert [f["id"] for f in listed] == [body["id"]]
    assert listed[0]["prefix"] == body["prefix"]
    assert {"created_at", "last_used_at", "revoked_at"} <= set(listed[0])
    assert "url" not in listed[0] and body["url"] not in str(listed)
    one = client.get(f"{BASE}{body['id']}/").json()
    assert "url" not in one

    assert Client().get(path_of(body["url"])).status_code == 200
    assert client.get(BASE).json()[0]["last_used_at"] is not None

    assert client.delete(f"{BASE}{body['id']}/").status_code == 204
    assert Client().get(path_of(body["url"])).status_code == 404
    after = client.get(BASE).json()[0]
    assert after["revoked_at"] is not None and after["is_active"] is False
    assert client.delete(f"{BASE}{body['id']}/").status_code == 204  # again: nothing changes


def test_a_feed_whose_creator_left_is_listed_as_inactive(world, admin):
    service.calendar_feed_create(actor=admin, organization=world.defender)
    other_admin = MembershipFactory(organization=world.defender, role="admin").user
    Membership.objects.filter(user=admin).delete()
    [listed] = api_for(other_admin).get(BASE).json()
    assert (listed["is_active"], listed["revoked_at"]) == (False, None)


ROUTES = [("get", ""), ("post", ""), ("get", "{id}/"), ("delete", "{id}/")]


@pytest.mark.parametrize(("method", "route"), ROUTES)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),  # not logged in
        ("defender_user", 403),  # a member, not an admin
        ("coordinator", 403),  # sees the organization, does not manage its feeds
        ("other_defender_user", 404),  # an outsider learns nothing
        ("lab_user", 404),
        ("other_admin", 404),  # an admin of another organization
    ],
)
def test_only_admins_reach_the_api(world, admin, method, route, who, status):
    feed, url = service.calendar_feed_create(actor=admin, organization=world.defender)
    if who == "other_admin":
        user = world.other_defender_user
        user.memberships.update(role=Membership.Role.ADMIN)
    else:
        user = getattr(world, who) if who else None

    response = getattr(api_for(user), method)(BASE + route.format(id=feed.pk))

    assert response.status_code == status
    assert feed.prefix not in response.content.decode()
    assert CalendarFeed.objects.count() == 1
    assert CalendarFeed.objects.get().revoked_at is None
    assert Client().get(path_of(url)).status_code == 200


def test_a_feed_of_another_organization_is_a_404(world, admin):
    theirs = OrganizationFactory(slug="theirs")
    their_admin = MembershipFactory(organization=theirs, role="admin").user
    feed, url = service.calendar_feed_create(actor=their_admin, organization=theirs)
    client = api_for(admin)
    assert client.get(f"{BASE}{feed.pk}/").status_code == 404
    assert client.delete(f"{BASE}{feed.pk}/").status_code == 404
    assert Client().get(path_of(url)).status_code == 200


def test_a_lab_admin_is_refused_for_the_lab(world):
    world.lab_user.memberships.update(role=Membership.Role.ADMIN)
    response = api_for(world.lab_user).post("/api/organizations/example-lab/calendar-feeds/")
    assert response.status_code == 403


def test_the_list_costs_the_same_for_1_and_20_feeds(world, admin, django_assert_max_num_queries):
    client = api_for(admin)
    service.calendar_feed_create(actor=admin, organization=world.defender)
    with django_assert_max_num_queries(8) as one:
        assert client.get(BASE).status_code == 200
    for _ in range(19):
        service.calendar_feed_create(actor=admin, organization=world.defender)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(client.get(BASE).json()) == 20


# --- The page.


def page(slug: str = "grid-isac") -> str:
    return reverse("organization-calendar", args=[slug])


def test_the_page_creates_a_feed_and_shows_its_url_once(client, world, admin):
    client.force_login(admin)
    response = client.post(page())
    assert response.status_code == 200
    [shown] = URL_RE.findall(response.content.decode())
    feed = CalendarFeed.objects.get()
    assert shown.split("/calendar/")[1].startswith(feed.prefix)

    listed = client.get(page()).content.decode()
    assert shown not in listed
    assert f"{feed.prefix}…" in listed
    assert Client().get(path_of(shown)).status_code == 200


def test_the_page_revokes_a_feed(client, world, admin):
    feed, url = service.calendar_feed_create(actor=admin, organization=world.defender)
    client.force_login(admin)
    response = client.post(reverse("organization-calendar-revoke", args=["grid-isac", feed.pk]))
    assert response.status_code == 302
    assert Client().get(path_of(url)).status_code == 404
    assert "Revoked" in client.get(page()).content.decode()


def test_the_organization_page_links_to_the_calendar_page_for_its_admins(client, world, admin):
    client.force_login(admin)
    detail = reverse("organization-detail", args=["grid-isac"])
    assert page() in client.get(detail).content.decode()
    client.force_login(world.coordinator)
    assert page() not in client.get(detail).content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("defender_user", 403),
        ("coordinator", 403),
        ("other_defender_user", 404),
        ("lab_user", 404),
    ],
)
def test_only_admins_reach_the_page(client, world, admin, who, status):
    feed, url = service.calendar_feed_create(actor=admin, organization=world.defender)
    client.force_login(getattr(world, who))
    assert client.get(page()).status_code == status
    assert client.post(page()).status_code == status
    revoke = reverse("organization-calendar-revoke", args=["grid-isac", feed.pk])
    assert client.post(revoke).status_code == status
    assert CalendarFeed.objects.count() == 1
    assert Client().get(path_of(url)).status_code == 200


def test_the_page_asks_an_anonymous_visitor_to_log_in(client, world):
    response = client.get(page())
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
