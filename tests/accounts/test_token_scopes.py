"""API tokens: scopes (a read token may not change anything), expiry (default 90 days, at most
365), revocation; refused tokens are a 401 (or a 403 for a missing scope) and audited."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke
from disclosure.errors import ValidationFailed
from disclosure.models import AuditEvent
from tests.disclosure.api.conftest import FINDING_BODY


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_read_token_reads_but_changes_nothing(world):
    _, raw = api_token_create(user=world.lab_user, name="ro", scopes=["read"])
    client = bearer(raw)
    assert client.get("/api/findings/").status_code == 200
    for method in ("post", "patch", "put", "delete"):
        response = getattr(client, method)("/api/findings/", FINDING_BODY, format="json")
        assert response.status_code == 403, method
        assert response.json()["detail"] == "The token lacks the write scope."
    response = client.post("/api/inbox/read-all/")
    assert response.status_code == 403


def test_a_write_token_files_a_finding(world):
    _, raw = api_token_create(user=world.lab_user, name="rw", scopes="read write")
    response = bearer(raw).post("/api/findings/", FINDING_BODY, format="json")
    assert response.status_code == 201


def test_tokens_expire_after_90_days_by_default_and_at_most_365(world):
    token, _ = api_token_create(user=world.lab_user, name="ci")
    assert token.scope_list == ["read", "write"]
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    token, _ = api_token_create(user=world.lab_user, name="ci", expires_in_days=365)
    with pytest.raises(ValidationFailed) as refused:
        api_token_create(user=world.lab_user, name="ci", expires_in_days=366)
    assert "expires_in_days" in refused.value.detail


@pytest.mark.parametrize(
    ("scopes", "days"),
    [(["write"], 5), (["read", "admin"], 5), ("read", 0), ("read", "soon"), ("read", -3)],
)
def test_bad_scopes_or_expiry_are_refused_and_nothing_is_made(world, scopes, days):
    with pytest.raises(ValidationFailed):
        api_token_create(user=world.lab_user, name="ci", scopes=scopes, expires_in_days=days)
    assert not ApiToken.objects.exists()


def test_an_expired_token_is_a_401_saying_so_and_audited(world):
    token, raw = api_token_create(user=world.lab_user, name="ci")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(raw).get("/api/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Token expired."
    refused = AuditEvent.objects.get(action="api_token.refused")
    assert refused.data == {"token": token.prefix, "user": world.lab_user.pk, "reason": "expired"}


def test_a_revoked_token_is_a_401(world):
    token, raw = api_token_create(user=world.lab_user, name="ci")
    api_token_revoke(token=token)
    response = bearer(raw).get("/api/me/")
    assert response.status_code == 401
    assert AuditEvent.objects.get(action="api_token.refused").data["reason"] == "revoked"


@pytest.mark.parametrize(
    "header", ["Bearer fw_not-a-real-token", "Bearer", "Bearer a b", "Bearer \u00e9t\u00e9"]
)
def test_an_unknown_or_malformed_token_is_a_401_and_writes_nothing(world, header):
    response = APIClient().get("/api/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert not AuditEvent.objects.exists()


def test_the_token_page_makes_a_read_only_token_with_an_expiry(client, world):
    client.force_login(world.lab_user)
    response = client.post(
        reverse("tokens"), {"name": "SIEM", "access": "read", "expires_in_days": "7"}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.scope_list == ["read"]
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert "read only" in response.content.decode()


def test_the_token_page_refuses_a_lifetime_over_the_maximum(client, world):
    client.force_login(world.lab_user)
    response = client.post(reverse("tokens"), {"name": "SIEM", "expires_in_days": "400"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_the_command_takes_scopes_and_expiry(world):
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_token",
        world.lab_user.email,
        "--scopes",
        "read",
        "--expires-in-days",
        "7",
        stdout=out,
        stderr=err,
    )
    raw = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert token.scope_list == ["read"]
    assert bearer(raw).post("/api/findings/", FINDING_BODY, format="json").status_code == 403
    with pytest.raises(CommandError, match="1 to 365"):
        call_command("create_api_token", world.lab_user.email, "--expires-in-days", "999")
