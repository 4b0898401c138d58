"""Where MFA and re-authentication are required: embargoed evidence, keys, webhooks,
memberships and tokens need a session that passed MFA; changing them also a fresh password or
code. The API asks the same of sessions and lets tokens through."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.tokens import api_token_create
from disclosure.models import Attachment, WebhookEndpoint
from disclosure.services.attachments import attachment_add
from tests.factories import MembershipFactory, UserFactory
from tests.factories.attachments import PDF, upload
from tests.mfa import session_mfa_verified, totp_device

VERIFY = reverse("mfa-verify")
SETUP = reverse("mfa-setup")
REAUTH = reverse("reauthenticate")


@pytest.fixture
def org_admin(world):
    user = UserFactory(email="admin@grid.example")
    MembershipFactory(user=user, organization=world.defender, role=Membership.Role.ADMIN)
    return user


def unverified(user, *, has_device: bool = False) -> Client:
    if has_device:
        totp_device(user)
    client = Client()
    client.force_login(user)
    session = client.session
    session.pop("otp_device_id", None)
    session.save()
    return client


@pytest.fixture
def page_gates(world, org_admin):
    """(method, url) of every page that needs an MFA-verified session."""
    slug = world.defender.slug
    member = Membership.objects.get(user=world.defender_user, organization=world.defender)
    return [
        ("get", reverse("account-openpgp-key")),
        ("post", reverse("account-openpgp-key-remove")),
        ("get", reverse("tokens")),
        ("get", reverse("organization-webhooks", args=[slug])),
        ("post", reverse("organization-invite", args=[slug])),
        ("post", reverse("organization-contact-update", args=[slug, member.pk])),
        ("post", reverse("organization-contact-remove", args=[slug, member.pk])),
    ]


@pytest.mark.parametrize("has_device", [False, True])
def test_every_gated_page_sends_an_unverified_session_to_mfa(
    world, org_admin, page_gates, has_device
):
    client = unverified(org_admin, has_device=has_device)
    target = VERIFY if has_device else SETUP
    for method, url in page_gates:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(target), url
    assert Membership.objects.filter(user=world.defender_user).exists()  # nothing happened


def test_a_verified_session_gets_in(world, org_admin, client):
    client.force_login(org_admin)
    assert (
        client.get(reverse("organization-webhooks", args=[world.defender.slug])).status_code == 200
    )
    assert client.get(reverse("account-openpgp-key")).status_code == 200


def test_an_attachment_download_needs_mfa(world):
    finding = world.embargoed()
    attachment = attachment_add(
        actor=world.lab_user, finding=finding, upload=upload("range.pdf", PDF)
    )
    url = reverse("finding-attachment", args=[finding.reference, attachment.pk])
    response = unverified(world.defender_user).get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)
    api = APIClient()
    api.force_login(world.defender_user)
    session = api.session
    session.pop("otp_device_id")
    session.save()
    api_url = f"/api/findings/{finding.reference}/attachments/{attachment.pk}/download/"
    assert api.get(api_url).status_code == 403
    verified = Client()
    verified.force_login(world.defender_user)
    assert verified.get(url).status_code == 200
    assert Attachment.objects.count() == 1


def test_changes_need_a_fresh_password_and_come_back_to_the_form(world, org_admin, password):
    client = Client()
    client.force_login(org_admin)
    session_mfa_verified(client, reauth_age=3600)
    page = "http://testserver" + reverse("organization-webhooks", args=[world.defender.slug])
    response = client.post(
        reverse("organization-webhooks", args=[world.defender.slug]),
        {"url": "http://127.0.0.1:9/hook"},
        HTTP_REFERER=page,
    )
    assert response.status_code == 302
    assert response["Location"].startswith(REAUTH)
    assert not WebhookEndpoint.objects.exists()
    back = client.post(REAUTH, {"password": password, "next": page})
    assert back["Location"] == page
    created = client.post(
        reverse("organization-webhooks", args=[world.defender.slug]),
        {"url": "http://127.0.0.1:9/hook"},
    )
    assert created.status_code == 200
    assert WebhookEndpoint.objects.count() == 1


def test_removing_a_member_needs_a_fresh_password(world, org_admin):
    client = Client()
    client.force_login(org_admin)
    session_mfa_verified(client, reauth_age=3600)
    member = Membership.objects.get(user=world.defender_user, organization=world.defender)
    url = reverse("organization-contact-remove", args=[world.defender.slug, member.pk])
    assert client.post(url)["Location"].startswith(REAUTH)
    assert Membership.objects.filter(pk=member.pk).exists()


def test_a_token_is_made_only_by_a_session_that_passed_mfa(world):
    client = unverified(world.lab_user)
    assert client.post(reverse("tokens"), {"name": "ci"})["Location"].startswith(SETUP)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/api/me/openpgp-key/", {"armored": "x"}),
        ("delete", "/api/me/openpgp-key/", None),
        ("get", "/api/organizations/grid-isac/webhooks/", None),
        ("post", "/api/organizations/grid-isac/webhooks/", {"url": "http://127.0.0.1:9/"}),
        ("post", "/api/organizations/grid-isac/invitations/", {"email": "x@grid.example"}),
        ("delete", "/api/organizations/grid-isac/contacts/1/", None),
    ],
)
def test_the_api_refuses_these_to_an_unverified_session_and_serves_a_token(
    world, org_admin, method, path, body
):
    api = APIClient()
    api.force_login(org_admin)
    session = api.session
    session.pop("otp_device_id")
    session.save()
    response = getattr(api, method)(path, body, format="json")
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]
    _, raw = api_token_create(user=org_admin, name="ci")
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    answered = getattr(by_token, method)(path, body, format="json")
    assert answered.status_code != 403 or "two-factor" not in answered.json()["detail"]


def test_reading_ones_own_key_by_api_needs_no_mfa(world):
    api = APIClient()
    api.force_login(world.defender_user)
    session = api.session
    session.pop("otp_device_id")
    session.save()
    assert api.get("/api/me/openpgp-key/").status_code == 404  # none: but not refused
