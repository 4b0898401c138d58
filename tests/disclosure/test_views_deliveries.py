"""The coordinators' deliveries page (/deliveries/) and the in-app inbox page (/inbox/)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from disclosure.models import AuditEvent, Delivery
from tests.factories import OrganizationFactory

from .outbox import contact, enqueue
from .publication import released_factory

Channel = Delivery.Channel
State = Delivery.State
PAGE = "/deliveries/"


def _as(client, user):
    client.force_login(user)
    return client


def _fail(cause) -> Delivery:
    row = Delivery.objects.get(cause=cause, channel=Channel.EMAIL)
    Delivery.objects.filter(pk=row.pk).update(
        state=State.FAILED, attempts=10, last_error="550 5.1.1 User unknown", last_status_code=550
    )
    return row


def _no_inline_code(body: str) -> None:
    lowered = body.lower()
    assert "<script" not in lowered
    assert " style=" not in lowered
    assert "<style" not in lowered


# --- The deliveries page.


def test_the_page_is_named_and_lists_failures_by_default(client, world):
    assert reverse("delivery-failures") == PAGE
    finding = world.submitted()
    failed = _fail(enqueue(finding, world.defender))
    world.defender_user.email_bouncing_at = timezone.now()
    world.defender_user.email_bounce_reason = "550 5.1.1 User unknown"
    world.defender_user.save(update_fields=["email_bouncing_at", "email_bounce_reason"])
    response = _as(client, world.coordinator).get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    _no_inline_code(body)
    assert "550 5.1.1 User unknown" in body
    assert finding.reference in body
    assert reverse("delivery-retry", args=[failed.pk]) in body
    assert body.count("Retry now") == 1  # the pending webhook-less rows are not listed
    assert "Contacts whose mail bounces" in body
    assert body.count(world.defender_user.email) == 2  # the row, and the bouncing list
    assert finding.title not in body
    assert "EMBARGOED-DETAIL" not in body


def test_any_state_lists_every_delivery(client, world):
    cause = enqueue(world.submitted(), world.defender)
    body = _as(client, world.coordinator).get(f"{PAGE}?state=").content.decode()
    assert "Sent" in body and "Pending" in body
    assert body.count("Retry now") == 1  # the pending email; never the inbox row
    assert Delivery.objects.filter(cause=cause).count() == 2


@pytest.mark.parametrize("who", ["lab_user", "defender_user", "other_defender_user"])
def test_the_page_is_a_404_for_everyone_else(client, world, who):
    row = _fail(enqueue(world.submitted(), world.defender))
    client = _as(client, getattr(world, who))
    assert client.get(PAGE).status_code == 404
    assert client.post(reverse("delivery-retry", args=[row.pk])).status_code == 404
    assert Delivery.objects.get(pk=row.pk).state == State.FAILED


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_retry_button_requeues_and_returns_to_the_same_filters(client, world):
    # A notice of a finding the organization is (still) in the audience of.
    row = _fail(enqueue(world.embargoed(), world.defender))
    response = _as(client, world.coordinator).post(
        reverse("delivery-retry", args=[row.pk]),
        {"state": "failed", "channel": "email", "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response.url.startswith(f"{PAGE}?")
    assert "state=failed" in response.url and "channel=email" in response.url
    assert "evil" not in response.url
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.PENDING, 0)
    assert AuditEvent.objects.filter(action="delivery.retried").count() == 1
    page = client.get(response.url).content.decode()
    assert "queued to be sent again" in page


def test_retrying_something_sent_shows_why_not(client, world):
    cause = enqueue(world.submitted(), world.defender)
    row = Delivery.objects.get(cause=cause, channel=Channel.EMAIL)
    Delivery.objects.filter(pk=row.pk).update(state=State.SENT)
    client = _as(client, world.coordinator)
    response = client.post(reverse("delivery-retry", args=[row.pk]), follow=True)
    assert "only failed or waiting deliveries can be retried" in response.content.decode()


def test_a_bad_filter_is_a_400_that_says_so(client, world):
    response = _as(client, world.coordinator).get(f"{PAGE}?organization=nobody")
    assert response.status_code == 400
    assert "No organization with the slug" in response.content.decode()


@pytest.mark.parametrize("rows", [1, 50])
def test_the_page_query_budget(client, world, django_assert_max_num_queries, rows):
    org = OrganizationFactory()
    for n in range(rows):
        person = contact(org, f"c{n}@org.example")
        person.email_bouncing_at = timezone.now()
        person.save(update_fields=["email_bouncing_at"])
    cause = enqueue(world.submitted(), org)
    Delivery.objects.filter(cause=cause, channel=Channel.EMAIL).update(state=State.FAILED)
    client = _as(client, world.coordinator)
    # session, user, memberships, bouncing contacts and their organizations, the page, and
    # the nav's unread count
    with django_assert_max_num_queries(7):
        response = client.get(PAGE)
    assert response.content.decode().count("Retry now") == rows


# --- The inbox page.


def test_the_inbox_lists_your_items_unread_in_bold_with_a_badge_in_the_nav(client, world):
    finding = world.embargoed()
    enqueue(world.submitted(), world.other_defender)
    response = _as(client, world.defender_user).get(reverse("inbox"))
    assert response.status_code == 200
    body = response.content.decode()
    _no_inline_code(body)
    assert body.count("inbox__item--unread") == 1
    assert finding.reference in body
    assert "Finding notified" in body
    assert finding.title not in body
    assert re.search(r'class="nav-count"[^>]*>1<', body)
    (item,) = Delivery.objects.filter(recipient=world.defender_user, channel=Channel.INBOX)
    assert reverse("inbox-open", args=[item.pk]) in body


def test_opening_an_item_marks_it_read_and_opens_the_finding(client, world):
    finding = world.embargoed()
    item = Delivery.objects.get(recipient=world.defender_user, channel=Channel.INBOX)
    client = _as(client, world.defender_user)
    response = client.get(reverse("inbox-open", args=[item.pk]))
    assert response.status_code == 302
    assert response.url == reverse("finding-detail", args=[finding.reference])
    item.refresh_from_db()
    assert item.read_at is not None
    body = client.get(reverse("inbox")).content.decode()
    assert "inbox__item--unread" not in body
    assert "nav-count" not in body


def test_someone_elses_item_is_a_404_and_stays_unread(client, world):
    world.embargoed()
    item = Delivery.objects.get(recipient=world.defender_user, channel=Channel.INBOX)
    response = _as(client, world.other_defender_user).get(reverse("inbox-open", args=[item.pk]))
    assert response.status_code == 404
    item.refresh_from_db()
    assert item.read_at is None


def test_mark_all_read(client, world):
    enqueue(released_factory(), world.defender)
    enqueue(released_factory(), world.defender)
    client = _as(client, world.defender_user)
    response = client.post(reverse("inbox-read-all"), follow=True)
    assert "Marked 2 notifications read." in response.content.decode()
    assert not Delivery.objects.filter(recipient=world.defender_user, read_at=None).exclude(
        channel=Channel.EMAIL
    )


def test_the_unread_filter(client, world):
    enqueue(world.submitted(), world.defender)
    Delivery.objects.filter(recipient=world.defender_user).update(read_at=timezone.now())
    body = _as(client, world.defender_user).get(f"{reverse('inbox')}?unread=true").content
    assert b"Nothing unread." in body


def test_the_inbox_needs_a_login(client):
    assert client.get(reverse("inbox")).status_code == 302
    assert client.post(reverse("inbox-read-all")).status_code == 302


@pytest.mark.parametrize("rows", [1, 50])
def test_the_inbox_page_query_budget(client, world, django_assert_max_num_queries, rows):
    for _ in range(rows):
        enqueue(released_factory(), world.defender)
    client = _as(client, world.defender_user)
    # session, user, the count and the page of the paginator, the nav's unread count, and the
    # memberships for the nav's deliveries link
    with django_assert_max_num_queries(6):
        response = client.get(reverse("inbox"))
    assert response.content.decode().count("inbox__item--unread") == rows


def test_the_nav_offers_deliveries_to_coordinators_only(client, world):
    assert b'href="/deliveries/"' in _as(client, world.coordinator).get(reverse("home")).content
    client.logout()
    assert b'href="/deliveries/"' not in _as(client, world.lab_user).get(reverse("home")).content
