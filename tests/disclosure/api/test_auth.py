"""Bearer tokens authenticate API calls; a revoked, unknown or malformed one is a 401."""

from rest_framework.test import APIClient

from accounts.tokens import api_token_create, api_token_revoke
from tests.disclosure.api.conftest import FINDING_BODY


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_bearer_token_authenticates_its_user(world):
    _, raw = api_token_create(user=world.lab_user, name="ci")
    response = _bearer(raw).get("/api/me/")
    assert response.status_code == 200
    assert response.json()["email"] == "dev@lab.example"


def test_a_bearer_token_can_file_a_finding(world):
    _, raw = api_token_create(user=world.lab_user, name="ci")
    response = _bearer(raw).post("/api/findings/", FINDING_BODY, format="json")
    assert response.status_code == 201, response.content


def test_a_revoked_token_is_401(world):
    token, raw = api_token_create(user=world.lab_user, name="ci")
    api_token_revoke(token=token)
    response = _bearer(raw).get("/api/me/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_an_unknown_token_is_401(world):
    response = _bearer("fw_not-a-real-token").get("/api/findings/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_bearer_header_without_a_token_is_401(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer")
    assert client.get("/api/me/").status_code == 401


def test_an_anonymous_caller_must_log_in_to_list_or_file_findings(db):
    client = APIClient()
    assert client.get("/api/findings/").status_code == 401
    assert client.post("/api/findings/", {}, format="json").status_code == 401
    assert client.get("/api/me/").status_code == 401
    assert client.get("/api/organizations/").status_code == 401
