"""A user's own settings: the time zone times are shown in (besides UTC)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from disclosure.errors import NotAllowed
from disclosure.services.audit import audit_record
from disclosure.timezones import UTC_NAME, zone_get

from .models import User


@transaction.atomic
def user_time_zone_set(*, actor: Any, user: User, time_zone: str) -> User:
    """Set the IANA zone the user sees times in, besides UTC; "" (or "UTC"): UTC only.

    An unknown zone is a 400 naming ``time_zone``. Only the user sets their own.
    """
    if getattr(actor, "pk", None) != user.pk:
        raise NotAllowed("You can set only your own time zone.")
    name = (time_zone or "").strip()
    name = zone_get(name).key if name and name != UTC_NAME else ""
    if name == user.time_zone:
        return user
    old = user.time_zone
    user.time_zone = name
    user.save(update_fields=["time_zone"])
    audit_record(
        actor=actor,
        action="user.time_zone_changed",
        data={"user": user.pk, "from": old, "to": name},
    )
    return user
