"""Content Security Policy: every page sends it, and nothing we serve needs it relaxed.

The header is Django's (SECURE_CSP). Our templates hold no inline script, style or event
handler, so our pages get the policy without a nonce; the admin's templates use Django's nonce
(never 'unsafe-inline'); Swagger UI loads its start-up script from a URL.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# A <script> is allowed only as a link to a static file: <script src="..." defer></script>.
INLINE_CODE = re.compile(
    r"<script(?![^>]*\ssrc=[^>]*>\s*</script>)|<style|\sstyle\s*=|\son[a-z]+\s*=|javascript:",
    flags=re.IGNORECASE,
)


def _templates() -> list[Path]:
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    roots += [Path(settings.BASE_DIR) / app / "templates" for app in ("accounts", "disclosure")]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.html"))


def test_there_are_templates_to_check():
    names = {p.name for p in _templates()}
    assert {"base.html", "finding_detail.html", "login.html", "api_docs.html"} <= names


@pytest.mark.parametrize("template", _templates(), ids=lambda p: str(p.relative_to(Path.cwd())))
def test_no_template_has_inline_script_style_or_event_handler(template: Path):
    found = INLINE_CODE.findall(template.read_text())
    assert not found, f"{template}: {found} (move it to static/ and link it)"


@pytest.mark.parametrize(
    "page", ["login", "advisory-list", "apply", "api-docs", "api:health", "api:advisory-list"]
)
def test_anonymous_pages_and_api_send_the_policy(client, db, page):
    response = client.get(reverse(page))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY


@pytest.mark.parametrize("page", ["home", "finding-list", "inbox", "tokens", "finding-detail"])
def test_signed_in_pages_send_the_policy_without_a_nonce(client, world, page):
    finding = world.embargoed()
    client.force_login(world.defender_user)
    args = [finding.reference] if page == "finding-detail" else []
    response = client.get(reverse(page, args=args))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY
    assert "nonce" not in response.content.decode()


def test_a_404_page_sends_the_policy(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Security-Policy"] == POLICY


def test_the_admin_uses_a_nonce_and_never_unsafe_inline(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce, policy
    body = response.content.decode()
    scripts = re.findall(r"<script[^>]*>", body)
    assert scripts and all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts)


def test_api_docs_load_every_script_from_a_url(client, db):
    body = client.get(reverse("api-docs")).content.decode()
    tags = re.findall(r"<script[^>]*>", body)
    assert len(tags) == 3
    assert all(" src=" in tag for tag in tags)
    assert "<style" not in body
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', body).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
