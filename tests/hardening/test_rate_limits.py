"""Rate limits: the API per anonymous address, per user and per token; log in, its second step
(codes, security keys) and the public application form per address. Past a limit the answer is
a 429 with Retry-After and a message.

The test settings turn every limit off; each test sets the rates it needs, low.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tokens import api_token_create
from config.settings import base


@pytest.fixture
def rates(settings):
    def set_rates(**scoped: str | None) -> None:
        current = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **current,
            "DEFAULT_THROTTLE_RATES": {**current["DEFAULT_THROTTLE_RATES"], **scoped},
        }

    return set_rates


def _bearer(user, name: str = "rate test") -> APIClient:
    _, raw = api_token_create(user=user, name=name)
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")


def _retry_after(response) -> int:
    seconds = int(response["Retry-After"])
    assert 1 <= seconds <= 3600
    return seconds


def test_every_scope_has_a_rate_in_the_shipped_settings():
    shipped = base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert set(shipped) == {"anon", "user", "token", "login", "mfa", "public_form"}
    assert all(rate for rate in shipped.values())
    assert set(base.RATE_LIMITED_POSTS.values()) <= set(shipped)


def test_anonymous_api_use_is_limited_per_address(client, db, rates):
    rates(anon="3/min")
    url = reverse("api:advisory-list")
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(url)
    assert refused.status_code == 429
    assert "throttled" in refused.json()["detail"].lower()
    _retry_after(refused)
    # Another address has its own budget.
    assert client.get(url, REMOTE_ADDR="192.0.2.7").status_code == 200


def test_the_health_probe_is_never_limited(client, db, rates):
    rates(anon="1/min")
    assert {client.get(reverse("api:health")).status_code for _ in range(5)} == {200}


def test_a_signed_in_user_is_limited_per_user(client, world, rates):
    rates(user="2/min")
    client.force_login(world.lab_user)
    url = reverse("api:me")
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    assert client.get(url).status_code == 429
    other = APIClient()
    other.force_login(world.coordinator)
    assert other.get(url).status_code == 200


def test_each_token_has_its_own_budget(world, rates):
    rates(token="2/min")
    first, second = _bearer(world.lab_user, "first"), _bearer(world.lab_user, "second")
    url = reverse("api:me")
    assert [first.get(url).status_code for _ in range(2)] == [200, 200]
    refused = first.get(url)
    assert refused.status_code == 429
    _retry_after(refused)
    assert second.get(url).status_code == 200


def test_tokens_of_one_user_share_the_user_budget(world, rates):
    rates(user="3/min", token="100/min")
    first, second = _bearer(world.lab_user, "first"), _bearer(world.lab_user, "second")
    url = reverse("api:me")
    assert [c.get(url).status_code for c in (first, second, first)] == [200, 200, 200]
    assert second.get(url).status_code == 429


def test_login_posts_are_limited_per_address(client, world, password, rates):
    rates(login="3/min")
    url = reverse("login")
    wrong = {"username": world.lab_user.email, "password": "not-the-password"}
    assert [client.post(url, wrong).status_code for _ in range(3)] == [400, 400, 400]
    refused = client.post(url, {"username": world.lab_user.email, "password": password})
    assert refused.status_code == 429
    assert "Try again in" in refused.content.decode()
    assert refused["Content-Type"].startswith("text/html")
    _retry_after(refused)
    assert "_auth_user_id" not in client.session  # refused before the password was checked
    # Reading the page is not limited; another address may still log in.
    assert client.get(url).status_code == 200
    other = client.post(
        url, {"username": world.lab_user.email, "password": password}, REMOTE_ADDR="192.0.2.9"
    )
    assert other.status_code == 302


def test_the_admin_login_shares_the_login_budget(client, db, rates):
    rates(login="1/min")
    assert client.post(reverse("login"), {"username": "a@b.example"}).status_code == 400
    assert client.post(reverse("admin:login"), {"username": "a@b.example"}).status_code == 429


def test_the_application_page_and_api_share_one_budget(client, db, rates):
    rates(public_form="2/hour")
    assert client.post(reverse("apply"), {}).status_code == 400
    assert (
        client.post(reverse("api:applications"), {}, content_type="application/json").status_code
        == 400
    )
    page = client.post(reverse("apply"), {})
    api = client.post(reverse("api:applications"), {}, content_type="application/json")
    assert page.status_code == 429 and api.status_code == 429
    assert "Too many requests" in api.json()["detail"]
    assert _retry_after(api) > 60  # an hourly budget: come back later, not in a second
    assert client.get(reverse("apply")).status_code == 200


def test_a_forged_forwarded_for_header_does_not_reset_the_budget(client, db, rates):
    rates(login="2/min")
    url = reverse("login")
    codes = [
        client.post(url, {}, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(3)
    ]
    assert codes == [400, 400, 429]


def test_behind_a_proxy_the_forwarded_address_is_the_client(client, db, rates, settings):
    rates(login="1/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    url = reverse("login")
    assert client.post(url, {}, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 400
    assert client.post(url, {}, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 400
    assert client.post(url, {}, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_the_counters_live_in_redis_when_it_is_configured(client, db, rates, settings):
    """Production counts in Redis so that every web process shares one budget."""
    prefix = f"forewarn-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": prefix,
        }
    }
    rates(login="1/min")
    from django.core.cache import cache

    try:
        assert client.post(reverse("login"), {}).status_code == 400
        assert client.post(reverse("login"), {}).status_code == 429
        keys = cache._cache.get_client().keys(f"{prefix}:*")
        assert keys, "no counter in Redis"
    finally:
        client_ = cache._cache.get_client()
        for key in client_.keys(f"{prefix}:*"):
            client_.delete(key)


@pytest.mark.parametrize(
    ("redis_url", "backend"),
    [("redis://127.0.0.1:1/3", "RedisCache"), ("", "FileBasedCache")],
)
def test_the_cache_is_redis_when_redis_url_is_set_else_files(tmp_path, redis_url, backend):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "REDIS_URL": redis_url,
        "FOREWARN_VAR_DIR": str(tmp_path),
    }
    code = "import django; from django.conf import settings; django.setup(); "
    code += "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    used, location = result.stdout.split()
    assert used.endswith(backend)
    assert location == (redis_url or str(tmp_path / "cache"))
