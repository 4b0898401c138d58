"""Keys for the encryption tests, and a private storage of their own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

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
