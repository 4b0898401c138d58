"""A coordinator without an authenticator logs in, is sent to set one up, scans (here: reads)
the secret, confirms with a code, saves the recovery codes, and later logs in with a code."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import SealedTOTPDevice
from tests.mfa import totp_code, totp_code_unused


@pytest.mark.browser
def test_a_coordinator_enrols_an_authenticator_and_logs_in_with_a_code(
    live_server, world, password, page, screenshot
):
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Email").fill(world.coordinator.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")
    qr = page.get_by_role("img", name="QR code to scan with your authenticator app")
    expect(qr).to_be_visible()
    page.wait_for_load_state("load")
    assert qr.evaluate("img => img.naturalWidth") > 0  # the SVG loaded
    screenshot("mfa-setup")
    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    device = SealedTOTPDevice.objects.get(user=world.coordinator, confirmed=False)
    assert b32decode(secret) == device.bin_key  # what the person types into their app

    page.get_by_label("Code", exact=True).fill(totp_code(device))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{8}", c) for c in codes)
    screenshot("mfa-recovery-codes")
    page.get_by_role("link", name="I have saved them, continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email").fill(world.coordinator.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    page.get_by_label("Code", exact=True).fill(wrong)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    screenshot("mfa-verify-wrong")
    page.wait_for_timeout(1100)  # django-otp's wait after one wrong code
    page.get_by_label("Code", exact=True).fill(totp_code_unused(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Security").click()
    expect(page.get_by_role("row", name=re.compile(device.name))).to_be_visible()
    expect(page.get_by_text("10 unused recovery codes left")).to_be_visible()
    screenshot("account-security")
