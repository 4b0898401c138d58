"""A person adds a security key on the Security page and logs in with their password and the key.

Chromium's virtual authenticator (DevTools protocol, WebAuthn domain) plays the key: a CTAP2 USB
key that verifies its user, so the browser's own WebAuthn code runs against our pages' script,
under the Content-Security-Policy. localhost over http is a secure context, so the RP ID is
"localhost" and the allowed origin is the live server's.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import Page, expect

from disclosure.models import AuditEvent
from tests.browser.test_csp import RECORD

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "usb",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def _virtual_key(page: Page) -> tuple[object, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return cdp, added["authenticatorId"]


def _password_login(page: Page, site: str, email: str, password: str) -> None:
    page.goto(site + reverse("login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.browser
def test_a_person_adds_a_security_key_and_logs_in_with_it(
    live_server, world, password, page, screenshot, settings
):
    assert live_server.url.startswith("http://localhost:")
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    page.add_init_script(RECORD)
    cdp, authenticator = _virtual_key(page)
    user = world.defender_user

    _password_login(page, live_server.url, user.email, password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Security").click()
    page.get_by_role("link", name="Add a security key").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up a security key")
    page.get_by_label("Name").fill("Blue key")
    screenshot("security-key-add")
    page.get_by_role("button", name="Add security key").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    assert page.evaluate("window.__csp") == []
    page.get_by_role("link", name="I have saved them, continue").click()
    expect(page.get_by_role("row", name=re.compile("Blue key"))).to_be_visible()
    screenshot("security-key-listed")
    stored = WebAuthnCredential.objects.get(user=user)
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1

    page.get_by_role("button", name="Log out").click()
    _password_login(page, live_server.url, user.email, password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Use your security key")
    assert page.evaluate("window.__csp") == []
    screenshot("security-key-verify")
    page.get_by_role("button", name="Use security key").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    verified = AuditEvent.objects.filter(action="mfa.verified").get()
    assert verified.actor == user
    assert verified.data == {"device": stored.persistent_id, "step": "login"}
    stored.refresh_from_db()
    assert stored.last_used_at is not None


@pytest.mark.browser
def test_at_an_address_that_is_not_the_relying_party_the_page_says_where_keys_work(
    live_server, world, password, page, screenshot, settings
):
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    page.add_init_script(RECORD)
    user = world.defender_user
    WebAuthnCredential.objects.create(
        user=user, name="Blue key", confirmed=True, credential_id=b"k" * 32, public_key=b"-"
    )
    by_ip = live_server.url.replace("//localhost:", "//127.0.0.1:")

    _password_login(page, by_ip, user.email, password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Use your security key")
    expect(page.get_by_role("status")).to_contain_text(
        "Security keys work only at the site's own address (localhost)"
    )
    expect(page.get_by_role("button", name="Use security key")).to_be_disabled()
    assert page.evaluate("window.__csp") == []
    screenshot("security-key-wrong-address")
