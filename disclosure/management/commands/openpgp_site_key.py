"""Create the site's OpenPGP signing key if it is missing, and print its public half.

OPENPGP_SIGNING_KEY_FILE=/srv/forewarn/site-key.asc python manage.py openpgp_site_key
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.openpgp import fingerprint_display
from disclosure.services.channels.site_key import site_key, site_key_create, site_key_path


class Command(BaseCommand):
    help = (
        "Create the site's OpenPGP signing key at OPENPGP_SIGNING_KEY_FILE if it is missing, "
        "then print its fingerprint and ASCII-armored public key."
    )
    # It is the remedy for the system check that a missing key fails (disclosure.E101).
    requires_system_checks: list[str] = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fingerprint", action="store_true", help="Print only the fingerprint."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = site_key_path()
        if path is None:
            raise CommandError("Set OPENPGP_SIGNING_KEY_FILE to the path the key should have.")
        created = site_key_create(path)
        try:
            key = site_key()
        except (ImproperlyConfigured, OSError) as exc:
            raise CommandError(str(exc)) from exc
        if created:
            self.stderr.write(f"Created a new signing key in {path} (mode 0600).")
            if settings.OPENPGP_SIGNING_KEY_PASSPHRASE:
                self.stderr.write(
                    "It has no passphrase: OPENPGP_SIGNING_KEY_PASSPHRASE applies only to a "
                    "key you protect yourself (gpg --edit-key ... passwd)."
                )
        else:
            self.stderr.write(f"Using the existing signing key in {path}.")
        self.stdout.write(f"Fingerprint: {fingerprint_display(key.fingerprint)}")
        if not options["fingerprint"]:
            self.stdout.write(key.armored_public)
