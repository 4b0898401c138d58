"""GET /api/audit/: the whole audit trail for coordinators, filtered like the /audit/ page."""

from __future__ import annotations

import pytest
from django.db import connection

from disclosure.models import AuditEvent
from disclosure.services.audit import audit_record
from disclosure.services.audit_chain import audit_chain_seal
from tests.disclosure.audit_helpers import tamper, written

URL = "/api/audit/"


@pytest.mark.parametrize("who", ["lab_user", "defender_user", "other_defender_user"])
def test_the_trail_is_a_404_for_everyone_but_coordinators(world, api, who):
    written(1)
    client = api(getattr(world, who))
    assert client.get(URL).status_code == 404
    assert client.get(f"{URL}?created_after=garbage").status_code == 404  # not even a 400


def test_the_trail_needs_a_login(db, api):
    assert api(None).get(URL).status_code == 401


def test_a_coordinator_reads_events_newest_first_with_their_seal(world, api):
    finding = world.submitted()
    audit_chain_seal()
    audit_record(
        actor=world.coordinator, action="finding.read", finding=finding, data={"via": "api"}
    )
    body = api(world.coordinator).get(URL).json()
    assert "count" not in body
    newest, *_, oldest = body["results"]
    assert newest["action"] == "finding.read" and newest["integrity"] == "pending"
    assert newest["sequence"] is None and newest["finding"] == finding.reference
    assert newest["actor"] == "coord@cc.example" and newest["data"] == {"via": "api"}
    assert oldest["action"] == "finding.created" and oldest["sequence"] == 1
    assert oldest["integrity"] == "sealed" and len(oldest["entry_hash"]) == 64
    assert "EMBARGOED" not in str(body)


def test_a_tampered_event_is_marked_as_a_mismatch(world, api):
    (event,) = written(1)
    audit_chain_seal()
    tamper("UPDATE {table} SET data = %s WHERE id = %s", ["[]", event.pk])
    (row,) = api(world.coordinator).get(URL).json()["results"]
    assert row["integrity"] == "mismatch" and row["data"] == []


def test_the_filters_are_the_pages(world, api):
    finding = world.submitted()
    audit_record(actor=world.coordinator, action="finding.read", finding=finding)
    client = api(world.coordinator)
    actions = {r["action"] for r in client.get(f"{URL}?actor=dev@lab.example").json()["results"]}
    assert actions == {"finding.created", "finding.submitted"}
    read = client.get(f"{URL}?action=finding.read&finding={finding.reference}").json()["results"]
    assert [r["action"] for r in read] == ["finding.read"]


@pytest.mark.parametrize(
    ("query", "name"),
    [("created_before=31/12/2026", "created_before"), ("organisation=cc", "organisation")],
)
def test_bad_filters_are_a_400_naming_the_parameter(world, api, query, name):
    response = api(world.coordinator).get(f"{URL}?{query}")
    assert response.status_code == 400 and name in response.json()["detail"]


def test_cursor_pages_cover_every_event_once(world, api):
    written(70)
    client = api(world.coordinator)
    seen, url = [], URL
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == AuditEvent.objects.count() == 70


@pytest.mark.parametrize("rows", [1, 50])
def test_the_trail_costs_the_same_queries_for_1_and_50_rows(
    world, api, django_assert_max_num_queries, rows
):
    written(rows, actor=world.lab_user, finding=world.submitted())
    client = api(world.coordinator)
    # session, user, memberships, the page
    with django_assert_max_num_queries(4):
        response = client.get(URL)
    assert len(response.json()["results"]) == min(50, rows + 2)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite stores such a time")
def test_a_row_that_cannot_be_read_is_a_409_not_a_server_error(world, api):
    (event,) = written(1)
    tamper("UPDATE {table} SET created_at = '2026-13-45 10:00:00' WHERE id = %s", [event.pk])
    response = api(world.coordinator).get(URL)
    assert response.status_code == 409
    assert "could not be read" in response.json()["detail"]
