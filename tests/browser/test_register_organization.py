"""Registering a defender organization in Chromium: the public form, a coordinator verifies it,
the applicant follows the emailed link, chooses a password and lands on the organization page."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Membership, Organization, User
from tests.accounts.conftest import LINK_RE
from tests.browser.login import log_in

APPLICANT = "ines@harbour-water.example"
PASSWORD = "quiet-harbour-lantern-42"


@pytest.mark.browser
def test_registering_an_organization(live_server, world, password, page, screenshot):
    # An anonymous visitor finds the form from the login page and applies.
    page.goto(live_server.url + reverse("login"))
    page.get_by_role("link", name="Register your organization").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a defender organization")
    page.get_by_label("Organization name").fill("Harbour Water Authority")
    page.get_by_label("Country").select_option("NL")
    page.get_by_label("Website (optional)").fill("https://harbour-water.example")
    page.get_by_label("Water and Wastewater Systems").check()
    page.get_by_label("Emergency Services").check()
    page.get_by_label("About the organization").fill(
        "We treat drinking water for two million people around the harbour."
    )
    page.get_by_label("Your name").fill("Ines de Vries")
    page.get_by_label("Your work email").fill(APPLICANT)
    expect(page.get_by_label("Leave this empty")).not_to_be_in_viewport()
    screenshot("apply-form")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Application received")
    org = Organization.objects.get(name="Harbour Water Authority")
    assert org.status == Organization.Status.APPLIED

    # A coordinator reviews the applications and verifies it.
    log_in(page, live_server, world.coordinator, password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Organizations").click()
    row = page.get_by_role("row", name="Harbour Water Authority")
    expect(row).to_contain_text("Applied, awaiting verification")
    expect(row).to_contain_text(APPLICANT)
    screenshot("coordinator-applications")
    row.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_contain_text("Harbour Water Authority is verified")
    page.get_by_role("button", name="Log out").click()
    org.refresh_from_db()
    assert org.is_verified

    # The applicant follows the link the application emailed them.
    (invitation_mail,) = [m for m in mail.outbox if "Confirm your address" in m.subject]
    assert invitation_mail.to == [APPLICANT]
    link = LINK_RE.search(invitation_mail.body)
    assert link is not None
    path = link.group(0)[link.group(0).index("/invitations/") :]
    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Join Harbour Water Authority")
    page.get_by_label("Your name").fill("Ines de Vries")
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("The password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account and join").click()

    # ... and lands on the organization page, logged in, as its admin and primary contact.
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Water Authority")
    expect(page.get_by_role("status")).to_contain_text("Welcome to Harbour Water Authority")
    contacts = page.get_by_role("region", name="Contacts")
    expect(contacts.get_by_role("row", name=APPLICANT)).to_be_visible()
    expect(page.get_by_role("link", name="My organization")).to_be_visible()
    expect(page.get_by_role("heading", name="Keys and webhook endpoints")).to_be_visible()
    screenshot("organization-page")

    user = User.objects.get(email=APPLICANT)
    assert user.email_verified_at is not None
    membership = Membership.objects.get(user=user, organization=org)
    assert (membership.role, membership.contact_role) == ("admin", "primary")

    # The link worked once.
    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link cannot be used")
