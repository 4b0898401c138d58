"""A defender acknowledges and reports its readiness in Chromium; the coordinator sees it at a
glance on the finding page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from disclosure.models import FindingRecipient
from tests.browser.login import log_in

STATEMENT = "Filters on exploit-shaped traffic are live at all substations."


def _log_in(browser: Browser, live_server, user, password) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, user, password)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    return page


@pytest.mark.browser
def test_a_defender_acknowledges_and_reports_readiness_which_the_coordinator_sees(
    live_server, world, password, browser
):
    finding = world.embargoed()
    url = live_server.url + reverse("finding-detail", args=[finding.reference])

    defender = _log_in(browser, live_server, world.defender_user, password)
    defender.goto(url)
    defender.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(defender.get_by_role("status")).to_contain_text("You have acknowledged")

    readiness = defender.get_by_role("region", name="Your readiness")
    expect(readiness.get_by_label("Acknowledged")).to_be_checked()
    readiness.get_by_label("Ready", exact=True).check()
    readiness.get_by_label("Statement (optional)").fill(STATEMENT)
    readiness.get_by_role("button", name="Save readiness").click()
    expect(defender.get_by_role("status")).to_contain_text("Your readiness on")
    own = defender.get_by_role("region", name="Notified organizations")
    expect(own.get_by_role("row", name="Grid ISAC")).to_contain_text("Ready")
    expect(own).to_contain_text(STATEMENT)

    coordinator = _log_in(browser, live_server, world.coordinator, password)
    coordinator.goto(url)
    table = coordinator.get_by_role("region", name="Notified organizations")
    expect(table).to_contain_text("1 of 1 ready")
    row = table.get_by_role("row", name="Grid ISAC")
    expect(row).to_contain_text("Ready")
    expect(row).to_contain_text(STATEMENT)
    expect(row).to_contain_text(world.defender_user.email)

    recipient = FindingRecipient.objects.get(finding=finding, organization=world.defender)
    assert (recipient.readiness, recipient.readiness_statement) == ("ready", STATEMENT)
    assert recipient.first_seen_by == world.defender_user
