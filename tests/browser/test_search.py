"""A coordinator searches and filters the findings list in Chromium and pages through it."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from disclosure.models import CapabilityCategory, Finding
from tests.browser.login import log_in
from tests.factories import FindingFactory


@pytest.mark.browser
def test_a_coordinator_searches_filters_and_pages_through_findings(
    live_server, world, password, page, screenshot
):
    cbrn = CapabilityCategory.objects.get(taxonomy__slug="anthropic-rsp", code="cbrn-3")
    FindingFactory.create_batch(
        55,
        developer=world.lab,
        created_by=world.lab_user,
        state=Finding.State.SUBMITTED,
        submitted_at=timezone.now(),
    )
    wanted = FindingFactory(
        developer=world.other_lab,
        created_by=world.other_lab_user,
        state=Finding.State.SUBMITTED,
        submitted_at=timezone.now(),
        title="Pathogen enhancement protocol planning",
        category=cbrn,
        risk_level="critical",
        tlp="RED",
    )

    log_in(page, live_server, world.coordinator, password)
    page.get_by_role("link", name="Findings", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Findings")
    expect(page.locator("table.search-results tbody tr")).to_have_count(50)
    screenshot("findings-list")
    page.get_by_role("link", name="Next →").click()
    expect(page.locator("table.search-results tbody tr")).to_have_count(6)
    page.get_by_role("link", name="← Previous").click()
    expect(page.locator("table.search-results tbody tr")).to_have_count(50)

    page.get_by_role("searchbox", name="Search findings").fill("pathogen")
    page.get_by_role("button", name="Search", exact=True).click()
    rows = page.locator("table.search-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(wanted.reference)
    expect(rows.first).to_contain_text("TLP:RED")

    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Critical").first.check()
    page.get_by_label("Category").select_option("anthropic-rsp:cbrn-3")
    page.get_by_label("Lab", exact=True).select_option("other-lab")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Category")).to_have_value("anthropic-rsp:cbrn-3")
    screenshot("findings-filtered")

    page.get_by_role("searchbox", name="Search findings").fill("nothing-is-called-this")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("No findings match this search.")).to_be_visible()
    screenshot("findings-empty")
