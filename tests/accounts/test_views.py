"""Login, logout, the API token page and the create_api_token command."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import ApiToken
from accounts.tokens import api_token_authenticate, api_token_create, token_hash
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD

TOKEN_RE = re.compile(r"fw_[A-Za-z0-9_-]{40,}")


# --- Login and logout


def test_login_page_links_to_the_public_advisories(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert reverse("advisory-list") in response.content.decode()


def test_login_with_email_and_password_signs_in(client, db):
    user = UserFactory(email="dana@lab.example")
    response = client.post(reverse("login"), {"username": "Dana@Lab.example", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_with_a_wrong_password_is_refused(client, db):
    UserFactory(email="dana@lab.example")
    response = client.post(reverse("login"), {"username": "dana@lab.example", "password": "no"})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert "Please enter a correct" in response.content.decode()


def test_login_returns_to_the_page_asked_for(client, db):
    UserFactory(email="dana@lab.example")
    next_url = reverse("finding-detail", args=["FW-2026-0001"])
    response = client.post(
        f"{reverse('login')}?next={next_url}",
        {"username": "dana@lab.example", "password": PASSWORD, "next": next_url},
    )
    assert response.url == next_url


def test_logout_needs_a_post(client, db):
    client.force_login(UserFactory())
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- API tokens page


def test_the_token_page_needs_login(client, db):
    response = client.get(reverse("tokens"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_creating_a_token_shows_it_once_and_stores_only_its_hash(client, db):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("tokens"), {"name": "SIEM"})
    raws = set(TOKEN_RE.findall(response.content.decode()))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert len(raws) == 1
    raw = raws.pop()
    token = ApiToken.objects.get(user=user)
    assert token.key_hash == token_hash(raw)
    assert raw not in {token.key_hash, token.prefix, token.name}
    assert api_token_authenticate(raw) == user
    assert raw not in client.get(reverse("tokens")).content.decode()


def test_the_token_page_lists_only_the_users_own_tokens(client, db):
    user, other = UserFactory(), UserFactory()
    api_token_create(user=user, name="mine")
    api_token_create(user=other, name="theirs")
    client.force_login(user)
    body = client.get(reverse("tokens")).content.decode()
    assert "mine" in body
    assert "theirs" not in body


def test_a_token_needs_a_name(client, db):
    client.force_login(UserFactory())
    response = client.post(reverse("tokens"), {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_user_revokes_their_token(client, db):
    user = UserFactory()
    token, raw = api_token_create(user=user, name="ci")
    client.force_login(user)
    response = client.post(reverse("token-revoke", args=[token.pk]))
    token.refresh_from_db()
    assert response.status_code == 302
    assert token.revoked_at is not None
    assert api_token_authenticate(raw) is None


def test_nobody_revokes_another_users_token(client, db):
    token, _ = api_token_create(user=UserFactory(), name="ci")
    client.force_login(UserFactory())
    response = client.post(reverse("token-revoke", args=[token.pk]))
    token.refresh_from_db()
    assert response.status_code == 404
    assert token.revoked_at is None


# --- create_api_token


def test_create_api_token_prints_a_working_token_once(db):
    user = UserFactory(email="ops@lab.example")
    out = StringIO()
    call_command("create_api_token", "OPS@lab.example", "--name", "deploy", stdout=out)
    raw = out.getvalue().strip()
    token = ApiToken.objects.get(user=user)
    assert TOKEN_RE.fullmatch(raw)
    assert token.name == "deploy"
    assert token.key_hash == token_hash(raw)
    assert api_token_authenticate(raw) == user


def test_create_api_token_refuses_an_unknown_email(db):
    with pytest.raises(CommandError, match="No active user"):
        call_command("create_api_token", "nobody@example.org", stdout=StringIO())
    assert not ApiToken.objects.exists()
