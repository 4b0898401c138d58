"""What defender organizations ask to hear about, and where their machines listen."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..encryption.fields import EncryptedCharField
from .findings import Finding


class Subscription(models.Model):
    """An organization wants findings in this category at or above this risk level.

    The coordinator's proposed audience for a finding is built from these and from sectors.
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="subscriptions"
    )
    category = models.ForeignKey(
        "disclosure.CapabilityCategory", on_delete=models.CASCADE, related_name="subscriptions"
    )
    min_risk_level = models.CharField(
        max_length=20, choices=Finding.RiskLevel.choices, default=Finding.RiskLevel.MEDIUM
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("organization_id", "category_id")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "category"], name="unique_subscription"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} on {self.category} (>= {self.min_risk_level})"


class WebhookEndpoint(models.Model):
    """A Standard Webhooks receiver of an organization, with its signing secret.

    Rotating the secret keeps the previous one valid until ``previous_secret_expires_at``; during
    the overlap every delivery is signed with both (``webhook-signature`` lists both).
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Encrypted at rest: with a database dump alone, nobody can sign as Forewarn.
    secret = EncryptedCharField(max_length=100, help_text="whsec_ + base64 of 32 random bytes.")
    previous_secret = EncryptedCharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Disabled by the organization, or by a receiver answering HTTP 410 Gone.
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ("organization_id", "id")

    def __str__(self) -> str:
        return f"{self.url} ({self.organization})"

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None
