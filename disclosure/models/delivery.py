"""The outbox: one row per (audited change, recipient, channel), written in the change's
transaction, so a change is told to each recipient once however often it is enqueued.

A recipient is a user (email, in-app inbox) or an organization's webhook endpoint."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Delivery(models.Model):
    class Event(models.TextChoices):
        NOTIFIED = "finding.notified", "Finding notified"
        RELEASED = "finding.released", "Finding released"
        TRIAGED = "finding.triaged", "Triage outcome for the lab"
        REMINDER = "finding.reminder", "Reminder to acknowledge"
        EMBARGO_CHANGED = "embargo.changed", "The embargo changed"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        INBOX = "inbox", "In-app inbox"

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
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="deliveries",
        null=True,
        blank=True,
    )
    endpoint = models.ForeignKey(
        "disclosure.WebhookEndpoint",
        on_delete=models.CASCADE,
        related_name="deliveries",
        null=True,
        blank=True,
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
    last_status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The receiver's last HTTP status or SMTP reply code."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    # In-app inbox rows: when the user read it.
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["cause", "recipient", "channel"],
                condition=models.Q(recipient__isnull=False),
                name="unique_delivery",
            ),
            models.UniqueConstraint(
                fields=["cause", "endpoint"],
                condition=models.Q(endpoint__isnull=False),
                name="unique_webhook_delivery",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(channel="webhook", endpoint__isnull=False, recipient__isnull=True)
                    | (
                        ~models.Q(channel="webhook")
                        & models.Q(endpoint__isnull=True, recipient__isnull=False)
                    )
                ),
                name="delivery_has_one_recipient",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["recipient", "channel", "read_at"], name="delivery_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.recipient or self.endpoint} by {self.channel} ({self.state})"

    @property
    def message_id(self) -> str:
        """Stable per row, so a resend after a crash can be recognised as the same message."""
        return f"<delivery-{self.pk}.{self.event}@forewarn>"

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks ``webhook-id``: the same on every retry, for receivers' dedup."""
        return f"msg_forewarn_{self.pk}"
