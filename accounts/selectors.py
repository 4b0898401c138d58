"""Reading the registry for a user: every lookup is scoped, so an outsider learns nothing."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404

from disclosure import policies
from disclosure.models import AuditEvent, Subscription

from .models import Invitation, Membership, Organization

Status = Organization.Status
# The coordinators' list: what waits for a decision first.
STATUS_ORDER = (Status.APPLIED, Status.SUSPENDED, Status.VERIFIED, Status.REJECTED)


def organization_get_for(*, user: Any, slug: str) -> Organization:
    """The organization, if the user is a coordinator or one of its members; else a 404.

    Its admins and the coordinators may then see it (policies.can_view_organization); a plain
    member is refused with a 403, having learnt nothing new.
    """
    organization = Organization.objects.filter(slug=slug).first() if isinstance(slug, str) else None
    if organization is None or not (
        policies.is_coordinator(user) or organization.pk in policies.org_ids(user)
    ):
        raise Http404("No such organization.")
    return organization


def organizations_administered_by(user: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(pk__in=policies.org_ids(user, policies.ADMIN)).order_by(
        "name"
    )


def defender_organizations_for_review(*, status: str | None = None) -> QuerySet[Organization]:
    """Every defender organization (or those with one status), what waits for a decision first."""
    rows = Organization.objects.filter(kind=Organization.Kind.DEFENDER)
    if status is not None:
        rows = rows.filter(status=status)
    rank = Case(
        *(When(status=s, then=Value(i)) for i, s in enumerate(STATUS_ORDER)),
        default=Value(len(STATUS_ORDER)),
        output_field=IntegerField(),
    )
    return (
        rows.annotate(status_rank=rank)
        .prefetch_related("sectors")
        .order_by("status_rank", "-created_at", "id")
    )


def applications_of(organizations: list[Organization]) -> dict[int, dict[str, Any]]:
    """What each organization's application said about the applicant, in one query."""
    ids = [o.pk for o in organizations]
    if not ids:
        return {}
    events = AuditEvent.objects.filter(
        action="organization.applied", finding=None, data__organization__in=ids
    ).values_list("data", "created_at")
    return {data["organization"]: {**data, "applied_at": at} for data, at in events}


def contacts_of(organization: Organization) -> QuerySet[Membership]:
    """Its members, admins first, each with their user and OpenPGP key's fingerprint."""
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user", "user__openpgp_key")
        .defer("user__openpgp_key__armored", "user__openpgp_key__user_ids")
        .order_by("role", "user__email")  # "admin" sorts before "member"
    )


def invitations_pending_of(organization: Organization) -> QuerySet[Invitation]:
    """Invitations not yet accepted or revoked (expired ones too: they can be resent)."""
    return (
        Invitation.objects.filter(
            organization=organization, accepted_at__isnull=True, revoked_at__isnull=True
        )
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    )


def subscriptions_of(organization: Organization) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(organization=organization)
        .select_related("category__taxonomy")
        .order_by("category__taxonomy__slug", "category__position", "category__code")
    )


def membership_get(organization: Organization, pk: int) -> Membership:
    membership = contacts_of(organization).filter(pk=pk).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def invitation_get(organization: Organization, pk: int) -> Invitation:
    invitation = (
        Invitation.objects.filter(organization=organization, pk=pk)
        .select_related("organization", "invited_by")
        .first()
    )
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def subscription_get(organization: Organization, pk: int) -> Subscription:
    subscription = subscriptions_of(organization).filter(pk=pk).select_related("organization")
    found = subscription.first()
    if found is None:
        raise Http404("No such subscription.")
    return found
