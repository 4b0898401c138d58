"""The defender registry: applications, verification by a coordinator, profiles, subscriptions.

Anyone may apply for a defender organization. The application makes the organization (status
applied) and emails the applicant an invitation link, which proves their address and makes
them its admin and primary contact. The organization receives embargoed material only once a
coordinator has verified it (disclosure.services.embargo.audience_validate asks
``Organization.is_verified``); a coordinator may also reject an application or suspend a
verified organization, each with a reason.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django_countries import countries

from disclosure import policies
from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import Finding, Sector, Subscription
from disclosure.services.audit import audit_record
from disclosure.services.intake import category_resolve

from .contacts import NAME_MAX_LENGTH, email_clean, invitation_issue
from .mail import mail_after_commit, site_url
from .models import Invitation, Membership, Organization

Status = Organization.Status
DESCRIPTION_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 2000
PROFILE_FIELDS = ("sectors", "country", "website", "description", "requires_encryption")

# Which status each decision may start from.
DECISIONS: dict[str, tuple[str, frozenset[str]]] = {
    "verify": (Status.VERIFIED, frozenset({Status.APPLIED, Status.REJECTED, Status.SUSPENDED})),
    "reject": (Status.REJECTED, frozenset({Status.APPLIED})),
    "suspend": (Status.SUSPENDED, frozenset({Status.VERIFIED})),
}


# --- Cleaning input: each raises ValidationFailed naming its field.


def _text(
    value: Any, field: str, *, max_length: int, required: bool = True, line: bool = False
) -> str:
    """Stripped text; ``line``: a single line (it goes into email subjects)."""
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        raise ValidationFailed({field: "Give text."})
    if required and not text:
        raise ValidationFailed({field: "This field is required."})
    if len(text) > max_length:
        raise ValidationFailed({field: f"At most {max_length} characters."})
    if line and any(c in text for c in "\r\n\t\x00"):
        raise ValidationFailed({field: "Give a single line, without tabs or line breaks."})
    return text


def _sectors(value: Any) -> list[Sector]:
    items = value if isinstance(value, list | tuple) else None
    slugs = [s.slug if isinstance(s, Sector) else s for s in items or []]
    if items is None or not all(isinstance(s, str) for s in slugs):
        raise ValidationFailed({"sectors": "Give a list of sector slugs (GET /api/sectors/)."})
    if not slugs:
        raise ValidationFailed({"sectors": "Choose at least one sector."})
    sectors = list(Sector.objects.filter(slug__in=slugs))
    unknown = sorted(set(slugs) - {s.slug for s in sectors})
    if unknown:
        raise ValidationFailed(
            {"sectors": f"Unknown sectors: {', '.join(unknown)}. GET /api/sectors/ lists them."}
        )
    return sectors


def _country(value: Any) -> str:
    code = countries.alpha2(value.strip()) if isinstance(value, str) and value.strip() else ""
    if not code:
        raise ValidationFailed({"country": "Give a country as its ISO 3166 code, e.g. 'DE'."})
    return code


def _website(value: Any) -> str:
    url = _text(value, "website", max_length=200, required=False)
    if url:
        try:
            URLValidator(schemes=["https", "http"])(url)
        except ValidationError as exc:
            raise ValidationFailed({"website": "Give a web address starting https://."}) from exc
    return url


def _boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed({field: "Give true or false."})
    return value


def _clean(cleaners: dict[str, Any]) -> dict[str, Any]:
    """Run every cleaner; raise one error naming each bad field."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for field, clean in cleaners.items():
        try:
            cleaned[field] = clean()
        except ValidationFailed as exc:
            errors.update(exc.detail)  # type: ignore[arg-type]
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _slug_for(name: str) -> str:
    base = slugify(name)[:70].strip("-") or "organization"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


# --- Applying.

DUPLICATE_NAME = (
    "An organization with this name is registered already. If it is yours, ask its admins "
    "or the coordinators to invite you."
)


