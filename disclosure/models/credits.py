"""Credits, typed as in security advisories (CVE 5 / GitHub advisory credit types)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Credit(models.Model):
    class Type(models.TextChoices):
        FINDER = "finder", "Finder"
        REPORTER = "reporter", "Reporter"
        ANALYST = "analyst", "Analyst"
        COORDINATOR = "coordinator", "Coordinator"
        REMEDIATION_DEVELOPER = "remediation_developer", "Remediation developer"
        REMEDIATION_REVIEWER = "remediation_reviewer", "Remediation reviewer"
        REMEDIATION_VERIFIER = "remediation_verifier", "Remediation verifier"
        TOOL = "tool", "Tool"
        SPONSOR = "sponsor", "Sponsor"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting the person's answer"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    finding = models.ForeignKey(
        "disclosure.Finding", on_delete=models.CASCADE, related_name="credits"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credits"
    )
    type = models.CharField(max_length=30, choices=Type.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("finding", "created_at", "id")
        constraints = [
            models.UniqueConstraint(fields=["finding", "user", "type"], name="unique_credit"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.type} ({self.status})"
