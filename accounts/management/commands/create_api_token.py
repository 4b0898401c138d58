"""Create an API token for a user and print it; it is shown this once and never stored."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.tokens import SCOPES, api_token_create
from disclosure.errors import ValidationFailed


class Command(BaseCommand):
    help = "Create an API token for the user with this email and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The user's email address.")
        parser.add_argument("--name", default="API token", help="What the token is for.")
        parser.add_argument(
            "--scopes",
            default="read,write",
            help=f"Comma-separated, from: {', '.join(SCOPES)} (read is always needed). "
            "Default: read,write.",
        )
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help=f"Days until it expires (default {settings.TOKEN_DEFAULT_TTL_DAYS}, "
            f"at most {settings.TOKEN_MAX_TTL_DAYS}).",
        )

    def handle(
        self,
        *args: Any,
        email: str,
        name: str,
        scopes: str,
        expires_in_days: int | None,
        **options: Any,
    ) -> None:
        user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
        if user is None:
            raise CommandError(f"No active user with email {email}.")
        try:
            token, raw = api_token_create(
                user=user,
                name=name,
                scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                expires_in_days=expires_in_days,
            )
        except ValidationFailed as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
            raise CommandError(" ".join(str(v) for v in detail.values())) from exc
        self.stderr.write(
            f"Created token “{token.name}” for {user.email} ({token.scopes}; expires "
            f"{token.expires_at:%Y-%m-%d %H:%M} UTC). It is shown only once:"
        )
        self.stdout.write(raw)
