"""An embargo negotiated in Chromium: the coordinator proposes one on a finding in triage (in
their own time zone) and accepts it without an end of its own; the lab asks for an extension;
the coordinator approves it, then breaks the embargo with a reason. The timeline shows the
proposal, the extension and the break, and the advisory is public."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from disclosure.models import Embargo, Finding
from disclosure.services.triage import finding_triage_start
from tests.browser.login import log_in

BERLIN = ZoneInfo("Europe/Berlin")


def _log_in(browser: Browser, live_server, user, password) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, user, password)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    return page


@pytest.fixture
def shot() -> Callable[[Page, str], None]:
    """Full-page screenshots for a human to review when FOREWARN_SCREENSHOTS is set."""
    setting = os.environ.get("FOREWARN_SCREENSHOTS", "")
    if setting.lower() in {"1", "true", "yes"}:
        setting = str(Path(tempfile.gettempdir()) / "pages")

    def take(page: Page, name: str) -> None:
        if setting:
            Path(setting).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(setting) / f"embargo-{name}.png"), full_page=True)

    return take


def _minute(days: float):
    return (timezone.now() + timedelta(days=days)).astimezone(UTC).replace(second=0, microsecond=0)


@pytest.mark.browser
def test_propose_extend_and_break_an_embargo(live_server, world, password, browser, shot):
    world.coordinator.time_zone = "Europe/Berlin"
    world.coordinator.save()
    finding = finding_triage_start(actor=world.coordinator, finding=world.submitted())
    detail = live_server.url + reverse("finding-detail", args=[finding.reference])

    # The coordinator proposes an end, typed in Berlin time (their zone is filled in).
    coordinator = _log_in(browser, live_server, world.coordinator, password)
    coordinator.goto(detail)
    panel = coordinator.get_by_role("region", name="Embargo", exact=True)
    proposed = _minute(10)
    expect(panel.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    panel.get_by_label("Proposed end").fill(proposed.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M"))
    panel.get_by_label("Reason").fill("Two weeks for the grid operators")
    panel.get_by_role("button", name="Propose embargo").click()
    expect(coordinator.get_by_role("status")).to_contain_text("is proposed")
    panel = coordinator.get_by_role("region", name="Embargo", exact=True)
    berlin = proposed.astimezone(BERLIN)
    expect(panel).to_contain_text(f"{proposed:%Y-%m-%d %H:%M} UTC")
    expect(panel).to_contain_text(f"{berlin:%H:%M} Europe/Berlin")
    shot(coordinator, "1-proposed")

    # It accepts for Grid ISAC without an end of its own: the proposal is taken.
    accept = coordinator.get_by_role("region", name="Accept and start the embargo")
    accept.get_by_label("Grid ISAC (Energy)").check()
    accept.get_by_role("button", name="Accept and notify").click()
    expect(coordinator.get_by_role("status")).to_contain_text("accepted and under embargo")
    finding.refresh_from_db()
    assert (finding.state, finding.embargo_ends_at) == (Finding.State.EMBARGOED, proposed)

    # The lab asks for more time.
    lab = _log_in(browser, live_server, world.lab_user, password)
    lab.goto(detail)
    panel = lab.get_by_role("region", name="Embargo", exact=True)
    requested = _minute(20)
    panel.get_by_label("Requested end").fill(requested.strftime("%Y-%m-%dT%H:%M"))
    panel.get_by_label("Time zone").fill("UTC")
    panel.get_by_label("Why you need more time").fill("Our mitigation ships a week later")
    panel.get_by_role("button", name="Request an extension").click()
    expect(lab.get_by_role("status")).to_contain_text("is with the coordinators")
    expect(lab.get_by_role("region", name="Embargo", exact=True)).to_contain_text("Being revised")
    shot(lab, "2-lab-asked")

    # The coordinator approves it: the end moves.
    coordinator.reload()
    panel = coordinator.get_by_role("region", name="Embargo", exact=True)
    expect(panel).to_contain_text("Our mitigation ships a week later")
    panel.get_by_label("Note to the requester").fill("Granted")
    panel.get_by_role("button", name="Approve").click()
    expect(coordinator.get_by_role("status")).to_contain_text("is approved")
    finding.refresh_from_db()
    assert finding.embargo_ends_at == requested
    shot(coordinator, "3-approved")

    # Then the details leak: it breaks the embargo with a reason, and the finding is public.
    panel = coordinator.get_by_role("region", name="Embargo", exact=True)
    panel.get_by_text("Break the embargo", exact=True).click()
    panel.get_by_label("Details leaked").check()
    panel.get_by_label("What happened").fill("The evaluation was posted on a forum")
    panel.get_by_role("button", name="Break the embargo and release").click()
    expect(coordinator.get_by_role("status")).to_contain_text("is broken")
    expect(coordinator.locator(".finding-head")).to_contain_text("Released")
    assert Embargo.objects.get(finding=finding).end_kind == Embargo.EndKind.BROKEN

    # The timeline tells the story.
    coordinator.get_by_role("link", name="Timeline of this finding").click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("Timeline")
    story = coordinator.get_by_role("region", name="What happened")
    for line in (
        "Embargo proposed",
        "Two weeks for the grid operators",
        "Accepted",
        "Extension requested",
        "Our mitigation ships a week later",
        "Extension approved",
        "Embargo broken: Details leaked",
        "The evaluation was posted on a forum",
        "Released: the advisory is public",
    ):
        expect(story).to_contain_text(line)
    expect(story).to_contain_text(f"{requested.astimezone(BERLIN):%H:%M} Europe/Berlin")
    shot(coordinator, "4-timeline")

    # Anyone can read the advisory now.
    public = browser.new_context().new_page()
    public.goto(live_server.url + reverse("advisory-detail", args=[finding.reference]))
    expect(public.get_by_role("heading", level=1)).to_have_text(finding.title)
    public.context.close()
