"""Create an API token for a user and print it; it is shown this once and never stored."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token for the user with this email and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The user's email address.")
        parser.add_argument("--name", default="API token", help="What the token is for.")

    def handle(self, *args: Any, email: str, name: str, **options: Any) -> None:
        user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
        if user is None:
            raise CommandError(f"No active user with email {email}.")
        token, raw = api_token_create(user=user, name=name)
        self.stderr.write(f"Created token “{token.name}” for {user.email}. It is shown only once:")
        self.stdout.write(raw)
