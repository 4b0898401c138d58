"""An organization's contacts: emailed invitations with a one-time link, roles, removal.

An invitation's token travels only in its email; the database keeps its SHA-256 (like API
tokens: a slow hash adds nothing at 256 bits). Following the link proves the address: the
person becomes a member with the invitation's role and contact role, and their address is
marked verified. An organization always keeps at least one active admin.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from disclosure import policies
from disclosure.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from disclosure.services.audit import audit_record

from .mail import mail_after_commit, site_url
from .models import Invitation, Membership, Organization, User
from .offboarding import user_access_end
from .tokens import token_hash

Role = Membership.Role
ContactRole = Membership.ContactRole
Status = Organization.Status

# Invitations are sent (and accepted) only while the organization is applied or verified.
INVITABLE = frozenset({Status.APPLIED, Status.VERIFIED})
NAME_MAX_LENGTH = 200


class InvitationUnusable(ApplicationError):
    """The link is unknown (404), or expired, revoked or used (410 Gone)."""

    status_code = 410


def invitation_state(invitation: Invitation, *, now: Any = None) -> str:
    """open, expired, accepted or revoked."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= (now or timezone.now()):
        return "expired"
    return "open"


def email_clean(value: Any, field: str = "email") -> str:
    """A valid address, stripped and in lower case (as UserManager stores them)."""
    email = value.strip().lower() if isinstance(value, str) else ""
    if not email:
        raise ValidationFailed({field: "Give an email address."})
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationFailed({field: f"{value.strip()!r} is not a valid email address."}) from exc
    return email


def _choice(value: Any, choices: type[Role] | type[ContactRole], field: str) -> str:
    if value not in choices.values:
        names = ", ".join(repr(v) if v == "" else v for v in choices.values)
        raise ValidationFailed({field: f"Choose one of: {names}."})
    return str(value)


