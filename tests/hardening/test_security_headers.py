"""Response headers and cookies; the production settings pass Django's deployment checklist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from config.middleware import permissions_policy_header

BASE = Path(settings.BASE_DIR)


def test_a_page_sends_the_hardening_headers(client, db):
    response = client.get(reverse("login"))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = response["Permissions-Policy"]
    assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy


def test_permissions_policy_header_syntax():
    header = permissions_policy_header({"camera": [], "fullscreen": ["self"]})
    assert header == "camera=(), fullscreen=(self)"


def test_an_api_answer_sends_them_too(client, db):
    response = client.get(reverse("api:advisory-list"))
    assert response["Permissions-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_session_cookie_is_http_only_and_same_site_lax(client, world, password):
    response = client.post(
        reverse("login"), {"username": world.lab_user.email, "password": password}
    )
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_the_csrf_cookie_is_same_site_strict(client, db):
    response = client.get(reverse("login"))
    assert response.cookies[settings.CSRF_COOKIE_NAME]["samesite"] == "Strict"


def _production(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter under the production settings."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD"}
    }
    environment = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 64 + "-production-check-only",
        "ALLOWED_HOSTS": "forewarn.example,testserver",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",  # never connected to
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "FOREWARN_VAR_DIR": str(tmp_path / "var"),
        "OPENPGP_SIGNING_KEY_FILE": str(tmp_path / "site-key.asc"),
        "FOREWARN_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1jaGVjay1vbmx5LW5vdC1zZWNyZXQ=",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=BASE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy(tmp_path):
    result = _production(
        """
        import django
        from django.core.management import call_command
        django.setup()
        call_command("openpgp_site_key")
        call_command("check", deploy=True, fail_level="WARNING")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_sends_hsts_secure_host_cookies_and_redirects_to_https(tmp_path):
    result = _production(
        """
        import json, django
        django.setup()
        from django.test import Client
        from django.test.utils import override_settings, setup_test_environment
        setup_test_environment()
        # No collectstatic here: static URLs without the manifest.
        override_settings(STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {
                "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
            },
        }).enable()
        client = Client()
        plain = client.get("/login/")
        health = client.get("/api/health/")
        secure = client.get("/login/", secure=True)
        cookie = secure.cookies["__Host-csrftoken"]
        print(json.dumps({
            "redirect": [plain.status_code, plain.get("Location")],
            "health": health.status_code,
            "hsts": secure.get("Strict-Transport-Security"),
            "cookie": {"secure": cookie["secure"], "samesite": cookie["samesite"],
                       "path": cookie["path"], "domain": cookie["domain"]},
        }))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["redirect"] == [301, "https://testserver/login/"]
    assert seen["health"] == 200  # load balancers probe it over plain HTTP
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert seen["cookie"] == {"secure": True, "samesite": "Strict", "path": "/", "domain": ""}


@pytest.mark.parametrize("name", ["SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT"])
def test_turning_hsts_or_the_redirect_off_fails_check_deploy(tmp_path, name):
    """The check above can fail: it is what keeps the defaults strict."""
    result = _production(
        """
        import django
        from django.core.management import call_command
        django.setup()
        call_command("openpgp_site_key")
        call_command("check", deploy=True, fail_level="WARNING")
        """,
        tmp_path,
        **{name: "0" if name == "SECURE_HSTS_SECONDS" else "false"},
    )
    assert result.returncode != 0
    assert "security.W00" in result.stderr + result.stdout
