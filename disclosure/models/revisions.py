"""Every edit of a finding's content makes a revision: a full snapshot and what changed."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..encryption.fields import EncryptedJSONField


class FindingRevision(models.Model):
    finding = models.ForeignKey(
        "disclosure.Finding", on_delete=models.CASCADE, related_name="revisions"
    )
    number = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The finding's content as it was after this edit (embargoed until release).
    content = EncryptedJSONField()
    changed_fields = models.JSONField(default=list)

    class Meta:
        ordering = ("finding", "number")
        constraints = [
            models.UniqueConstraint(fields=["finding", "number"], name="unique_revision_number"),
        ]

    def __str__(self) -> str:
        return f"revision {self.number}"
