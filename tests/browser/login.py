"""Logging in through the pages, as a person does: email and password, then the code from the
authenticator app (each user gets one with the known test secret if they have none)."""

from __future__ import annotations

from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page

from accounts.models import User
from tests.mfa import totp_code_unused, totp_device


def log_in(page: Page, live_server, user: User, password: str) -> None:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or totp_device(user)
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Code", exact=True).fill(totp_code_unused(device))
    page.get_by_role("button", name="Verify").click()
