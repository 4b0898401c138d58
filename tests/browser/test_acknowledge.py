"""A defender logs in, reads the finding it was notified of, and acknowledges it, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from disclosure.models import FindingRecipient
from tests.browser.login import log_in


@pytest.mark.browser
def test_a_defender_opens_the_notified_finding_and_acknowledges_it(
    live_server, world, password, page, screenshot
):
    finding = world.embargoed()

    log_in(page, live_server, world.defender_user, password)

    inbox = page.get_by_role("region", name="Inbox")
    expect(inbox.get_by_role("row", name=finding.reference)).to_contain_text("Not yet")
    screenshot("home")

    inbox.get_by_role("link", name=finding.reference).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(finding.title)
    expect(page.get_by_text("EMBARGOED until")).to_be_visible()
    expect(page.get_by_text("EMBARGOED-DETAIL")).to_be_visible()
    screenshot("finding")

    page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"You have acknowledged {finding.reference}")
    audience = page.get_by_role("region", name="Notified organizations")
    expect(audience.get_by_role("row", name="Grid ISAC")).to_contain_text("Acknowledged")
    expect(page.get_by_role("button", name="Acknowledge", exact=True)).to_have_count(0)

    row = FindingRecipient.objects.get(finding=finding, organization=world.defender)
    assert row.acknowledged_at is not None
    assert row.acknowledged_by == world.defender_user
