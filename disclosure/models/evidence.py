"""What a finding rests on: evaluations, and what the lab does about it (mitigations).

Both are embargoed until release.
"""

from __future__ import annotations

from django.db import models

from ..encryption.fields import (
    EncryptedCharField,
    EncryptedDateField,
    EncryptedJSONField,
    EncryptedTextField,
)


class Evaluation(models.Model):
    class Checkpoint(models.TextChoices):
        BASE = "base", "Base model (before safety training)"
        DEPLOYED = "deployed", "As deployed"

    class Modification(models.TextChoices):
        FINE_TUNING = "fine_tuning", "Fine-tuning"
        JAILBREAKS = "jailbreaks", "Jailbreaks"
        TOOL_ACCESS = "tool_access", "Tool access"
        NONE = "none", "None"

    finding = models.ForeignKey(
        "disclosure.Finding", on_delete=models.CASCADE, related_name="evaluations"
    )
    position = models.PositiveSmallIntegerField(default=0)
    name = EncryptedCharField(max_length=200)
    method = EncryptedTextField()
    checkpoint = EncryptedCharField(max_length=20, choices=Checkpoint.choices)
    modifications = EncryptedJSONField(default=list, help_text="Modification testing done.")
    metric = EncryptedCharField(max_length=200)
    result = EncryptedCharField(max_length=200)
    baseline = EncryptedCharField(max_length=200, blank=True)
    uplift = EncryptedCharField(max_length=200, blank=True, help_text="Measured uplift.")
    evaluated_on = EncryptedDateField()

    class Meta:
        ordering = ("finding", "position", "id")

    def __str__(self) -> str:
        return self.name


class Mitigation(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DEPLOYED = "deployed", "Deployed"
        NOT_PLANNED = "not_planned", "Not planned"

    finding = models.ForeignKey(
        "disclosure.Finding", on_delete=models.CASCADE, related_name="mitigations"
    )
    position = models.PositiveSmallIntegerField(default=0)
    description = EncryptedTextField()
    status = EncryptedCharField(max_length=20, choices=Status.choices)

    class Meta:
        ordering = ("finding", "position", "id")

    def __str__(self) -> str:
        return f"{self.description[:60]} ({self.status})"
