"""Chromium enforces the Content-Security-Policy on every kind of page, and nothing breaks.

Each page records the policy violations the browser reports (the ``securitypolicyviolation``
event); there must be none, while Swagger UI renders the API and the admin works. The last
test injects an inline script to show that the policy is enforced and the recording works.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

RECORD = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.effectiveDirective} ${e.blockedURI}`);
});
"""


def _sign_in(page: Page, live_server, user) -> None:
    """Give the browser the session of a Django test client (past MFA, as conftest sets up)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def _violations(page: Page, live_server, path: str) -> list[str]:
    page.goto(live_server.url + path)
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__csp")


@pytest.mark.browser
def test_pages_api_docs_and_admin_run_with_no_violation(live_server, world, page, screenshot):
    page.add_init_script(RECORD)
    finding = world.embargoed()
    seen: dict[str, list[str]] = {}

    for path in ("/login/", "/advisories/", "/apply/"):
        seen[path] = _violations(page, live_server, path)

    page.goto(live_server.url + "/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    page.locator(".opblock-summary").first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
    screenshot("api-docs")
    seen["/api/docs/"] = page.evaluate("window.__csp")

    _sign_in(page, live_server, world.defender_user)
    for path in ("/", f"/findings/{finding.reference}/", "/inbox/", "/account/tokens/"):
        seen[path] = _violations(page, live_server, path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    world.coordinator.is_staff = world.coordinator.is_superuser = True
    world.coordinator.save()
    _sign_in(page, live_server, world.coordinator)
    for path in (
        "/admin/",
        "/admin/disclosure/finding/",
        f"/admin/disclosure/finding/{finding.pk}/change/",
    ):
        seen[path] = _violations(page, live_server, path)
    expect(page.locator("#content")).to_be_visible()
    screenshot("admin-finding")

    assert {path: found for path, found in seen.items() if found} == {}


@pytest.mark.browser
def test_an_inline_script_is_refused_and_reported(live_server, db, page):
    page.add_init_script(RECORD)
    page.goto(live_server.url + "/login/")
    page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.__ran = true";
          document.body.appendChild(s);
        }"""
    )
    assert page.evaluate("window.__ran") is None
    assert page.evaluate("window.__csp") == ["script-src-elem inline"]
