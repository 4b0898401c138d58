"""Offboarding: removing someone from an organization or deactivating them ends their sessions
and revokes their API tokens at once; their next request is anonymous or a 401."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.contacts import membership_remove
from accounts.models import ApiToken, Membership, UserSession
from accounts.offboarding import user_deactivate
from accounts.tokens import api_token_create
from disclosure.errors import NotAllowed
from disclosure.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def org_admin(world):
    user = UserFactory(email="admin@grid.example")
    MembershipFactory(user=user, organization=world.defender, role=Membership.Role.ADMIN)
    return user


def logged_in(user) -> tuple[Client, Client]:
    browser, laptop = Client(), Client()
    browser.force_login(user)
    laptop.force_login(user)
    assert browser.get("/api/me/").status_code == 200
    return browser, laptop


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_removal_from_an_organization_ends_sessions_and_tokens_at_once(world, org_admin):
    browser, laptop = logged_in(world.defender_user)
    _, raw = api_token_create(user=world.defender_user, name="siem")
    assert bearer(raw).get("/api/me/").status_code == 200
    membership = Membership.objects.get(user=world.defender_user, organization=world.defender)
    membership_remove(actor=org_admin, membership=membership)
    for client in (browser, laptop):
        assert client.get("/")["Location"].startswith("/login/")
    response = bearer(raw).get("/api/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked token."
    assert not UserSession.objects.filter(user=world.defender_user).exists()
    ended = AuditEvent.objects.get(action="user.access_ended")
    assert ended.actor == org_admin
    assert ended.data["sessions"] == 2
    assert ended.data["tokens"] == 1
    assert AuditEvent.objects.filter(action="api_token.refused").exists()


def test_removal_through_the_page_logs_the_member_out(world, org_admin):
    member_browser, _ = logged_in(world.defender_user)
    admin = Client()
    admin.force_login(org_admin)
    membership = Membership.objects.get(user=world.defender_user, organization=world.defender)
    response = admin.post(f"/organizations/grid-isac/contacts/{membership.pk}/remove/")
    assert response.status_code == 302
    assert member_browser.get("/inbox/")["Location"].startswith("/login/")
    assert admin.get("/inbox/").status_code == 200  # the admin's own session goes on


def test_a_coordinator_deactivates_an_account_and_it_stops_working(world):
    browser, _ = logged_in(world.lab_user)
    _, raw = api_token_create(user=world.lab_user, name="ci")
    user_deactivate(actor=world.coordinator, user=world.lab_user)
    assert browser.get("/")["Location"].startswith("/login/")
    assert bearer(raw).get("/api/me/").status_code == 401
    assert ApiToken.objects.get().revoked_at is not None
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "user.access_ended" in actions and "user.deactivated" in actions


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_only_coordinators_deactivate(world, who):
    with pytest.raises(NotAllowed):
        user_deactivate(actor=getattr(world, who), user=world.other_lab_user)
    world.other_lab_user.refresh_from_db()
    assert world.other_lab_user.is_active


def test_nobody_deactivates_themselves(world):
    with pytest.raises(NotAllowed):
        user_deactivate(actor=world.coordinator, user=world.coordinator)


def test_deactivating_anywhere_else_ends_access_too(world):
    """E.g. unticking "active" in the admin, which saves the user."""
    browser, _ = logged_in(world.lab_user)
    _, raw = api_token_create(user=world.lab_user, name="ci")
    world.lab_user.is_active = False
    world.lab_user.save()
    assert browser.get("/")["Location"].startswith("/login/")
    assert bearer(raw).get("/api/me/").status_code == 401
    assert AuditEvent.objects.get(action="user.access_ended").data["reason"] == "deactivated"


def test_saving_an_active_user_ends_nothing(world):
    browser, _ = logged_in(world.lab_user)
    world.lab_user.full_name = "Renamed"
    world.lab_user.save()
    assert browser.get("/api/me/").status_code == 200
    assert not AuditEvent.objects.filter(action="user.access_ended").exists()
