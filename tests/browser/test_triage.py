"""A finding triaged in Chromium: the coordinator opens the queue, starts triage and asks the lab
for information; the lab answers; the coordinator accepts it with an audience and an embargo end.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from disclosure.models import Delivery, Finding
from tests.browser.login import log_in

QUESTION = "Which checkpoint produced the 31% figure: base or as deployed?"
ANSWER = "The as-deployed checkpoint, with the production system prompt."


def _log_in(browser: Browser, live_server, user, password) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, user, password)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    return page


@pytest.fixture
def shot() -> Callable[[Page, str], None]:
    """Like the screenshot fixture, for pages of several users (FOREWARN_SCREENSHOTS)."""
    setting = os.environ.get("FOREWARN_SCREENSHOTS", "")
    if setting.lower() in {"1", "true", "yes"}:
        setting = str(Path(tempfile.gettempdir()) / "pages")

    def take(page: Page, name: str) -> None:
        if setting:
            Path(setting).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(setting) / f"triage-{name}.png"), full_page=True)

    return take


@pytest.mark.browser
def test_a_coordinator_triages_a_finding_with_the_lab_answering(
    live_server, world, password, browser, shot
):
    finding = world.submitted()

    # The coordinator finds it in the queue and starts triage.
    coordinator = _log_in(browser, live_server, world.coordinator, password)
    coordinator.get_by_role("link", name="Open the queue").click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("Triage queue")
    row = coordinator.get_by_role("row", name=finding.reference)
    expect(row).to_contain_text("Submitted")
    expect(row).to_contain_text("Nobody")
    shot(coordinator, "1-queue")
    row.get_by_role("link", name=finding.reference).click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text(finding.title)
    coordinator.get_by_role("button", name="Start triage").click()
    expect(coordinator.get_by_role("status")).to_contain_text(f"{finding.reference} is in triage")

    # It asks the lab a question, and opens a discussion thread with the lab too.
    coordinator.get_by_label("Message to the lab").fill(QUESTION)
    coordinator.get_by_role("button", name="Request information").click()
    expect(coordinator.get_by_role("status")).to_contain_text("The lab has been asked")
    expect(coordinator.locator(".finding-head")).to_contain_text("Needs information")
    discussion = coordinator.get_by_role("region", name="Discussion")
    discussion.get_by_label("Who can read it").select_option("lab")
    discussion.get_by_label("Subject").fill("Evaluation set-up")
    discussion.get_by_label("Message").fill(
        "Please attach the **harness config**; <script>alert(1)</script> stays text."
    )
    discussion.get_by_role("button", name="Open thread").click()
    expect(coordinator.get_by_role("status")).to_contain_text("opened")
    expect(coordinator.locator(".comment__body strong")).to_have_text("harness config")
    shot(coordinator, "2-coordinator-asked")

    # The lab reads the question on its page and answers.
    lab = _log_in(browser, live_server, world.lab_user, password)
    lab.get_by_role("region", name="Your lab's findings").get_by_role(
        "link", name=finding.reference
    ).click()
    messages = lab.get_by_role("region", name="Messages with the coordinators")
    expect(messages).to_contain_text(QUESTION)
    expect(lab.get_by_role("region", name="Discussion")).to_contain_text("harness config")
    shot(lab, "3-lab-asked")
    lab.get_by_label("Your answer").fill(ANSWER)
    lab.get_by_role("button", name="Send answer").click()
    expect(lab.get_by_role("status")).to_contain_text("back with the coordinators")
    expect(lab.get_by_role("region", name="Messages with the coordinators")).to_contain_text(ANSWER)
    shot(lab, "4-lab-answered")

    # The coordinator reads the answer and accepts with an audience and an embargo end.
    coordinator.reload()
    expect(coordinator.get_by_role("region", name="Messages with the lab")).to_contain_text(ANSWER)
    ends = (datetime.now(UTC) + timedelta(days=10)).replace(second=0, microsecond=0)
    coordinator.get_by_label("Grid ISAC (Energy)").check()
    coordinator.get_by_label("Embargo ends").fill(ends.strftime("%Y-%m-%dT%H:%M"))
    shot(coordinator, "5-coordinator-accepting")
    coordinator.get_by_role("button", name="Accept and notify").click()
    expect(coordinator.get_by_role("status")).to_contain_text("accepted and under embargo")
    audience = coordinator.get_by_role("region", name="Notified organizations")
    expect(audience.get_by_role("row", name="Grid ISAC")).to_contain_text("Not yet")
    shot(coordinator, "6-accepted")

    finding.refresh_from_db()
    assert finding.state == Finding.State.EMBARGOED
    assert finding.embargo_ends_at == ends
    told = Delivery.objects.filter(
        finding=finding, event=Delivery.Event.TRIAGED, channel=Delivery.Channel.EMAIL
    )
    assert sorted(told.values_list("cause__to_state", flat=True)) == ["accepted", "needs_info"]
