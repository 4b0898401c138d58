"""Offboarding: a user removed from an organization or deactivated loses access at once.

Their sessions are deleted (through the UserSession index) and their API tokens revoked, in
the same transaction as the change, so the next request of either kind is anonymous or a 401.
Deactivation anywhere (this service, the admin, a script saving the user) ends access: a
signal on the user model watches is_active go from true to false.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from disclosure import policies
from disclosure.errors import NotAllowed
from disclosure.services.audit import audit_record

from .models import User
from .sessions import sessions_end
from .tokens import api_tokens_revoke_all


def user_access_end(*, actor: Any, user: User, reason: str) -> dict[str, int]:
    """End every session and revoke every API token of ``user``; audited with the counts."""
    ended = {
        "sessions": sessions_end(user=user),
        "tokens": api_tokens_revoke_all(actor=actor, user=user, reason=reason),
    }
    audit_record(
        actor=actor,
        action="user.access_ended",
        data={"user": user.pk, "email": user.email, "reason": reason, **ended},
    )
    return ended


@transaction.atomic
def user_deactivate(*, actor: Any, user: User) -> User:
    """Deactivate an account (coordinators, superusers): it can no longer log in or use tokens."""
    if not policies.can_deactivate_user(actor, user):
        raise NotAllowed("Only coordinators deactivate accounts, and not their own.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        return user
    user.is_active = False
    user._forewarn_actor = actor  # type: ignore[attr-defined]
    user.save(update_fields=["is_active"])  # the receivers below end its access
    audit_record(
        actor=actor, action="user.deactivated", data={"user": user.pk, "email": user.email}
    )
    return user


@receiver(pre_save, sender=User, dispatch_uid="accounts.deactivation_seen")
def _deactivation_seen(
    sender: Any, instance: User, update_fields: Any = None, **kwargs: Any
) -> None:
    if instance.pk is None or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    was_active = User.objects.filter(pk=instance.pk, is_active=True).exists()
    instance._forewarn_deactivated = was_active  # type: ignore[attr-defined]


@receiver(post_save, sender=User, dispatch_uid="accounts.deactivation_ends_access")
def _deactivation_ends_access(sender: Any, instance: User, **kwargs: Any) -> None:
    if getattr(instance, "_forewarn_deactivated", False):
        instance._forewarn_deactivated = False  # type: ignore[attr-defined]
        actor = getattr(instance, "_forewarn_actor", None)
        user_access_end(actor=actor, user=instance, reason="deactivated")
