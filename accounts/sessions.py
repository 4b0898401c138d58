"""Sessions: when they began and were last used (for the timeouts), and which are whose.

The index (UserSession) is written at login and followed when a session changes its id, so
that sessions_end can end every session of a user at once, e.g. when they are removed from an
organization or deactivated, whatever session engine is configured.
"""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

from .models import User, UserSession

AUTH_AT = "auth_at"  # when the user logged in (epoch seconds): the absolute timeout
SEEN_AT = "seen_at"  # their last request, to a minute (SEEN_RESOLUTION): the idle timeout
SEEN_RESOLUTION = 60


def _store() -> type[SessionBase]:
    return import_module(settings.SESSION_ENGINE).SessionStore  # type: ignore[no-any-return]


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as django-axes determined it, else the socket's peer."""
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR") or None


def session_started(request: HttpRequest, user: User) -> None:
    """At login: stamp the session and add it to the user's index."""
    now = int(time.time())
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    if request.session.session_key is None:
        request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "ip_address": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        },
    )


def session_ended(request: HttpRequest | None) -> None:
    if request is not None and request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()


def session_key_cycle(request: HttpRequest) -> None:
    """Give the session a new id (on a step up in privilege) and move its index row along."""
    old = request.session.session_key
    request.session.cycle_key()
    if old:
        UserSession.objects.filter(session_key=old).update(session_key=request.session.session_key)


def sessions_end(*, user: Any) -> int:
    """Delete every indexed session of ``user`` now; returns how many there were."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    store = _store()
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(user=user).delete()
    return len(keys)


def session_timed_out(session: SessionBase, now: float) -> str | None:
    """ "idle" or "absolute" if the session has run out, else None."""
    started = session.get(AUTH_AT)
    seen = session.get(SEEN_AT)
    if not isinstance(started, int | float) or not isinstance(seen, int | float):
        return None
    if now - started > settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS:
        return "absolute"
    if now - seen > settings.SESSION_IDLE_TIMEOUT_SECONDS:
        return "idle"
    return None


def session_seen(session: SessionBase, now: float) -> None:
    """Slide the idle timeout, writing the session at most once a SEEN_RESOLUTION."""
    seen = session.get(SEEN_AT)
    if not isinstance(seen, int | float) or now - seen >= SEEN_RESOLUTION:
        session[SEEN_AT] = int(now)
    if AUTH_AT not in session:  # a session from before the timeouts: it starts now
        session[AUTH_AT] = int(now)
