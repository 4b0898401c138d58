"""Organizations of three kinds, their members and roles."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django_countries.fields import CountryField


class Organization(models.Model):
    class Kind(models.TextChoices):
        DEVELOPER = "developer", "AI developer"
        DEFENDER = "defender", "Infrastructure defender"
        COORDINATOR = "coordinator", "Coordination center"

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied, awaiting verification"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    sector = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # The defender registry. An organization applies; a coordinator verifies it before it may
    # receive embargoed material (services.registry and disclosure's audience checks).
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.APPLIED)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status_reason = models.TextField(blank=True, help_text="Why it was rejected or suspended.")
    country = CountryField(blank=True)
    sectors = models.ManyToManyField("disclosure.Sector", blank=True, related_name="organizations")
    website = models.URLField(blank=True)
    description = models.TextField(
        blank=True, help_text="Who they are and why they need early notice (from the application)."
    )
    requires_encryption = models.BooleanField(
        default=False,
        help_text="Never send plaintext mail to this organization: contacts without a usable "
        "OpenPGP key get no email (their delivery fails visibly instead).",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="organizations"
    )

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        ADMIN = "admin", "Admin"

    class ContactRole(models.TextChoices):
        PRIMARY = "primary", "Primary contact"
        SECURITY = "security", "Security contact"
        BACKUP = "backup", "Backup contact"
        NONE = "", "Not a contact"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    contact_role = models.CharField(
        max_length=20, choices=ContactRole.choices, blank=True, default=ContactRole.NONE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="unique_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class Invitation(models.Model):
    """An emailed invitation to join an organization. Following its link proves the address.

    Only the SHA-256 of the token is stored; the token travels in the email alone.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(
        max_length=20, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    contact_role = models.CharField(
        max_length=20, choices=Membership.ContactRole.choices, blank=True, default=""
    )
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            # One open invitation per address and organization.
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="unique_open_invitation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization}"
