"""Credits, typed as in security advisories; the person credited accepts or declines.

Only someone who may already see the finding can be credited: a credit shows its finding on
the credited person's home page, so crediting an outsider would tell them the finding exists.
After release, anyone may be credited (the finding is public by then).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User

from .. import policies
from ..errors import NotAllowed, ValidationFailed
from ..models import Credit, Finding
from .audit import audit_record


@transaction.atomic
def credit_create(*, actor: Any, finding: Finding, email: Any, type: Any) -> Credit:
    if not policies.can_manage_credits(actor, finding):
        raise NotAllowed("Only the finding's lab and coordinators can credit people on it.")
    errors: dict[str, str] = {}
    if type not in Credit.Type.values:
        errors["type"] = f"Choose one of: {', '.join(Credit.Type.values)}."
    user = None
    max_length = User._meta.get_field("email").max_length or 254
    if not isinstance(email, str) or not email.strip():
        errors["email"] = "Give the email address of the person to credit."
    elif len(email.strip()) > max_length:
        # Refused before the lookup: a long LIKE pattern fails on SQLite (a 500, not a 400).
        errors["email"] = f"An email address has at most {max_length} characters."
    else:
        user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
        if user is None:
            errors["email"] = f"No Forewarn user has the email address {email.strip()!r}."
        elif not policies.can_view_finding(user, finding):
            errors["email"] = (
                f"{user.email} may not see this finding yet; credit them once they may "
                "(a member of the lab, a coordinator, a notified defender) or after release."
            )
    if errors or user is None:
        raise ValidationFailed(errors)
    duplicate = ValidationFailed({"type": f"{user.email} is already credited as {type}."})
    if Credit.objects.filter(finding=finding, user=user, type=type).exists():
        raise duplicate
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin is a 400, not a 500
            credit = Credit.objects.create(finding=finding, user=user, type=type, created_by=actor)
    except IntegrityError as exc:
        raise duplicate from exc
    audit_record(
        actor=actor,
        action="credit.created",
        finding=finding,
        data={"credit": credit.pk, "user": user.email, "type": type},
    )
    return credit


def _answer(*, actor: Any, credit: Credit, status: str) -> Credit:
    credit = Credit.objects.select_for_update().select_related("finding").get(pk=credit.pk)
    if credit.user_id != getattr(actor, "pk", None):
        raise NotAllowed("Only the person credited can accept or decline a credit.")
    if credit.status == status:
        return credit  # answering the same twice changes nothing
    old = credit.status
    credit.status = status
    credit.answered_at = timezone.now()
    credit.save(update_fields=["status", "answered_at"])
    audit_record(
        actor=actor,
        action=f"credit.{status}",
        finding=credit.finding,
        data={"credit": credit.pk, "type": credit.type, "from": old, "to": status},
    )
    return credit


@transaction.atomic
def credit_accept(*, actor: Any, credit: Credit) -> Credit:
    return _answer(actor=actor, credit=credit, status=Credit.Status.ACCEPTED)


@transaction.atomic
def credit_decline(*, actor: Any, credit: Credit) -> Credit:
    return _answer(actor=actor, credit=credit, status=Credit.Status.DECLINED)
