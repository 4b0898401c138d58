"""A finding: a dangerous capability of a model, filed by its developer."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..encryption.fields import (
    EncryptedCharField,
    EncryptedDateField,
    EncryptedJSONField,
    EncryptedTextField,
)

RISK_ORDER = ("low", "medium", "high", "critical")


def risk_rank(level: str) -> int:
    return RISK_ORDER.index(level)


def residual_risk_within_risk() -> models.Q:
    """After mitigations the risk can never exceed the risk before them."""
    allowed = models.Q(residual_risk_level="")
    for i, level in enumerate(RISK_ORDER):
        allowed |= models.Q(risk_level=level, residual_risk_level__in=RISK_ORDER[: i + 1])
    return allowed


class Finding(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        IN_TRIAGE = "in_triage", "In triage"
        NEEDS_INFO = "needs_info", "Needs information"
        ACCEPTED = "accepted", "Accepted"
        EMBARGOED = "embargoed", "Embargoed"
        RELEASED = "released", "Released"
        REJECTED = "rejected", "Rejected"
        DUPLICATE = "duplicate", "Duplicate"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class RiskLevel(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    class Surface(models.TextChoices):
        API = "api", "API"
        CONSUMER = "consumer", "Consumer product"
        FINE_TUNING_API = "fine_tuning_api", "Fine-tuning API"
        OPEN_WEIGHTS = "open_weights", "Open weights"
        ON_DEVICE = "on_device", "On-device"

    class Tlp(models.TextChoices):
        """Traffic Light Protocol 2.0 (FIRST)."""

        CLEAR = "CLEAR", "TLP:CLEAR"
        GREEN = "GREEN", "TLP:GREEN"
        AMBER = "AMBER", "TLP:AMBER"
        AMBER_STRICT = "AMBER+STRICT", "TLP:AMBER+STRICT"
        RED = "RED", "TLP:RED"

    # Which content is public before release and which is embargoed, field by field. Public
    # fields may be shown to anyone who may see the finding and are what search indexes;
    # embargoed ones reach only the lab, coordinators and notified defenders until release, and
    # are encrypted at rest (disclosure.encryption.fields), as is the embargoed related content.
    PUBLIC_FIELDS = (
        "reference",
        "title",
        "summary",
        "category",
        "risk_level",
        "residual_risk_level",
        "model_name",
        "tlp",
        "affected_sectors",
    )
    EMBARGOED_FIELDS = (
        "details",
        "recommended_actions",
        "model_version",
        "deployment_surfaces",
        "planned_availability",
    )
    # Related content, embargoed too: evaluations, mitigations, attachments, credits, revisions.
    EMBARGOED_RELATIONS = ("evaluations", "mitigations", "attachments", "credits", "revisions")

    reference = models.CharField(max_length=20, unique=True, editable=False)
    developer = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="findings"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    model_name = models.CharField(max_length=200)
    model_version = EncryptedCharField(max_length=200, blank=True)
    title = models.CharField(max_length=300)
    summary = models.TextField(help_text="A short public summary, safe to show before release.")
    details = EncryptedTextField(help_text="Embargoed: evaluation evidence and specifics.")
    deployment_surfaces = EncryptedJSONField(
        default=list, blank=True, help_text="Where the model is or will be available."
    )
    planned_availability = EncryptedDateField(null=True, blank=True)
    category = models.ForeignKey(
        "disclosure.CapabilityCategory", on_delete=models.PROTECT, related_name="findings"
    )
    risk_level = models.CharField(
        max_length=10, choices=RiskLevel.choices, help_text="Before mitigations."
    )
    residual_risk_level = models.CharField(
        max_length=10, choices=RiskLevel.choices, blank=True, help_text="After mitigations."
    )
    tlp = models.CharField(
        "TLP label", max_length=20, choices=Tlp.choices, default=Tlp.AMBER_STRICT
    )
    affected_sectors = models.ManyToManyField(
        "disclosure.Sector", blank=True, related_name="findings"
    )
    recommended_actions = EncryptedTextField(blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_findings",
    )
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="duplicates"
    )
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
            models.Index(fields=["developer", "-created_at"], name="finding_lab_idx"),
            models.Index(fields=["state", "-released_at"], name="finding_released_idx"),
            # The findings list pages by (created_at, id), newest first (disclosure/api/pagination).
            models.Index(fields=["-created_at", "-id"], name="finding_created_idx"),
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
            models.CheckConstraint(
                condition=~models.Q(state="duplicate") | models.Q(duplicate_of__isnull=False),
                name="duplicate_has_original",
            ),
            models.CheckConstraint(
                condition=residual_risk_within_risk(),
                name="residual_risk_not_above_risk",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def is_public(self) -> bool:
        return self.state == self.State.RELEASED


class FindingRecipient(models.Model):
    """A defender organization chosen to be told of a finding before release."""

    class Readiness(models.TextChoices):
        NOT_ASSESSED = "not_assessed", "Not yet assessed"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        PREPARING = "preparing", "Preparing"
        READY = "ready", "Ready"
        NOT_AFFECTED = "not_affected", "Not affected"

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
    notified_revision = models.PositiveIntegerField(
        null=True, blank=True, help_text="The revision number the organization was notified of."
    )
    # The release stage that brought the organization in (None: the first audience, at
    # acceptance); what it sees carries that stage's TLP label.
    stage = models.ForeignKey(
        "disclosure.ReleaseStage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recipients",
    )
    # What the organization reports back (services.readiness); acknowledging sets ACKNOWLEDGED.
    readiness = models.CharField(
        max_length=20, choices=Readiness.choices, default=Readiness.NOT_ASSESSED
    )
    readiness_statement = EncryptedTextField(blank=True)
    readiness_updated_at = models.DateTimeField(null=True, blank=True)
    readiness_updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The first time one of its users opened the embargoed details (audited on every read).
    first_seen_at = models.DateTimeField(null=True, blank=True)
    first_seen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Reminders to acknowledge (services.readiness.reminders_send); flagged to coordinators.
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminded_at = models.DateTimeField(null=True, blank=True)

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
