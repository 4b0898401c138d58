"""Private calendar feeds: the feed itself (no login: its URL's token is the credential) and
the page where a defender organization's admins create, list and revoke them.

An organization someone does not belong to is a 404; a member who is not an admin (or a
coordinator) gets a 403, as on the organization's other pages. Creating answers with the page
itself, since the URL holds the token and must not travel in a redirect or a session.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import Organization
from accounts.selectors import organization_get_for
from accounts.sessions import client_ip

from .. import policies, selectors_calendar
from ..errors import ApplicationError
from ..ical import calendar_document
from ..services import calendar as service


# Nothing here changes state, and a calendar app has no CSRF cookie: any other method is a 405
# (not the CSRF check's 403).
@csrf_exempt
@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The organization's VCALENDAR; 404 for a token that is unknown or revoked."""
    feed = service.calendar_feed_authenticate(token)
    if feed is None:
        raise Http404("No such calendar.")
    entries = selectors_calendar.calendar_entries_for(feed.organization, now=timezone.now())
    service.calendar_feed_fetched(feed=feed, entries=len(entries), ip=client_ip(request))
    response = HttpResponse(
        calendar_document(feed.organization, entries), content_type="text/calendar; charset=utf-8"
    )
    # The URL is a credential and the content changes: no shared cache keeps it.
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = 'inline; filename="forewarn.ics"'
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _organization(request: HttpRequest, slug: str) -> Organization:
    organization = organization_get_for(user=request.user, slug=slug)
    if not policies.can_manage_calendar_feeds(request.user, organization):
        raise PermissionDenied
    return organization


def _page(
    request: HttpRequest, organization: Organization, *, url: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "organization": organization,
        "feeds": list(selectors_calendar.calendar_feeds_of(organization)),
        "url": url,
        "feeds_max": service.FEEDS_MAX,
        "window_days": selectors_calendar.RELEASED_WINDOW.days,
    }
    return render(request, "disclosure/calendar_feeds.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def organization_calendar(request: HttpRequest, slug: str) -> HttpResponse:
    """The page; a POST creates a feed and shows its URL in this response only."""
    organization = _organization(request, slug)
    if request.method != "POST":
        return _page(request, organization)
    try:
        feed, url = service.calendar_feed_create(actor=request.user, organization=organization)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
        return _page(request, organization, status=exc.status_code)
    messages.success(request, f"Calendar feed {feed.prefix}… created. Copy its URL now.")
    return _page(request, organization, url=url)


@never_cache
@login_required
@require_POST
def calendar_feed_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organization = _organization(request, slug)
    feed = selectors_calendar.calendar_feed_get(organization, pk)
    service.calendar_feed_revoke(actor=request.user, feed=feed)
    messages.success(request, f"Calendar feed {feed.prefix}… revoked: its URL no longer works.")
    return redirect("organization-calendar", slug=organization.slug)
