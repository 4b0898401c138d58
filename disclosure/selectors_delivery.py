"""Reads of the delivery outbox for a user: coordinators' view of deliveries and failures,
and each user's own in-app inbox. Anything else is a 404."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Organization, User

from . import policies
from .errors import ValidationFailed
from .models import Delivery, Finding
from .selectors import findings_visible_to

Channel = Delivery.Channel
State = Delivery.State

DELIVERY_FILTERS = ("state", "channel", "organization", "finding")
PAGING_PARAMS = frozenset({"cursor", "page"})
# Only what a row shows: nothing of the finding beyond its reference and TLP label.
DELIVERY_COLUMNS = (
    "id",
    "event",
    "channel",
    "state",
    "attempts",
    "next_attempt_at",
    "last_error",
    "last_status_code",
    "sent_at",
    "created_at",
    "finding",
    "organization",
    "recipient",
    "endpoint",
    "finding__reference",
    "finding__tlp",
    "organization__slug",
    "organization__name",
    "recipient__email",
    "recipient__email_bouncing_at",
    "endpoint__url",
)

INBOX_COLUMNS = (
    "id",
    "event",
    "channel",
    "recipient",
    "read_at",
    "created_at",
    "finding",
    "finding__reference",
    "finding__tlp",
    "finding__state",
)


# --- Coordinators: every delivery.


def delivery_filters_parse(params: Mapping[str, Any], *, strict: bool = True) -> dict[str, Any]:
    """Validate ``state``, ``channel``, ``organization`` (slug) and ``finding`` (reference).

    Returns the filters for deliveries_for. A bad value, a repeated or (when ``strict``) an
    unknown parameter is a ValidationFailed naming it.
    """
    errors: dict[str, str] = {}
    filters: dict[str, Any] = {}
    getlist = getattr(params, "getlist", None)
    if strict:
        for name in set(params) - set(DELIVERY_FILTERS) - PAGING_PARAMS:
            errors[name] = f"Unknown parameter; use: {', '.join(DELIVERY_FILTERS)}."
    for name in DELIVERY_FILTERS:
        if getlist is not None and len(getlist(name)) > 1:
            errors[name] = "Give it once."
            continue
        value = (params.get(name) or "").strip()
        if not value:
            continue
        if name == "state" and value not in State.values:
            errors[name] = f"Unknown state {value!r}; use one of: {', '.join(State.values)}."
        elif name == "channel" and value not in Channel.values:
            errors[name] = f"Unknown channel {value!r}; use one of: {', '.join(Channel.values)}."
        elif name == "organization":
            org = Organization.objects.filter(slug=value).first()
            if org is None:
                errors[name] = f"No organization with the slug {value!r}."
            filters[name] = org
        elif name == "finding":
            found = Finding.objects.filter(reference=value.upper()).first()
            if found is None:
                errors[name] = f"No finding with the reference {value!r}."
            filters[name] = found
        else:
            filters[name] = value
    if errors:
        raise ValidationFailed(errors)
    return filters


def deliveries_for(user: Any, **filters: Any) -> QuerySet[Delivery]:
    """Every delivery, newest first, for coordinators; nothing for anyone else."""
    if not policies.can_manage_deliveries(user):
        return Delivery.objects.none()
    rows = Delivery.objects.select_related("finding", "organization", "recipient", "endpoint")
    for name in DELIVERY_FILTERS:
        if filters.get(name) is not None:
            rows = rows.filter(**{name: filters[name]})
    return rows.only(*DELIVERY_COLUMNS).order_by("-id")


def delivery_get_for(*, user: Any, pk: int) -> Delivery:
    delivery = deliveries_for(user).filter(pk=pk).first()
    if delivery is None:
        raise Http404("No such delivery.")
    return delivery


def bouncing_contacts_for(user: Any) -> QuerySet[User]:
    """Users whose mail bounces, with their organizations, for coordinators."""
    if not policies.can_manage_deliveries(user):
        return User.objects.none()
    return (
        User.objects.filter(email_bouncing_at__isnull=False)
        .prefetch_related("organizations")
        .order_by("-email_bouncing_at", "id")
    )


# --- Everyone: their own inbox.


def _inbox_items(user: Any) -> QuerySet[Delivery]:
    """The user's inbox rows about findings the user may still see: an organization removed
    from a finding's audience keeps its rows (the outbox is history), not the finding."""
    return Delivery.objects.filter(
        recipient_id=user.pk,
        channel=Channel.INBOX,
        finding__in=findings_visible_to(user).values("pk"),
    )


def inbox_of(user: Any, *, unread: bool | None = None) -> QuerySet[Delivery]:
    """The user's in-app notifications, newest first; ``unread`` True/False filters."""
    if not getattr(user, "is_authenticated", False):
        return Delivery.objects.none()
    items = _inbox_items(user)
    if unread is not None:
        items = items.filter(read_at__isnull=unread)
    return items.select_related("finding").only(*INBOX_COLUMNS).order_by("-id")


def inbox_item_get_for(*, user: Any, pk: int) -> Delivery:
    """One of the user's inbox items; someone else's is a 404 like a missing one."""
    item = inbox_of(user).filter(pk=pk).first()
    if item is None:
        raise Http404("No such item in your inbox.")
    return item


def inbox_unread_count(user: Any) -> int:
    """One COUNT on the (recipient, channel, read_at) index."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return _inbox_items(user).filter(read_at__isnull=True).count()