def _locked_org(organization: Organization) -> Organization:
    """Lock the organization row: its admin changes and invitations are made one at a time."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


def invitation_issue(
    *,
    organization: Organization,
    email: str,
    role: str,
    contact_role: str,
    invited_by: Any,
    application: bool = False,
) -> Invitation:
    """Write an invitation and mail its link after commit. Callers check who may and validate.

    An expired open invitation to the same address is revoked first (it blocks nothing); an
    invitation still open is a 409.
    """
    now = timezone.now()
    open_ = Invitation.objects.filter(
        organization=organization, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).first()
    duplicate = Conflict(
        {"email": f"An invitation to {email} is open already; revoke it to send a new one."}
    )
    if open_ is not None:
        if open_.expires_at > now:
            raise duplicate
        Invitation.objects.filter(pk=open_.pk).update(revoked_at=now)
    raw = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin is a 409, not a 500
            invitation = Invitation.objects.create(
                organization=organization,
                email=email,
                role=role,
                contact_role=contact_role,
                token_hash=token_hash(raw),
                invited_by=invited_by if getattr(invited_by, "is_authenticated", False) else None,
                expires_at=now + timedelta(hours=settings.INVITATION_MAX_AGE_HOURS),
            )
    except IntegrityError as exc:
        raise duplicate from exc
    inviter = None
    if invitation.invited_by is not None:
        inviter = invitation.invited_by.full_name or invitation.invited_by.email
    mail_after_commit(
        to=[email],
        subject=(
            f"Confirm your address to complete {organization.name}'s application"
            if application
            else f"You are invited to join {organization.name} on Forewarn"
        ),
        template="emails/invitation.txt",
        context={
            "organization": organization.name,
            "application": application,
            "inviter": inviter,
            "role": invitation.get_role_display(),
            "contact_role": invitation.get_contact_role_display() if contact_role else "",
            "url": site_url("invitation-accept", raw),
            "expires_at": invitation.expires_at,
        },
    )
    return invitation


@transaction.atomic
def invitation_create(
    *,
    actor: Any,
    organization: Organization,
    email: Any,
    role: Any = Role.MEMBER,
    contact_role: Any = ContactRole.NONE,
) -> Invitation:
    """Invite a contact by email; an admin of the organization or a coordinator may."""
    if not policies.can_invite_to_organization(actor, organization):
        raise NotAllowed("Only the organization's admins and the coordinators invite contacts.")
    organization = _locked_org(organization)
    if organization.status not in INVITABLE:
        raise Conflict(
            f"{organization.name} is {organization.get_status_display().lower()}; "
            "nobody can be invited to it."
        )
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for field, clean in (
        ("email", lambda: email_clean(email)),
        ("role", lambda: _choice(role, Role, "role")),
        ("contact_role", lambda: _choice(contact_role, ContactRole, "contact_role")),
    ):
        try:
            cleaned[field] = clean()
        except ValidationFailed as exc:
            errors.update(exc.detail)  # type: ignore[arg-type]
    if errors:
        raise ValidationFailed(errors)
    address = cleaned["email"]
    if Membership.objects.filter(organization=organization, user__email__iexact=address).exists():
        raise Conflict({"email": f"{address} is a member of {organization.name} already."})
    invitation = invitation_issue(
        organization=organization,
        email=address,
        role=cleaned["role"],
        contact_role=cleaned["contact_role"],
        invited_by=actor,
    )
    audit_record(
        actor=actor,
        action="invitation.created",
        data={
            "organization": organization.pk,
            "invitation": invitation.pk,
            "email": address,
            "role": invitation.role,
            "contact_role": invitation.contact_role,
        },
    )
    return invitation


def _locked_invitation(actor: Any, invitation: Invitation) -> Invitation:
    if not policies.can_invite_to_organization(actor, invitation.organization):
        raise NotAllowed("Only the organization's admins and the coordinators manage invitations.")
    _locked_org(invitation.organization)
    return (
        Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
    )


@transaction.atomic
def invitation_revoke(*, actor: Any, invitation: Invitation) -> Invitation:
    """The link stops working. Revoking twice changes nothing; an accepted one is a 409."""
    invitation = _locked_invitation(actor, invitation)
    if invitation.accepted_at is not None:
        raise Conflict(f"The invitation to {invitation.email} was accepted; remove the member.")
    if invitation.revoked_at is not None:
        return invitation
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="invitation.revoked",
        data={
            "organization": invitation.organization_id,
            "invitation": invitation.pk,
            "email": invitation.email,
        },
    )
    return invitation


@transaction.atomic
def invitation_resend(*, actor: Any, invitation: Invitation) -> Invitation:
    """Revoke the invitation and send a new link (a new expiry) to the same address."""
    invitation = _locked_invitation(actor, invitation)
    if invitation.accepted_at is not None:
        raise Conflict(f"The invitation to {invitation.email} was accepted already.")
    organization = invitation.organization
    if organization.status not in INVITABLE:
        raise Conflict(
            f"{organization.name} is {organization.get_status_display().lower()}; "
            "nobody can be invited to it."
        )
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    fresh = invitation_issue(
        organization=organization,
        email=invitation.email,
        role=invitation.role,
        contact_role=invitation.contact_role,
        invited_by=actor,
        # The applicant's own invitation keeps its wording.
        application=invitation.invited_by_id is None,
    )
    audit_record(
        actor=actor,
        action="invitation.resent",
        data={
            "organization": organization.pk,
            "invitation": fresh.pk,
            "replaces": invitation.pk,
            "email": invitation.email,
        },
    )
    return fresh


def invitation_for_token(token: str, *, lock: bool = False) -> Invitation:
    """The invitation a link names, if it can still be used; else a 404 or a 410."""
    rows = Invitation.objects.select_related("organization", "invited_by")
    if lock:
        rows = rows.select_for_update(of=("self",))  # invited_by is an outer join
    invitation = rows.filter(token_hash=token_hash(token)).first() if token else None
    if invitation is None:
        raise InvitationUnusable(
            "This invitation link is not valid. Check that you copied all of it.", status_code=404
        )
    state = invitation_state(invitation)
    if state == "accepted":
        raise InvitationUnusable("This invitation has been used already. Log in instead.")
    if state == "revoked":
        raise InvitationUnusable(
            "This invitation was withdrawn. Ask the organization's admins for a new one."
        )
    if state == "expired":
        raise InvitationUnusable(
            "This invitation has expired. Ask the organization's admins (or, for an "
            "application, the coordinators) to send a new one."
        )
    if invitation.organization.status not in INVITABLE:
        raise InvitationUnusable(
            f"{invitation.organization.name} is "
            f"{invitation.organization.get_status_display().lower()}; "
            "its invitations no longer work."
        )
    return invitation


def _new_account(invitation: Invitation, full_name: Any, password: Any) -> User:
    errors: dict[str, Any] = {}
    name = full_name.strip() if isinstance(full_name, str) else ""
    if not name:
        errors["full_name"] = "Give your name."
    elif len(name) > NAME_MAX_LENGTH:
        errors["full_name"] = f"At most {NAME_MAX_LENGTH} characters."
    elif any(c in name for c in "\r\n\t\x00"):
        errors["full_name"] = "Give a single line, without tabs or line breaks."
    if not isinstance(password, str) or not password:
        errors["password"] = "Choose a password."  # noqa: S105 (a message, not a secret)
    else:
        try:
            password_validation.validate_password(
                password, user=User(email=invitation.email, full_name=name)
            )
        except ValidationError as exc:
            errors["password"] = " ".join(exc.messages)
    if errors:
        raise ValidationFailed(errors)
    try:
        with transaction.atomic():
            return User.objects.create_user(invitation.email, password, full_name=name)
    except IntegrityError as exc:  # someone made the account meanwhile: log in and accept
        raise Conflict(
            f"An account for {invitation.email} exists; log in as {invitation.email} and "
            "follow the link again."
        ) from exc


@transaction.atomic
def invitation_accept(
    *, user: Any, token: str, full_name: Any = "", password: Any = ""
) -> Membership:
    """Join the organization through an invitation link.

    If nobody has the invited address, ``user`` is anonymous and a new account is made with
    ``full_name`` and ``password`` (Django's password validators apply). If an account has it,
    ``user`` must be that account (logged in). Either way the address counts as verified.
    """
    invitation = invitation_for_token(token, lock=True)
    signed_in = bool(getattr(user, "is_authenticated", False))
    account = User.objects.filter(email__iexact=invitation.email).first()
    new_account = account is None
    if account is not None:
        if not signed_in or user.pk != account.pk:
            raise NotAllowed(
                f"This invitation is for {invitation.email}: log in as {invitation.email} "
                "and follow the link again."
            )
        if not account.is_active:
            raise NotAllowed("This account is deactivated.")
    elif signed_in:
        raise NotAllowed(
            f"This invitation is for {invitation.email}, but you are logged in as "
            f"{user.email}. Log out, then follow the link again."
        )
    else:
        account = _new_account(invitation, full_name, password)
    organization = invitation.organization
    if Membership.objects.filter(user=account, organization=organization).exists():
        raise Conflict(f"You are a member of {organization.name} already.")
    now = timezone.now()
    if account.email_verified_at is None:
        account.email_verified_at = now
        account.save(update_fields=["email_verified_at"])
    membership = Membership.objects.create(
        user=account,
        organization=organization,
        role=invitation.role,
        contact_role=invitation.contact_role,
    )
    invitation.accepted_at = now
    invitation.accepted_by = account
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        actor=account,
        action="invitation.accepted",
        data={
            "organization": organization.pk,
            "invitation": invitation.pk,
            "email": invitation.email,
            "role": membership.role,
            "contact_role": membership.contact_role,
            "new_account": new_account,
        },
    )
    return membership


# --- Members and their roles.


def _locked_membership(actor: Any, membership: Membership) -> tuple[Organization, Membership]:
    if not policies.can_manage_organization(actor, membership.organization):
        raise NotAllowed("Only the organization's admins manage its contacts.")
    organization = _locked_org(membership.organization)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    return organization, membership


def _other_active_admins(organization: Organization, membership: Membership) -> bool:
    return (
        Membership.objects.filter(organization=organization, role=Role.ADMIN, user__is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


LAST_ADMIN = "{email} is the last admin of {org}; make another member an admin first."


@transaction.atomic
def membership_update(
    *, actor: Any, membership: Membership, role: Any = None, contact_role: Any = None
) -> Membership:
    """Change a member's role and/or contact role (None leaves it as it is)."""
    organization, membership = _locked_membership(actor, membership)
    errors: dict[str, str] = {}
    changes: dict[str, tuple[str, str]] = {}
    for field, value, choices in (
        ("role", role, Role),
        ("contact_role", contact_role, ContactRole),
    ):
        if value is None:
            continue
        try:
            new = _choice(value, choices, field)
        except ValidationFailed as exc:
            errors.update(exc.detail)  # type: ignore[arg-type]
            continue
        if new != getattr(membership, field):
            changes[field] = (getattr(membership, field), new)
    if errors:
        raise ValidationFailed(errors)
    if not changes:
        return membership
    if (
        changes.get("role", ("", ""))[1] == Role.MEMBER
        and membership.role == Role.ADMIN
        and not _other_active_admins(organization, membership)
    ):
        raise Conflict(
            {"role": LAST_ADMIN.format(email=membership.user.email, org=organization.name)}
        )
    for field, (_, new) in changes.items():
        setattr(membership, field, new)
    membership.save(update_fields=list(changes))
    audit_record(
        actor=actor,
        action="membership.updated",
        data={
            "organization": organization.pk,
            "membership": membership.pk,
            "email": membership.user.email,
            **{f"{field}_from": old for field, (old, _) in changes.items()},
            **{f"{field}_to": new for field, (_, new) in changes.items()},
        },
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Any, membership: Membership) -> None:
    """Remove a member from the organization (their account stays). Never the last admin."""
    organization, membership = _locked_membership(actor, membership)
    if membership.role == Role.ADMIN and not _other_active_admins(organization, membership):
        raise Conflict(LAST_ADMIN.format(email=membership.user.email, org=organization.name))
    data = {
        "organization": organization.pk,
        "membership": membership.pk,
        "email": membership.user.email,
        "role": membership.role,
        "contact_role": membership.contact_role,
    }
    membership.delete()
    audit_record(actor=actor, action="membership.removed", data=data)
    # Offboarding: the removed member's sessions and API tokens end now.
    user_access_end(actor=actor, user=membership.user, reason=f"removed from {organization.name}")
