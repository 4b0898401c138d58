"""DRF permissions for findings. The decisions themselves live in disclosure.policies."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .. import policies
from ..models import Finding


def _authenticated(request: Request) -> bool:
    return bool(request.user and request.user.is_authenticated)


class FindingAccess(BasePermission):
    """Login required, but checked after the lookup on detail routes.

    An anonymous caller therefore gets the same 404 as everyone else for a finding it may not
    see, so that a 401 never confirms that an embargoed reference exists.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(view, "detail", False)) or _authenticated(request)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return _authenticated(request)


class CanReadAuditTrail(FindingAccess):
    """The audit trail is for the finding's lab and the coordinators, not for defenders."""

    message = "Only the finding's lab and coordinators can read its audit trail."

    def has_object_permission(self, request: Request, view: Any, obj: Finding) -> bool:
        user = request.user
        return _authenticated(request) and (
            policies.is_lab_member(user, obj) or policies.is_coordinator(user)
        )
