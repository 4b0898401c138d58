"""Which sessions belong to whom, so that offboarding can end a user's sessions at once."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UserSession(models.Model):
    """One row per logged-in session, written at login and removed at logout or offboarding.

    Django's session rows hold the user only inside their encoded data; this index lets
    accounts.sessions end every session of one user without decoding them all.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.user} ({self.session_key[:8]}…)"
