"""Sessions end after SESSION_IDLE_TIMEOUT_SECONDS without a request (sliding) or
SESSION_ABSOLUTE_TIMEOUT_SECONDS after login; a forged session cookie is just anonymous; every
session is indexed for offboarding."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.models import UserSession
from accounts.sessions import AUTH_AT, SEEN_AT
from disclosure.models import AuditEvent
from tests.mfa import session_edit


def test_the_defaults_are_30_minutes_idle_and_12_hours_in_all():
    assert settings.SESSION_IDLE_TIMEOUT_SECONDS == 30 * 60
    assert settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS == 12 * 3600


def test_an_idle_session_is_logged_out_with_a_message(client, world):
    client.force_login(world.lab_user)
    key = client.session.session_key
    session_edit(client, **{SEEN_AT: int(time.time()) - settings.SESSION_IDLE_TIMEOUT_SECONDS - 5})
    response = client.get("/inbox/", follow=True)
    assert response.redirect_chain[0][0] == f"{reverse('login')}?next=/inbox/"
    assert "after 30 minutes without activity" in response.content.decode()
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(user=world.lab_user).exists()
    expired = AuditEvent.objects.get(action="auth.session_expired")
    assert expired.actor == world.lab_user
    assert expired.data["reason"] == "idle"


def test_activity_slides_the_idle_timeout(client, world):
    client.force_login(world.lab_user)
    nearly = int(time.time()) - settings.SESSION_IDLE_TIMEOUT_SECONDS + 60
    session_edit(client, **{SEEN_AT: nearly})
    assert client.get("/inbox/").status_code == 200
    assert client.session[SEEN_AT] > nearly  # a request moved it on
    assert client.get("/inbox/").status_code == 200


def test_the_absolute_timeout_ends_even_an_active_session(client, world):
    client.force_login(world.lab_user)
    session_edit(
        client, **{AUTH_AT: int(time.time()) - settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS - 1}
    )
    response = client.get("/", follow=True)
    assert "12-hour limit" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.get(action="auth.session_expired").data["reason"] == "absolute"


def test_an_expired_session_on_the_api_is_anonymous(client, world):
    client.force_login(world.lab_user)
    session_edit(client, **{SEEN_AT: 0})
    assert client.get("/api/me/").status_code in {401, 403}
    assert "_auth_user_id" not in client.session


def test_requests_within_a_minute_do_not_write_the_session(
    client, world, django_assert_num_queries
):
    client.force_login(world.lab_user)
    client.get("/api/me/")
    with django_assert_num_queries(3):  # session, user, memberships; no session UPDATE
        client.get("/api/me/")


@pytest.mark.parametrize(
    "cookie", ["nonsense", "x" * 40, "", "' OR 1=1 --", "a" * 5000, "\u00e9\u00e9\u00e9"]
)
def test_a_forged_session_cookie_is_anonymous_not_an_error(world, cookie):
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.get("/api/me/").status_code in {401, 403}


def test_another_users_session_id_with_a_tampered_letter_is_anonymous(client, world):
    client.force_login(world.lab_user)
    key = client.session.session_key
    forged = Client()
    forged.cookies[settings.SESSION_COOKIE_NAME] = key[:-1] + ("a" if key[-1] != "a" else "b")
    assert forged.get("/")["Location"].startswith(reverse("login"))


def test_login_indexes_the_session_and_logout_removes_it(world, password):
    client = Client()
    client.post(reverse("login"), {"username": world.lab_user.email, "password": password})
    row = UserSession.objects.get(user=world.lab_user)
    assert row.session_key == client.session.session_key
    assert row.ip_address == "127.0.0.1"
    client.post(reverse("logout"))
    assert not UserSession.objects.exists()
    assert AuditEvent.objects.filter(action="auth.logout").exists()
