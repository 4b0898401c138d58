"""Playwright driving Debian's Chromium package (Playwright's own browser download is not used)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("FOREWARN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"No Chromium at {CHROMIUM}: apt-get install -y chromium")
    # Playwright's sync API runs an event loop in this thread, so Django would refuse the test's
    # own database calls as "async-unsafe". They are plain synchronous calls; allow them here only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page: Page) -> Callable[[str], None]:
    """Save full-page screenshots for a human to review when FOREWARN_SCREENSHOTS is set.

    Its value is the directory; "1" (or "true", "yes") means <tmp>/pages, e.g. /tmp/pages.
    """
    setting = os.environ.get("FOREWARN_SCREENSHOTS", "")
    if setting.lower() in {"1", "true", "yes"}:
        setting = str(Path(tempfile.gettempdir()) / "pages")

    def take(name: str) -> None:
        if setting:
            Path(setting).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(setting) / f"{name}.png"), full_page=True)

    return take