@transaction.atomic
def organization_apply(
    *,
    actor: Any,
    name: Any,
    sectors: Any,
    country: Any,
    website: Any,
    description: Any,
    applicant_name: Any,
    applicant_email: Any,
) -> Organization:
    """Apply for a defender organization; the applicant gets an invitation link by email.

    The answer is the same whether or not the applicant's address has an account here.
    """
    cleaned = _clean(
        {
            "name": lambda: _text(name, "name", max_length=200, line=True),
            "sectors": lambda: _sectors(sectors),
            "country": lambda: _country(country),
            "website": lambda: _website(website),
            "description": lambda: _text(
                description, "description", max_length=DESCRIPTION_MAX_LENGTH
            ),
            "applicant_name": lambda: _text(
                applicant_name, "applicant_name", max_length=NAME_MAX_LENGTH, line=True
            ),
            "applicant_email": lambda: email_clean(applicant_email, "applicant_email"),
        }
    )
    if Organization.objects.filter(name__iexact=cleaned["name"]).exists():
        raise Conflict({"name": DUPLICATE_NAME})
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin is a 409, not a 500
            organization = Organization.objects.create(
                name=cleaned["name"],
                slug=_slug_for(cleaned["name"]),
                kind=Organization.Kind.DEFENDER,
                status=Status.APPLIED,
                country=cleaned["country"],
                website=cleaned["website"],
                description=cleaned["description"],
            )
    except IntegrityError as exc:
        raise Conflict({"name": DUPLICATE_NAME}) from exc
    organization.sectors.set(cleaned["sectors"])
    invitation = invitation_issue(
        organization=organization,
        email=cleaned["applicant_email"],
        role=Membership.Role.ADMIN,
        contact_role=Membership.ContactRole.PRIMARY,
        invited_by=None,
        application=True,
    )
    audit_record(
        actor=actor,
        action="organization.applied",
        to_state=Status.APPLIED,
        data={
            "organization": organization.pk,
            "slug": organization.slug,
            "name": organization.name,
            "applicant_name": cleaned["applicant_name"],
            "applicant_email": cleaned["applicant_email"],
            "invitation": invitation.pk,
        },
    )
    return organization


# --- Coordinators decide.


def _decide(*, actor: Any, organization: Organization, decision: str, reason: Any) -> Organization:
    if not policies.can_verify_organizations(actor):
        raise NotAllowed("Only coordinators verify, reject and suspend organizations.")
    to, sources = DECISIONS[decision]
    note = ""
    if decision != "verify":
        note = _text(reason, "reason", max_length=REASON_MAX_LENGTH)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    old = organization.status
    if old not in sources:
        raise Conflict(
            f"{organization.name} is {old}; only an organization that is "
            f"{' or '.join(sorted(sources))} can be {to}."
        )
    organization.status = to
    organization.status_reason = note
    fields = ["status", "status_reason"]
    if to == Status.VERIFIED:
        organization.verified_at = timezone.now()
        organization.verified_by = actor
        fields += ["verified_at", "verified_by"]
    organization.save(update_fields=fields)
    audit_record(
        actor=actor,
        action=f"organization.{to}",
        from_state=old,
        to_state=to,
        note=note,
        data={"organization": organization.pk, "slug": organization.slug},
    )
    _status_mail(organization)
    return organization


def _status_mail(organization: Organization) -> None:
    """Tell the organization's admins; before anyone has joined, the open invitations' addresses
    (the applicant, whose link still works once verified)."""
    admins = list(
        Membership.objects.filter(
            organization=organization, role=Membership.Role.ADMIN, user__is_active=True
        ).values_list("user__email", flat=True)
    )
    to = admins or list(
        Invitation.objects.filter(
            organization=organization,
            role=Membership.Role.ADMIN,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        ).values_list("email", flat=True)
    )
    mail_after_commit(
        to=to,
        subject=f"{organization.name} is {organization.get_status_display().lower()}",
        template="emails/organization_status.txt",
        context={
            "organization": organization.name,
            "status": organization.status,
            "reason": organization.status_reason,
            "url": site_url("organization-detail", organization.slug),
        },
    )


@transaction.atomic
def organization_verify(*, actor: Any, organization: Organization) -> Organization:
    """From now on the organization may be chosen as a finding's audience."""
    return _decide(actor=actor, organization=organization, decision="verify", reason="")


@transaction.atomic
def organization_reject(*, actor: Any, organization: Organization, reason: Any) -> Organization:
    """Refuse an application; the reason is shown to its admins."""
    return _decide(actor=actor, organization=organization, decision="reject", reason=reason)


