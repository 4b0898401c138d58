"""Bad credentials are refused with a status and a message that say so, and are logged or
audited, never with the secret: replayed codes, refused API tokens (expired, revoked, of a
deactivated user), session cookies that name no session, forged CSRF cookies.

(Wrong and replayed codes at login, expired and revoked tokens and the tokens of a removed
member have their own tests in tests/accounts/; these add what those leave out.)
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.mfa import REAUTH_AT
from accounts.models import ApiToken, User
from accounts.tokens import api_token_create, api_token_revoke
from disclosure.models import AuditEvent
from tests.mfa import session_edit, totp_code, totp_device

GARBAGE_CSRF = "x" * 32  # the right length, not a token this site made
REAUTH = reverse("reauthenticate")


def _bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def _expire(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def _revoke(token: ApiToken) -> None:
    api_token_revoke(token=token)


def _deactivate_quietly(token: ApiToken) -> None:
    """Deactivated without the signal that revokes tokens (e.g. a bulk update)."""
    User.objects.filter(pk=token.user_id).update(is_active=False)


@pytest.mark.parametrize(
    ("spoil", "detail", "reason"),
    [
        (_expire, "Token expired.", "expired"),
        (_revoke, "Invalid or revoked token.", "revoked"),
        (_deactivate_quietly, "Invalid or revoked token.", "user inactive"),
    ],
    ids=["expired", "revoked", "user deactivated"],
)
def test_a_refused_token_is_a_401_logged_and_audited_without_the_secret(
    world, caplog, spoil, detail, reason
):
    token, raw = api_token_create(user=world.lab_user, name="ci")
    spoil(token)
    with caplog.at_level(logging.WARNING, logger="accounts.tokens"):
        response = _bearer(raw).get("/api/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == detail
    logged = [r.getMessage() for r in caplog.records if r.name == "accounts.tokens"]
    assert logged == [f"API token {token.prefix} of user {world.lab_user.pk} refused: {reason}"]
    assert raw not in caplog.text
    refused = AuditEvent.objects.get(action="api_token.refused")
    assert refused.data == {"token": token.prefix, "user": world.lab_user.pk, "reason": reason}


def test_the_token_of_a_user_deactivated_behind_the_apps_back_writes_nothing(world):
    token, raw = api_token_create(user=world.lab_user, name="ci")
    _deactivate_quietly(token)
    response = _bearer(raw).post("/api/inbox/read-all/", {}, content_type="application/json")
    assert response.status_code == 401
    assert not AuditEvent.objects.filter(action="inbox.read_all").exists()


@pytest.mark.mfa_unverified
def test_a_code_used_to_log_in_is_refused_to_confirm_it_is_you(client, world, password):
    device = totp_device(world.defender_user)
    code = totp_code(device)
    client.post(reverse("login"), {"username": world.defender_user.email, "password": password})
    assert client.post(reverse("mfa-verify"), {"token": code}).status_code == 302
    session_edit(client, **{REAUTH_AT: 0})  # a sensitive change asks again
    response = client.post(REAUTH, {"token": code, "next": "/account/security/"})
    assert response.status_code == 400
    assert "not right" in response.content.decode()
    failed = AuditEvent.objects.get(action="mfa.failed")
    assert failed.data == {"kind": "totp", "step": "reauth"}
    assert client.session[REAUTH_AT] == 0


def test_a_session_cookie_that_names_no_session_is_logged_without_its_value(db, caplog):
    client = Client()
    forged = "forged0session0key0that0names0nothing"
    client.cookies[settings.SESSION_COOKIE_NAME] = forged
    with caplog.at_level(logging.INFO, logger="accounts.middleware"):
        response = client.get("/api/me/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Authentication credentials were not provided."
    assert "names no session" in caplog.text
    assert forged not in caplog.text


def test_a_live_session_logs_nothing_about_its_cookie(client, world, caplog):
    client.force_login(world.lab_user)
    with caplog.at_level(logging.INFO, logger="accounts.middleware"):
        assert client.get("/api/me/").status_code == 200
    assert "names no session" not in caplog.text


@pytest.mark.parametrize("cookie", [GARBAGE_CSRF, "short", "\u00e9" * 32, ""])
def test_a_form_post_with_a_forged_csrf_cookie_is_a_logged_403_that_changes_nothing(
    world, caplog, cookie
):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.lab_user)
    client.cookies[settings.CSRF_COOKIE_NAME] = cookie
    with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
        response = client.post(
            reverse("tokens"), {"name": "CI", "csrfmiddlewaretoken": GARBAGE_CSRF + "y" * 32}
        )
    assert response.status_code == 403
    assert "CSRF verification failed" in response.content.decode()
    assert any(r.name == "django.security.csrf" for r in caplog.records)
    assert not ApiToken.objects.exists()


def test_an_api_write_by_session_with_a_forged_csrf_cookie_is_a_403_saying_so(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.lab_user)
    client.cookies[settings.CSRF_COOKIE_NAME] = GARBAGE_CSRF
    response = client.post(
        "/api/inbox/read-all/",
        {},
        content_type="application/json",
        HTTP_X_CSRFTOKEN="z" * 32,
    )
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert not AuditEvent.objects.filter(action="inbox.read_all").exists()
