"""Contacts' OpenPGP public keys: mail to a contact with a usable key is encrypted to it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OpenPGPKey(models.Model):
    """One public key per user, validated on upload (parses, not expired, can encrypt)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="openpgp_key"
    )
    armored = models.TextField(help_text="The ASCII-armored public key (certificate).")
    fingerprint = models.CharField(max_length=64, unique=True)
    user_ids = models.TextField(blank=True, help_text="The key's user IDs, one per line.")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "OpenPGP key"

    def __str__(self) -> str:
        return f"{self.fingerprint} ({self.user})"
