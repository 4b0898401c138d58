"""A defender organization's private calendar feeds: its admins create and revoke them.

A feed's URL holds a token: ``cal_`` and 256 random bits, stored as its SHA-256 like an API
token (accounts.tokens), shown once, never written to the audit trail. Several feeds may be
live at once, one per calendar app, so that one can be revoked without the others. A feed
works while it is not revoked and the admin who created it is active and still a member of
the organization: someone who leaves takes no working URL with them.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.mail import site_url
from accounts.models import Membership, Organization
from accounts.tokens import LAST_USED_RESOLUTION, token_hash

from .. import policies
from ..errors import Conflict, NotAllowed
from ..models import CalendarFeed
from .audit import audit_record

TOKEN_PREFIX = "cal_"  # noqa: S105 (a public marker, not a secret)
PREFIX_LENGTH = 10
# Live feeds an organization may hold at once: one per calendar app is a handful.
FEEDS_MAX = 20


def calendar_feed_url(raw: str) -> str:
    return site_url("calendar-feed", raw)


def _data(feed: CalendarFeed) -> dict[str, Any]:
    """Audit data: ids and the prefix, never the token."""
    return {"organization": feed.organization.slug, "feed": feed.pk, "prefix": feed.prefix}


@transaction.atomic
def calendar_feed_create(*, actor: Any, organization: Organization) -> tuple[CalendarFeed, str]:
    """A new feed; returns it and its URL, which holds the token and is shown this once."""
    if not policies.can_manage_calendar_feeds(actor, organization):
        raise NotAllowed(f"Only the admins of {organization.name} manage its calendar feeds.")
    # Lock the organization so that two creations at once cannot both pass the cap.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    live = CalendarFeed.objects.filter(organization=organization, revoked_at__isnull=True)
    if live.count() >= FEEDS_MAX:
        raise Conflict(
            f"{organization.name} has {FEEDS_MAX} calendar feeds; revoke one it no longer uses."
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        organization=organization,
        token_hash=token_hash(raw),
        prefix=raw[:PREFIX_LENGTH],
        created_by=actor,
    )
    audit_record(actor=actor, action="calendar_feed.created", data=_data(feed))
    return feed, calendar_feed_url(raw)


@transaction.atomic
def calendar_feed_revoke(*, actor: Any, feed: CalendarFeed) -> CalendarFeed:
    """Revoke it: its URL answers 404 from now on. Revoking a revoked feed changes nothing."""
    if not policies.can_manage_calendar_feeds(actor, feed.organization):
        raise NotAllowed(f"Only the admins of {feed.organization.name} manage its calendar feeds.")
    now = timezone.now()
    revoked = CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(
        revoked_at=now
    )
    if revoked:
        feed.revoked_at = now
        audit_record(actor=actor, action="calendar_feed.revoked", data=_data(feed))
    return feed


def calendar_feed_fetched(*, feed: CalendarFeed, entries: int, ip: str | None) -> None:
    """Audit a fetch: the feed exports dates of embargoed findings. Its holder is anonymous
    (the URL is the credential), so the actor is none; the feed and the address say who."""
    audit_record(
        actor=None,
        action="calendar_feed.fetched",
        data={**_data(feed), "entries": entries, "ip": ip},
    )


def creator_still_member() -> Exists:
    """The feed's creator is active and still belongs to the feed's organization."""
    return Exists(
        Membership.objects.filter(
            user_id=OuterRef("created_by_id"),
            organization_id=OuterRef("organization_id"),
            user__is_active=True,
        )
    )


def calendar_feed_authenticate(raw: str) -> CalendarFeed | None:
    """The live feed whose token this is, its organization loaded; None otherwise.

    Looked up by the token's SHA-256: the time the database takes depends on the hash, which
    an attacker cannot steer, not on how much of a real token they guessed.
    """
    if not isinstance(raw, str) or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    digest = token_hash(raw)
    feed = (
        CalendarFeed.objects.select_related("organization")
        .filter(token_hash=digest, revoked_at__isnull=True)
        .filter(creator_still_member())
        .first()
    )
    if feed is None or not hmac.compare_digest(feed.token_hash, digest):
        return None
    now = timezone.now()
    # Record use at most once a minute: calendar apps poll, and the list needs no finer time.
    if feed.last_used_at is None or now - feed.last_used_at >= LAST_USED_RESOLUTION:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
        feed.last_used_at = now
    return feed
