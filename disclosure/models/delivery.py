"""The outbox: one row per (audited change, recipient, channel), written in the change's
transaction, so a change is told to each recipient once however often it is enqueued."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Delivery(models.Model):
    class Event(models.TextChoices):
        NOTIFIED = "finding.notified", "Finding notified"
        RELEASED = "finding.released", "Finding released"
        TRIAGED = "finding.triaged", "Triage outcome for the lab"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    event = models.CharField(max_length=40, choices=Event.choices)
    cause = models.ForeignKey(
        "disclosure.AuditEvent",
        on_delete=models.PROTECT,
        related_name="deliveries",
        help_text="The audited change this notification tells of.",
    )
    finding = models.ForeignKey(
        "disclosure.Finding", on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries"
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.EMAIL)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["cause", "recipient", "channel"], name="unique_delivery"
            ),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.event} to {self.recipient} ({self.state})"

    @property
    def message_id(self) -> str:
        """Stable per row, so a resend after a crash can be recognised as the same message."""
        return f"<delivery-{self.pk}.{self.event}@forewarn>"
