"""Embargo timelines: the embargo, its history, extension requests, the staged release plan and
the organizations' private calendar feeds.

``Finding.embargo_ends_at`` stays the time of the public release (the plan's public stage), so
that every reader of the finding row sees the end without a join; the services keep the two in
step.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..encryption.fields import EncryptedTextField
from .findings import Finding


class Embargo(models.Model):
    """A finding's embargo: proposed, active, being revised (an extension is asked), ended."""

    class State(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACTIVE = "active", "Active"
        REVISING = "revising", "Being revised"
        ENDED = "ended", "Ended"

    class EndKind(models.TextChoices):
        RELEASED = "released", "Released on time"
        BROKEN = "broken", "Broken early"

    class BreakKind(models.TextChoices):
        LEAKED = "leaked", "Details leaked"
        EXPLOITED = "exploited", "Exploitation seen in the wild"
        PUBLISHED = "published", "Published elsewhere"
        OTHER = "other", "Other"

    finding = models.OneToOneField(Finding, on_delete=models.CASCADE, related_name="embargo")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PROPOSED)
    starts_at = models.DateTimeField(null=True, blank=True, help_text="When it became active.")
    ends_at = models.DateTimeField(help_text="The public release, in UTC.")
    # Past the policy's maximum for the finding's risk level only with a coordinator's reason.
    policy_max_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="The policy's maximum when last set (None: no limit)."
    )
    over_policy_reason = EncryptedTextField(blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_kind = models.CharField(max_length=20, choices=EndKind.choices, blank=True)
    break_kind = models.CharField(max_length=20, choices=BreakKind.choices, blank=True)
    break_reason = EncryptedTextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Embargo of {self.finding.reference} ({self.state})"


class EmbargoEvent(models.Model):
    """The embargo's history, in order: what happened, who did it, the end before and after."""

    class Kind(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACTIVATED = "activated", "Activated"
        CHANGED = "changed", "End changed"
        EXTENSION_REQUESTED = "extension_requested", "Extension requested"
        EXTENSION_APPROVED = "extension_approved", "Extension approved"
        EXTENSION_DENIED = "extension_denied", "Extension denied"
        BROKEN = "broken", "Broken"
        ENDED = "ended", "Ended"

    embargo = models.ForeignKey(Embargo, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the system (the scheduler).",
    )
    at = models.DateTimeField(auto_now_add=True)
    old_ends_at = models.DateTimeField(null=True, blank=True)
    new_ends_at = models.DateTimeField(null=True, blank=True)
    reason = EncryptedTextField(blank=True)

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.kind} ({self.embargo.finding.reference})"


class ExtensionRequest(models.Model):
    """The lab or a notified defender asks for a later end; a coordinator decides."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        WITHDRAWN = "withdrawn", "Withdrawn"

    embargo = models.ForeignKey(Embargo, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The lab or notified defender organization asking.",
    )
    requested_ends_at = models.DateTimeField()
    reason = EncryptedTextField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["embargo", "organization"],
                condition=models.Q(state="pending"),
                name="one_pending_extension_per_organization",
            ),
        ]

    def __str__(self) -> str:
        return f"Extension of {self.embargo.finding.reference} to {self.requested_ends_at}"


class ReleaseStage(models.Model):
    """One stage of a finding's release plan: an audience, a time and a TLP label.

    Stages fire in order, each exactly once (``fired_at``), by the scheduler's sweep or its
    precise trigger; until a stage has fired the plan can change. The last stage is the public
    release, at ``Finding.embargo_ends_at``.
    """

    class Audience(models.TextChoices):
        ORGANIZATIONS = "organizations", "Chosen defender organizations and sectors"
        COMMUNITY = "community", "Every verified defender organization"
        PUBLIC = "public", "The public"

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    audience = models.CharField(max_length=20, choices=Audience.choices)
    organizations = models.ManyToManyField(
        "accounts.Organization", blank=True, related_name="release_stages"
    )
    sectors = models.ManyToManyField("disclosure.Sector", blank=True, related_name="+")
    tlp = models.CharField(max_length=20, choices=Finding.Tlp.choices)
    scheduled_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    fired_cause = models.ForeignKey(
        "disclosure.AuditEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("finding_id", "position")
        constraints = [
            models.UniqueConstraint(fields=["finding", "position"], name="unique_stage_position"),
        ]
        indexes = [
            # The sweep: stages not yet fired, by time.
            models.Index(
                fields=["scheduled_at"],
                condition=models.Q(fired_at__isnull=True),
                name="stage_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.finding.reference} stage {self.position} ({self.audience})"


class CalendarFeed(models.Model):
    """A defender organization's private iCalendar feed; its URL holds a token stored hashed.

    Revoking it ends the URL at once; a new feed gets a new URL.
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"Calendar of {self.organization} ({self.prefix}…)"
