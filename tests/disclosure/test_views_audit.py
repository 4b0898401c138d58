"""The coordinators' audit trail page (/audit/) and its CSV and JSON exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from disclosure.audit_verify import chain_verify, verification_remember
from disclosure.models import AuditEvent
from disclosure.services.audit import audit_record
from disclosure.services.audit_chain import audit_chain_seal
from disclosure.services.intake import finding_submit

from .audit_helpers import note_stored, stored, tamper, written

PAGE = "/audit/"
CSV_EXPORT = "/audit/export.csv"
JSON_EXPORT = "/audit/export.json"
NOT_COORDINATORS = ["lab_user", "defender_user", "other_defender_user"]


def _as(client, user):
    client.force_login(user)
    return client


def _no_inline_code(body: str) -> None:
    lowered = body.lower()
    assert "<script" not in lowered and " style=" not in lowered and "<style" not in lowered


def _rows(body: str) -> int:
    return body.count("<tr") - 1  # minus the header row


def _csv(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def _json(response) -> dict:
    return json.loads(b"".join(response.streaming_content))


# --- Who may see it.


def test_the_page_lists_events_newest_first_with_their_place_in_the_chain(client, world):
    assert reverse("audit-trail") == PAGE
    finding = world.submitted()  # finding.created, finding.submitted
    audit_chain_seal()
    audit_record(actor=world.coordinator, action="finding.read", finding=finding)  # waiting
    response = _as(client, world.coordinator).get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    _no_inline_code(body)
    assert (
        body.index("finding.read") < body.index("finding.submitted") < body.index("finding.created")
    )
    assert "#1 sealed" in body and "#2 sealed" in body
    assert "Waiting to be sealed" in body
    assert finding.reference in body and world.lab_user.email in body
    assert "EMBARGOED-DETAIL" not in body and finding.title not in body
    assert "Head of the chain: <strong>#2</strong>" in body
    assert f'href="{PAGE}" aria-current="page">Audit trail<' in body  # the nav's link


@pytest.mark.parametrize("who", NOT_COORDINATORS)
def test_the_page_and_its_exports_are_a_404_for_everyone_else(client, world, who):
    written(1)
    client = _as(client, getattr(world, who))
    for url in (PAGE, CSV_EXPORT, JSON_EXPORT, f"{PAGE}?actor=nobody"):
        assert client.get(url).status_code == 404
    assert "Audit trail<" not in client.get("/").content.decode()  # nor in the nav
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_the_page_needs_a_login(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get(CSV_EXPORT).status_code == 302


def test_a_drafts_events_appear_once_it_is_submitted(client, world):
    draft = world.file()
    client = _as(client, world.coordinator)
    link = f">{draft.reference}</a>"
    assert link not in client.get(PAGE).content.decode()
    world.submitted()  # another finding: the draft stays hidden
    assert link not in client.get(PAGE).content.decode()
    assert draft.reference not in b"".join(client.get(CSV_EXPORT).streaming_content).decode()
    finding_submit(actor=world.lab_user, finding=draft)
    assert client.get(PAGE).content.decode().count(link) == 2  # created, submitted


# --- Filters.


@pytest.fixture
def mixed(world):
    """Events by a coordinator, a lab member and the system, with and without a finding."""
    finding = world.submitted()  # by the lab user: finding.created, finding.submitted
    audit_record(actor=world.coordinator, action="finding.read", finding=finding)
    audit_record(actor=world.coordinator, action="auth.login", data={"ip": "192.0.2.1"})
    audit_record(actor=None, action="finding.reminded", finding=finding)
    return finding


@pytest.mark.parametrize(
    ("query", "actions"),
    [
        ("actor=COORD@cc.example", {"finding.read", "auth.login"}),
        ("actor=system", {"finding.reminded"}),
        ("action=finding.read", {"finding.read"}),
        (
            "action=finding.",
            {"finding.created", "finding.submitted", "finding.read", "finding.reminded"},
        ),
        ("organization=example-lab", {"finding.created", "finding.submitted"}),
        ("actor=nobody@example.org", set()),
    ],
)
def test_filters_narrow_the_list(client, world, mixed, query, actions):
    response = _as(client, world.coordinator).get(f"{PAGE}?{query}")
    assert response.status_code == 200
    rows = list(AuditEvent.objects.values_list("action", flat=True))
    shown = {action for action in rows if f"<code>{action}</code>" in response.content.decode()}
    assert shown == actions


def test_the_finding_filter_takes_a_reference_in_any_case(client, world, mixed):
    body = _as(client, world.coordinator).get(f"{PAGE}?finding={mixed.reference.lower()}")
    assert _rows(body.content.decode()) == 4


def test_the_date_filters_bound_the_days(client, world, mixed):
    client = _as(client, world.coordinator)
    today = timezone.now().date()
    assert _rows(client.get(f"{PAGE}?created_after={today}").content.decode()) == 5
    yesterday = today - timedelta(days=1)
    body = client.get(f"{PAGE}?created_before={yesterday}").content.decode()
    assert "No entries match these filters." in body


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("created_after=yesterday", "created_after"),
        ("organization=no-such-org", "organization"),
        ("actors=x", "actors"),
        ("action=a&action=b", "action"),
        ("action=" + "a" * 61, "action"),
        ("cursor=garbage", "cursor"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(client, world, mixed, query, name):
    client = _as(client, world.coordinator)
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 400
    assert f"<code>{name}</code>" in response.content.decode()
    export = client.get(f"{CSV_EXPORT}?{query}") if name != "cursor" else None
    if export is not None:
        assert export.status_code == 400 and name in export.json()["detail"]


def test_fifty_a_page_and_a_link_to_older_ones(client, world):
    written(60)
    client = _as(client, world.coordinator)
    body = client.get(PAGE).content.decode()
    assert _rows(body) == 50 and 'rel="next"' in body
    link = body[body.index('href="?cursor=') + 6 : body.index('" rel="next"')].replace("&amp;", "&")
    assert _rows(client.get(f"{PAGE}{link}").content.decode()) == 10


# --- Tampered rows: shown as such, never a server error.


@pytest.mark.parametrize(
    ("column", "value"),
    [("note", "rewritten"), ("data", "[1, 2]"), ("data", '"a string"'), ("action", "x")],
)
def test_a_tampered_row_is_shown_as_tampered(client, world, column, value):
    (event,) = written(1)
    audit_chain_seal()
    sql = f"UPDATE {{table}} SET {column} = %s WHERE id = %s"  # noqa: S608
    tamper(sql, [stored(column, value), event.pk])
    response = _as(client, world.coordinator).get(PAGE)
    assert response.status_code == 200
    assert "#1 Tampered" in response.content.decode()
    exported = _csv(client.get(CSV_EXPORT))
    assert exported[0]["integrity"] == "mismatch"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite stores such a time")
def test_a_time_that_is_not_a_time_is_shown_as_tampered(client, world):
    (event,) = written(1)
    tamper("UPDATE {table} SET created_at = 'not a time' WHERE id = %s", [event.pk])
    client = _as(client, world.coordinator)
    response = client.get(PAGE)
    assert response.status_code == 200 and "Tampered" in response.content.decode()
    (row,) = _csv(client.get(CSV_EXPORT))
    assert (row["created_at"], row["integrity"]) == ("", "mismatch")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite stores such a time")
def test_a_row_that_cannot_be_read_is_reported_not_a_server_error(client, world):
    (event,) = written(1)
    tamper("UPDATE {table} SET created_at = '2026-13-45 10:00:00' WHERE id = %s", [event.pk])
    client = _as(client, world.coordinator)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "An audit row could not be read" in response.content.decode()
    exported = b"".join(client.get(CSV_EXPORT).streaming_content).decode()
    assert "ERROR,The export is incomplete." in exported
    assert _json(client.get(JSON_EXPORT))["error"].startswith("The export is incomplete.")


def test_a_failed_verification_is_shown_on_the_page(client, world):
    (event,) = written(1)
    audit_chain_seal()
    tamper("UPDATE {table} SET note = %s WHERE id = %s", [note_stored("x"), event.pk])
    verification_remember(chain_verify())
    body = _as(client, world.coordinator).get(PAGE).content.decode()
    assert "found 1 problem in the audit chain" in body
    assert f"modified at #1 (entry {event.pk}, test.action_0)" in body


def test_a_passed_verification_is_shown_on_the_page(client, world):
    written(2)
    audit_chain_seal()
    verification_remember(chain_verify())
    body = _as(client, world.coordinator).get(PAGE).content.decode()
    assert "the chain was intact (2 entries)" in body


# --- Exports.


def test_the_csv_export_has_the_filtered_entries_oldest_first_and_is_audited(client, world, mixed):
    response = _as(client, world.coordinator).get(f"{CSV_EXPORT}?actor=coord@cc.example")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="forewarn-audit-')
    assert response["Cache-Control"].startswith("max-age=0")
    rows = _csv(response)
    assert [row["action"] for row in rows] == ["finding.read", "auth.login"]
    assert rows[0]["finding"] == mixed.reference and rows[0]["actor"] == "coord@cc.example"
    assert json.loads(rows[1]["data"]) == {"ip": "192.0.2.1"}
    assert rows[0]["integrity"] == "pending"
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor == world.coordinator
    assert exported.data == {"format": "csv", "filters": {"actor": "coord@cc.example"}, "rows": 2}


def test_the_json_export_is_one_document_and_is_audited(client, world, mixed):
    audit_chain_seal()
    response = _as(client, world.coordinator).get(f"{JSON_EXPORT}?action=finding.")
    assert response["Content-Type"] == "application/json"
    body = _json(response)
    assert body["rows"] == 4 and len(body["events"]) == 4
    assert body["exported_by"] == "coord@cc.example"
    assert body["filters"] == {"action": "finding."}
    first = body["events"][0]
    assert (first["action"], first["sequence"], first["integrity"]) == (
        "finding.created",
        1,
        "sealed",
    )
    assert first["data"] == {} and first["created_at"].endswith("Z")
    assert AuditEvent.objects.get(action="audit.exported").data["format"] == "json"


def test_an_export_does_not_contain_its_own_audit_event(client, world, mixed):
    client = _as(client, world.coordinator)
    _csv(client.get(CSV_EXPORT))
    rows = _csv(client.get(CSV_EXPORT))
    assert [row["action"] for row in rows].count("audit.exported") == 1  # the first export's


def test_cells_a_spreadsheet_would_run_are_neutralised(client, world):
    audit_record(actor=world.coordinator, action="test.formula", note='=HYPERLINK("http://x")')
    rows = _csv(_as(client, world.coordinator).get(CSV_EXPORT))
    assert rows[0]["note"] == '\'=HYPERLINK("http://x")'


def test_an_export_of_nothing_is_still_a_document(client, world):
    client = _as(client, world.coordinator)
    assert _csv(client.get(f"{CSV_EXPORT}?actor=nobody@example.org")) == []
    body = _json(client.get(f"{JSON_EXPORT}?actor=nobody@example.org"))
    assert body["rows"] == 0 and body["events"] == []


# --- Query budgets.


@pytest.mark.parametrize("rows", [1, 50])
def test_the_page_costs_the_same_queries_for_1_and_50_rows(
    client, world, django_assert_max_num_queries, rows
):
    written(rows, actor=world.lab_user, finding=world.submitted())
    client = _as(client, world.coordinator)
    # session, user, memberships, the chain's head, the page, the organizations to filter by,
    # the nav's unread count
    with django_assert_max_num_queries(7):
        response = client.get(PAGE)
    assert _rows(response.content.decode()) == min(50, rows + 2)


@pytest.mark.parametrize("rows", [1, 50])
def test_an_export_costs_the_same_queries_for_1_and_50_rows(
    client, world, django_assert_max_num_queries, rows
):
    written(rows, actor=world.lab_user)
    client = _as(client, world.coordinator)
    # session, user, memberships, count, the audit event, the rows
    with django_assert_max_num_queries(6):
        assert len(_csv(client.get(CSV_EXPORT))) == rows


# --- What else is recorded: reads of embargoed details beyond the finding page.


def test_opening_a_findings_edit_form_is_an_audited_read(client, world):
    finding = world.submitted()
    response = _as(client, world.lab_user).get(reverse("finding-edit", args=[finding.reference]))
    assert response.status_code == 200 and "EMBARGOED-DETAIL" in response.content.decode()
    read = AuditEvent.objects.get(action="finding.read")
    assert (read.actor, read.finding, read.data) == (world.lab_user, finding, {"via": "edit"})
