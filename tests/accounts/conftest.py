"""Helpers for the registry tests: an admin of a defender organization, application data, and
the invitation links that emails carry."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from accounts.models import Membership, User
from tests.conftest import World
from tests.disclosure.api.conftest import api  # noqa: F401 (a fixture, shared)
from tests.factories import MembershipFactory, UserFactory

LINK_RE = re.compile(r"https?://[^\s]+/invitations/([A-Za-z0-9_-]+)/")


def application_data(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Harbour Water Authority",
        "sectors": ["water", "emergency-services"],
        "country": "NL",
        "website": "https://harbour-water.example",
        "description": "We run drinking-water treatment for 2 million people.",
        "applicant_name": "Ines de Vries",
        "applicant_email": "Ines@Harbour-Water.example",
        **overrides,
    }


def tokens_mailed_to(address: str) -> list[str]:
    """The invitation tokens in the mail sent to ``address`` so far, oldest first."""
    return [
        match.group(1)
        for message in mail.outbox
        if address in message.to
        for match in [LINK_RE.search(message.body)]
        if match is not None
    ]


@pytest.fixture
def defender_admin(world: World) -> User:
    """An admin of world.defender (Grid ISAC), besides its plain member world.defender_user."""
    user = UserFactory(email="admin@grid.example", full_name="Grid Admin")
    MembershipFactory(user=user, organization=world.defender, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def mailed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """``mailed(fn, *args, **kwargs)``: call it and send the mail it queues for after commit."""

    def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run
