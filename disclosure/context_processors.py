"""Template context for every page: the signed-in user's unread inbox count for the nav, and
whether the nav offers the coordinators' deliveries and audit trail pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .policies import can_browse_audit_trail, can_manage_deliveries
from .selectors_delivery import inbox_unread_count


def inbox(request: HttpRequest) -> dict[str, Any]:
    """Both lazy: ``inbox_unread`` is one COUNT, run only if a template shows it and only when
    signed in; ``nav_deliveries`` reuses the memberships the view has usually loaded already."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"inbox_unread": 0, "nav_deliveries": False, "nav_audit": False}
    return {
        "inbox_unread": SimpleLazyObject(lambda: inbox_unread_count(user)),
        "nav_deliveries": SimpleLazyObject(lambda: can_manage_deliveries(user)),
        "nav_audit": SimpleLazyObject(lambda: can_browse_audit_trail(user)),
    }
