"""GET /api/deliveries/ and POST /api/deliveries/{id}/retry/ (coordinators only), and the
in-app inbox: GET /api/inbox/, POST /api/inbox/{id}/read/, POST /api/inbox/read-all/."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from disclosure.models import AuditEvent, Delivery
from disclosure.selectors_delivery import inbox_unread_count
from disclosure.services.audience import audience_add, audience_remove
from tests.factories import OrganizationFactory

from ..outbox import contact, endpoint, enqueue
from ..publication import released_factory
from .conftest import MARKERS

Channel = Delivery.Channel
State = Delivery.State
NOT_COORDINATORS = ["lab_user", "defender_user", "other_defender_user"]


def _fail(cause, channel=Channel.EMAIL, **fields) -> Delivery:
    row = Delivery.objects.get(cause=cause, channel=channel)
    Delivery.objects.filter(pk=row.pk).update(
        state=State.FAILED,
        attempts=10,
        last_error="550 5.1.1 User unknown",
        last_status_code=550,
        **fields,
    )
    row.refresh_from_db()
    return row


# --- Deliveries: who may see them.


@pytest.mark.parametrize("who", NOT_COORDINATORS)
def test_deliveries_are_a_404_for_everyone_but_coordinators(world, api, who):
    row = _fail(enqueue(world.embargoed(), world.defender))
    client = api(getattr(world, who))
    assert client.get("/api/deliveries/").status_code == 404
    assert client.get("/api/deliveries/?state=failed").status_code == 404
    assert client.post(f"/api/deliveries/{row.pk}/retry/").status_code == 404
    row.refresh_from_db()
    assert row.state == State.FAILED


def test_deliveries_need_a_login(world, api):
    row = _fail(enqueue(world.embargoed(), world.defender))
    client = api(None)
    assert client.get("/api/deliveries/").status_code == 401
    assert client.post(f"/api/deliveries/{row.pk}/retry/").status_code == 401


def test_a_coordinator_lists_failures_with_what_went_wrong_and_nothing_embargoed(world, api):
    finding = world.embargoed()
    notified = Delivery.objects.filter(finding=finding, event=Delivery.Event.NOTIFIED).first()
    row = _fail(notified.cause)
    response = api(world.coordinator).get("/api/deliveries/?state=failed")
    assert response.status_code == 200, response.content
    (item,) = response.json()["results"]
    assert item == {
        "id": row.pk,
        "event": "finding.notified",
        "channel": "email",
        "state": "failed",
        "reference": finding.reference,
        "tlp": finding.get_tlp_display(),
        "organization": "grid-isac",
        "organization_name": "Grid ISAC",
        "recipient": world.defender_user.email,
        "recipient_bouncing": False,
        "attempts": 10,
        "next_attempt_at": item["next_attempt_at"],
        "last_error": "550 5.1.1 User unknown",
        "last_status_code": 550,
        "sent_at": None,
        "created_at": item["created_at"],
    }
    text = json.dumps(response.json())
    for marker in (*MARKERS, finding.title, finding.model_version):
        assert marker not in text


def test_filters_by_state_channel_organization_and_finding(world, api):
    org = OrganizationFactory(slug="water-isac")
    hook = endpoint(org, "http://127.0.0.1:9/hook", by=contact(org, "c@water.example"))
    first, second = world.submitted(), world.submitted()
    a = enqueue(first, world.defender)
    b = enqueue(second, org)
    failed_mail = _fail(a)
    failed_hook = _fail(b, Channel.WEBHOOK)
    client = api(world.coordinator)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/deliveries/?{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids("state=failed") == [failed_hook.pk, failed_mail.pk]  # newest first
    assert ids("state=failed&channel=webhook") == [failed_hook.pk]
    assert ids("state=failed&organization=grid-isac") == [failed_mail.pk]
    assert ids(f"finding={second.reference}&channel=webhook") == [failed_hook.pk]
    assert set(ids(f"finding={first.reference}")) == set(
        Delivery.objects.filter(cause=a).values_list("pk", flat=True)
    )
    (item,) = client.get("/api/deliveries/?channel=webhook").json()["results"]
    assert item["recipient"] == hook.url


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=lost", "state"),
        ("channel=pigeon", "channel"),
        ("organization=nobody", "organization"),
        ("finding=FW-1999-0001", "finding"),
        ("stat=failed", "stat"),
        ("state=failed&state=sent", "state"),
        ("cursor=garbage", "cursor"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(world, api, query, field):
    response = api(world.coordinator).get(f"/api/deliveries/?{query}")
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_cursor_pages_cover_every_row_once(world, api):
    org = OrganizationFactory()
    for n in range(60):
        contact(org, f"c{n}@org.example")
    enqueue(world.submitted(), org)
    client = api(world.coordinator)
    seen: list[int] = []
    url = "/api/deliveries/?channel=email"
    while url:
        body = client.get(url).json()
        assert "count" not in body
        seen += [item["id"] for item in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 60


@pytest.mark.parametrize("rows", [1, 50])
def test_the_list_costs_the_same_queries_for_1_and_50_rows(
    world, api, django_assert_max_num_queries, rows
):
    org = OrganizationFactory()
    for n in range(rows):
        contact(org, f"c{n}@org.example")
    hook = endpoint(org, "http://127.0.0.1:9/h", by=contact(org, "admin@org.example"))
    assert hook
    enqueue(world.submitted(), org)
    client = api(world.coordinator)
    # session, user, memberships, the page
    with django_assert_max_num_queries(4):
        response = client.get("/api/deliveries/")
    assert len(response.json()["results"]) == min(50, 2 * (rows + 1) + 1)


def test_retry_resets_a_failure_and_audits_it(world, api):
    row = _fail(enqueue(world.embargoed(), world.defender))
    response = api(world.coordinator).post(f"/api/deliveries/{row.pk}/retry/")
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["attempts"]) == ("pending", 0)
    assert AuditEvent.objects.filter(action="delivery.retried", actor=world.coordinator).exists()


def test_retrying_a_sent_delivery_is_a_409_and_a_missing_one_a_404(world, api):
    cause = enqueue(world.submitted(), world.defender)
    row = Delivery.objects.get(cause=cause, channel=Channel.EMAIL)
    Delivery.objects.filter(pk=row.pk).update(state=State.SENT)
    client = api(world.coordinator)
    assert client.post(f"/api/deliveries/{row.pk}/retry/").status_code == 409
    assert client.post("/api/deliveries/999999/retry/").status_code == 404


def test_a_bouncing_recipient_is_flagged(world, api):
    world.defender_user.email_bouncing_at = timezone.now()
    world.defender_user.save(update_fields=["email_bouncing_at"])
    _fail(enqueue(world.submitted(), world.defender))
    (item,) = api(world.coordinator).get("/api/deliveries/?state=failed").json()["results"]
    assert item["recipient_bouncing"] is True


# --- The inbox.


def _items(client, query: str = "") -> list[dict]:
    response = client.get(f"/api/inbox/{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_inbox_lists_only_your_own_items_thinly(world, api):
    finding = world.embargoed()
    enqueue(world.submitted(), world.other_defender)
    (item,) = _items(api(world.defender_user))
    assert item == {
        "id": item["id"],
        "event": "finding.notified",
        "event_label": "Finding notified",
        "reference": finding.reference,
        "tlp": finding.get_tlp_display(),
        "url": f"/findings/{finding.reference}/",
        "unread": True,
        "read_at": None,
        "created_at": item["created_at"],
    }
    text = json.dumps(item)
    for marker in (*MARKERS, finding.title):
        assert marker not in text


def test_unread_filter_and_marking_read(world, api):
    enqueue(released_factory(), world.defender)
    enqueue(released_factory(), world.defender)
    client = api(world.defender_user)
    first, second = _items(client, "?unread=true")
    response = client.post(f"/api/inbox/{first['id']}/read/")
    assert response.status_code == 200
    assert response.json()["unread"] is False
    assert [i["id"] for i in _items(client, "?unread=true")] == [second["id"]]
    assert [i["id"] for i in _items(client, "?unread=false")] == [first["id"]]
    assert client.post("/api/inbox/read-all/").json() == {"marked": 1}
    assert _items(client, "?unread=true") == []
    assert len(_items(client)) == 2


def test_an_organization_removed_from_the_audience_no_longer_finds_the_finding_in_its_inbox(
    world, api
):
    finding = world.embargoed()
    audience_add(actor=world.coordinator, finding=finding, organizations=[world.other_defender])
    item = Delivery.objects.get(recipient=world.defender_user, channel=Channel.INBOX)
    audience_remove(
        actor=world.coordinator, finding=finding, organization=world.defender, reason="Leaked"
    )
    client = api(world.defender_user)
    assert _items(client) == []
    assert client.post(f"/api/inbox/{item.pk}/read/").status_code == 404
    assert client.post("/api/inbox/read-all/").json() == {"marked": 0}
    assert inbox_unread_count(world.defender_user) == 0


def test_someone_elses_inbox_item_is_a_404(world, api):
    enqueue(world.submitted(), world.defender)
    theirs = Delivery.objects.get(recipient=world.defender_user, channel=Channel.INBOX)
    email = Delivery.objects.get(recipient=world.defender_user, channel=Channel.EMAIL)
    client = api(world.other_defender_user)
    assert client.post(f"/api/inbox/{theirs.pk}/read/").status_code == 404
    # An email row is no inbox item, even for its recipient.
    assert api(world.defender_user).post(f"/api/inbox/{email.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_inbox_needs_a_login_and_a_sane_filter(world, api):
    assert api(None).get("/api/inbox/").status_code == 401
    assert api(None).post("/api/inbox/read-all/").status_code == 401
    client = api(world.defender_user)
    assert client.get("/api/inbox/?unread=maybe").status_code == 400
    assert client.get("/api/inbox/?unred=true").status_code == 400


def test_a_released_finding_links_to_its_advisory(world, api):
    finding = world.released()
    urls = {i["event"]: i["url"] for i in _items(api(world.defender_user))}
    assert urls["finding.released"] == f"/advisories/{finding.reference}/"


@pytest.mark.parametrize("rows", [1, 50])
def test_the_inbox_costs_the_same_queries_for_1_and_50_rows(
    world, api, django_assert_max_num_queries, rows
):
    for _ in range(rows):
        enqueue(released_factory(), world.defender)
    client = api(world.defender_user)
    # session, user, the memberships (which findings the user still sees), the page
    with django_assert_max_num_queries(4):
        assert len(_items(client)) == rows
