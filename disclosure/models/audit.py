"""The audit trail: who did or read what, when. Rows are only ever added, and chained."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..audit_hash import audit_key, entry_of, tag_compute
from ..encryption.fields import EncryptedTextField

# What a note reads as when no configured key opens it (tampering, or a key taken away too
# soon); the row's own check then fails, and ``manage.py audit_verify`` names it.
UNREADABLE_NOTE_TEXT = "[This note cannot be decrypted with the configured keys.]"


class AuditEvent(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the system (the release scheduler).",
    )
    action = models.CharField(max_length=60)
    finding = models.ForeignKey(
        "disclosure.Finding",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    # Encrypted: reasons, triage messages and attachment names can be embargoed detail.
    note = EncryptedTextField(blank=True, unreadable=UNREADABLE_NOTE_TEXT)
    data = models.JSONField(default=dict, blank=True)
    # Set here, not by the insert, so that the row's tag can cover it.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    # The hash chain, filled in by the sealer right after the writing transaction commits
    # (disclosure.services.audit_chain): position in the chain, the previous entry's hash and
    # this entry's. Until then ``entry_hash`` holds the row's tag (disclosure.audit_hash).
    sequence = models.PositiveBigIntegerField(null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    entry_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [
            models.Index(fields=["finding", "created_at"], name="audit_finding_idx"),
            # The sealer's and the verifier's way to the rows not yet in the chain.
            models.Index(
                fields=["id"], condition=models.Q(sequence__isnull=True), name="audit_unsealed_idx"
            ),
            # The coordinators' audit page filters by action, newest first.
            models.Index(fields=["action", "id"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor or 'system'}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        # A new row is never sealed: its tag proves the application wrote it (audit_hash).
        self.sequence = None
        self.prev_hash = ""
        self.entry_hash = tag_compute(entry_of(self), audit_key())
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events are append-only.")
