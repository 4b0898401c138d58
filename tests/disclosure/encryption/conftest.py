"""Keys for the encryption tests, a private storage of their own, and a webhook endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from accounts.models import Membership
from disclosure.models import WebhookEndpoint
from disclosure.services.webhooks import endpoint_create, endpoint_rotate_secret
from tests.factories import MembershipFactory, UserFactory

# Fixed, public test keys (URL-safe base64 of 32 bytes), so that failures are reproducible.
KEY_A = "a2V5LWEtZm9yLXRoZS1lbmNyeXB0aW9uLXRlc3RzLTE="
KEY_B = "a2V5LWItZm9yLXRoZS1lbmNyeXB0aW9uLXRlc3RzLTI="


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path) -> Path:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def keys(settings) -> Callable[..., None]:
    """``keys(KEY_B, KEY_A)``: the configured keys from now on, newest first."""

    def use(*configured: str) -> None:
        settings.ENCRYPTION_KEYS = list(configured)

    use(KEY_A)
    return use


@pytest.fixture
def webhook(world) -> tuple[WebhookEndpoint, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """An endpoint of world.defender in a rotation's overlap: it, its current and old secret."""
    admin = UserFactory(email="admin@grid.example")
    MembershipFactory(user=admin, organization=world.defender, role=Membership.Role.ADMIN)
    endpoint, old = endpoint_create(
        actor=admin, organization=world.defender, url="http://127.0.0.1:9/hook"
    )
    endpoint, new = endpoint_rotate_secret(actor=admin, endpoint=endpoint, overlap_hours=24)
    return endpoint, (new, old)
