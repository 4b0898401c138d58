"""A finding: a dangerous capability of a model, filed by its developer."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Finding(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        EMBARGOED = "embargoed", "Embargoed"
        RELEASED = "released", "Released"
        REJECTED = "rejected", "Rejected"

    class Category(models.TextChoices):
        CYBER = "cyber", "Cybersecurity"
        CBRN = "cbrn", "Chemical, biological, radiological and nuclear"
        AUTONOMY = "autonomy", "Model autonomy and replication"
        PERSUASION = "persuasion", "Persuasion and manipulation"
        OTHER = "other", "Other"

    class RiskLevel(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    # Fields readable by anyone who may see the finding at all, and by the public once released.
    PUBLIC_FIELDS = ("reference", "title", "summary", "category", "risk_level", "model_name")
    # Fields that stay embargoed until release: only the lab, coordinators and notified defenders.
    EMBARGOED_FIELDS = ("details", "recommended_actions", "model_version")

    reference = models.CharField(max_length=20, unique=True, editable=False)
    developer = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="findings"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    model_name = models.CharField(max_length=200)
    model_version = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=300)
    summary = models.TextField(help_text="A short public summary, safe to show before release.")
    details = models.TextField(help_text="Embargoed: evaluation evidence and specifics.")
    category = models.CharField(max_length=20, choices=Category.choices)
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices)
    recommended_actions = models.TextField(blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    embargo_ends_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    audience = models.ManyToManyField(
        "accounts.Organization", through="FindingRecipient", related_name="notified_findings"
    )

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["state", "embargo_ends_at"], name="finding_due_idx"),
            models.Index(fields=["state", "-released_at"], name="finding_released_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="embargoed") | models.Q(embargo_ends_at__isnull=False),
                name="embargoed_has_end",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="released") | models.Q(released_at__isnull=False),
                name="released_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def is_public(self) -> bool:
        return self.state == self.State.RELEASED


class FindingRecipient(models.Model):
    """A defender organization chosen to be told of a finding before release."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="recipients")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="recipient_of"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ("organization__name",)
        constraints = [
            models.UniqueConstraint(
                fields=["finding", "organization"], name="unique_finding_recipient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} for {self.finding.reference}"


class ReferenceCounter(models.Model):
    """The last reference number handed out per year (FW-<year>-<number>)."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"
