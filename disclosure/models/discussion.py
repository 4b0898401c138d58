"""Discussion threads on a finding, each with a scope that decides who may read and post."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..encryption.fields import EncryptedCharField, EncryptedTextField


class Thread(models.Model):
    class Scope(models.TextChoices):
        COORDINATORS = "coordinators", "Coordinators only"
        LAB = "lab", "Coordinators and the lab"
        DEFENDERS = "defenders", "Coordinators and all notified defenders"
        ORGANIZATION = "organization", "Coordinators and one defender organization"

    finding = models.ForeignKey(
        "disclosure.Finding", on_delete=models.CASCADE, related_name="threads"
    )
    scope = models.CharField(max_length=20, choices=Scope.choices)
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only for the one-organization scope.",
    )
    subject = EncryptedCharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("finding", "created_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(scope="organization", organization__isnull=False)
                    | (~models.Q(scope="organization") & models.Q(organization__isnull=True))
                ),
                name="thread_organization_iff_scope",
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class Comment(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = EncryptedTextField(help_text="Markdown, as written.")
    body_html = EncryptedTextField(help_text="Rendered and sanitised when saved.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("thread", "created_at", "id")

    def __str__(self) -> str:
        return f"comment by {self.author}"