@transaction.atomic
def organization_suspend(*, actor: Any, organization: Organization, reason: Any) -> Organization:
    """A verified organization receives no more embargoed material until verified again."""
    return _decide(actor=actor, organization=organization, decision="suspend", reason=reason)


# --- Its admins keep the profile and subscriptions.


def _require_admin(actor: Any, organization: Organization) -> None:
    if not policies.can_manage_organization(actor, organization):
        raise NotAllowed(f"Only the admins of {organization.name} can change this.")


@transaction.atomic
def organization_update(*, actor: Any, organization: Organization, **fields: Any) -> Organization:
    """Change the profile: any of sectors, country, website, description, requires_encryption."""
    _require_admin(actor, organization)
    unknown = sorted(set(fields) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationFailed({name: "Unknown field; it cannot be set here." for name in unknown})
    cleaners = {
        "sectors": lambda: _sectors(fields["sectors"]),
        "country": lambda: _country(fields["country"]),
        "website": lambda: _website(fields["website"]),
        "description": lambda: _text(
            fields["description"], "description", max_length=DESCRIPTION_MAX_LENGTH
        ),
        "requires_encryption": lambda: _boolean(
            fields["requires_encryption"], "requires_encryption"
        ),
    }
    cleaned = _clean({name: clean for name, clean in cleaners.items() if name in fields})
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    changes: dict[str, dict[str, Any]] = {}
    if "sectors" in cleaned:
        old = sorted(organization.sectors.values_list("slug", flat=True))
        new = sorted(s.slug for s in cleaned.pop("sectors"))
        if old != new:
            organization.sectors.set(Sector.objects.filter(slug__in=new))
            changes["sectors"] = {"from": old, "to": new}
    for name, value in cleaned.items():
        old_value = getattr(organization, name)
        if str(old_value) != str(value):
            setattr(organization, name, value)
            changes[name] = {"from": str(old_value), "to": str(value)}
    scalar = [name for name in changes if name != "sectors"]
    if scalar:
        organization.save(update_fields=scalar)
    if changes:
        audit_record(
            actor=actor,
            action="organization.updated",
            data={"organization": organization.pk, "slug": organization.slug, **changes},
        )
    return organization


@transaction.atomic
def subscription_add(
    *, actor: Any, organization: Organization, category: Any, min_risk_level: Any
) -> Subscription:
    """Ask to hear of findings in a capability category at or above a risk level."""
    _require_admin(actor, organization)
    if organization.kind != Organization.Kind.DEFENDER:
        raise Conflict(
            "Only defender organizations are notified of findings, so only they subscribe."
        )
    cleaned = _clean(
        {
            "category": lambda: category_resolve(category),
            "min_risk_level": lambda: _risk(min_risk_level),
        }
    )
    key = cleaned["category"].key
    duplicate = Conflict(
        {"category": f"{organization.name} is subscribed to {key} already; remove it first."}
    )
    if Subscription.objects.filter(
        organization=organization, category=cleaned["category"]
    ).exists():
        raise duplicate
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(organization=organization, **cleaned)
    except IntegrityError as exc:
        raise duplicate from exc
    audit_record(
        actor=actor,
        action="subscription.added",
        data={
            "organization": organization.pk,
            "subscription": subscription.pk,
            "category": key,
            "min_risk_level": subscription.min_risk_level,
        },
    )
    return subscription


def _risk(value: Any) -> str:
    if value not in Finding.RiskLevel.values:
        choices = ", ".join(Finding.RiskLevel.values)
        raise ValidationFailed({"min_risk_level": f"Choose one of: {choices}."})
    return str(value)


@transaction.atomic
def subscription_remove(*, actor: Any, subscription: Subscription) -> None:
    _require_admin(actor, subscription.organization)
    data = {
        "organization": subscription.organization_id,
        "subscription": subscription.pk,
        "category": subscription.category.key,
        "min_risk_level": subscription.min_risk_level,
    }
    deleted, _ = Subscription.objects.filter(pk=subscription.pk).delete()
    if deleted:
        audit_record(actor=actor, action="subscription.removed", data=data)
