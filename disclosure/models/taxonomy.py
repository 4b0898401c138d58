"""Capability taxonomies and sectors, kept as data so several versions coexist."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Taxonomy(models.Model):
    """One version of one framework, e.g. OpenAI Preparedness Framework v2 (2025)."""

    slug = models.SlugField(max_length=60, unique=True)
    framework = models.CharField(max_length=200)
    version = models.CharField(max_length=60)
    source_url = models.URLField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the frameworks Forewarn ships with.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("framework", "version")
        verbose_name_plural = "taxonomies"
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "version"], name="unique_taxonomy_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.framework} {self.version}"


class CapabilityCategory(models.Model):
    class Kind(models.TextChoices):
        TRACKED = "tracked", "Tracked"
        RESEARCH = "research", "Research"
        THRESHOLD = "threshold", "Capability threshold"

    taxonomy = models.ForeignKey(Taxonomy, on_delete=models.PROTECT, related_name="categories")
    code = models.SlugField(max_length=60)
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TRACKED)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("taxonomy", "position", "code")
        verbose_name_plural = "capability categories"
        constraints = [
            models.UniqueConstraint(fields=["taxonomy", "code"], name="unique_category_code"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.taxonomy})"

    @property
    def key(self) -> str:
        """How the API names a category: '<taxonomy slug>:<code>'."""
        return f"{self.taxonomy.slug}:{self.code}"


class Sector(models.Model):
    """A critical-infrastructure sector or a defender community (data, seeded by migration)."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("position", "name")

    def __str__(self) -> str:
        return self.name
