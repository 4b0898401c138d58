"""A coordinator opens the audit trail in Chromium, filters it, sees a tampered entry flagged,
and downloads an export (which is audited)."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from disclosure.audit_verify import chain_verify, verification_remember
from disclosure.models import AuditEvent
from disclosure.services.audit import audit_record
from tests.browser.login import log_in
from tests.disclosure.audit_helpers import tamper


@pytest.mark.browser
def test_a_coordinator_browses_filters_and_exports_the_audit_trail(
    live_server, world, password, page, screenshot
):
    finding = world.embargoed()
    audit_record(
        actor=world.defender_user, action="finding.read", finding=finding, data={"via": "page"}
    )
    tampered = audit_record(actor=world.lab_user, action="attachment.downloaded", finding=finding)
    tamper("UPDATE {table} SET note = 'nothing to see' WHERE id = %s", [tampered.pk])
    verification_remember(chain_verify())

    log_in(page, live_server, world.coordinator, password)
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    expect(page.get_by_role("alert")).to_contain_text("found 1 problem in the audit chain")
    rows = page.locator("table.audit-trail tbody tr")
    expect(rows.first).to_contain_text(world.coordinator.email)  # their own login, newest
    expect(page.locator(".badge--chain-mismatch")).to_have_count(1)
    expect(page.locator(".badge--chain-mismatch")).to_contain_text("Tampered")
    screenshot("audit-trail")

    page.get_by_label("Action").fill("finding.read")
    page.get_by_label("Finding").fill(finding.reference.lower())
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(world.defender_user.email)
    expect(rows.first).to_contain_text("sealed")
    screenshot("audit-trail-filtered")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("forewarn-audit-")
    exported = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert [row["action"] for row in exported] == ["finding.read"]
    assert exported[0]["actor"] == world.defender_user.email
    event = AuditEvent.objects.get(action="audit.exported")
    assert event.actor == world.coordinator
    assert event.data["filters"] == {"action": "finding.read", "finding": finding.reference.lower()}
    assert event.data["rows"] == 1
