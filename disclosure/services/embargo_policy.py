"""Checking an embargo's end: the time itself, the absolute cap, and the policy for the
finding's risk level.

An end needs a zone and must be in the future (so after the start), within EMBARGO_MAX_DAYS of
the start (of now, for an embargo not started). EMBARGO_POLICY_MAX_DAYS gives each risk level
a maximum length; going past it needs a coordinator's written reason, which the embargo stores
(``over_policy_reason``). Bad input is a 400 naming the field, before anything is written.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..errors import ValidationFailed
from ..models import Embargo, Finding
from ..timezones import format_zoned

REASON_MAX_LENGTH = 2000


def policy_max_days(finding: Finding) -> int | None:
    """The policy's maximum for the finding's risk level (None: the level has no preset)."""
    value = settings.EMBARGO_POLICY_MAX_DAYS.get(finding.risk_level)
    return None if value is None else int(value)


def _utc(moment: datetime) -> str:
    return format_zoned(moment, None)


def embargo_end_validate(
    ends_at: datetime, *, starts_at: datetime | None = None, field: str = "embargo_ends_at"
) -> datetime:
    """An end needs a zone, must be in the future (so after the start) and within
    EMBARGO_MAX_DAYS of the start (of now, for an embargo not yet started)."""
    if timezone.is_naive(ends_at):
        raise ValidationFailed({field: "Give a time zone (e.g. 2026-12-01T12:00:00Z)."})
    now = timezone.now()
    if ends_at <= now:
        raise ValidationFailed({field: "The embargo end must be in the future."})
    if starts_at is not None and ends_at <= starts_at:
        raise ValidationFailed(
            {field: f"The embargo end must be after its start, {_utc(starts_at)}."}
        )
    if ends_at > (starts_at or now) + timedelta(days=settings.EMBARGO_MAX_DAYS):
        raise ValidationFailed(
            {field: f"The embargo may last at most {settings.EMBARGO_MAX_DAYS} days."}
        )
    return ends_at


def embargo_policy_check(
    finding: Finding,
    ends_at: datetime,
    *,
    starts_at: datetime | None = None,
    reason: str = "",
    field: str = "ends_at",
    reason_field: str = "reason",
) -> str:
    """The over-policy reason to store: "" within the maximum; past it, the coordinator's
    written ``reason``, without which it is a 400 naming the maximum."""
    maximum = policy_max_days(finding)
    start = starts_at or timezone.now()
    if maximum is None or ends_at <= start + timedelta(days=maximum):
        return ""
    reason = reason_clean(reason, field=reason_field, required=False)
    if reason:
        return reason
    if maximum == 0:
        why = f"A {finding.risk_level}-risk finding needs no embargo (policy maximum: 0 days)"
    else:
        limit = _utc(start + timedelta(days=maximum))
        why = (
            f"Beyond the policy maximum of {maximum} days for a {finding.risk_level}-risk "
            f"finding (until {limit})"
        )
    raise ValidationFailed(
        {field: f"{why}. Going past it needs a coordinator's written reason ({reason_field})."}
    )


def reason_clean(value: str, *, field: str, missing: str = "", required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed({field: missing})
    if len(text) > REASON_MAX_LENGTH:
        raise ValidationFailed({field: f"Keep it under {REASON_MAX_LENGTH} characters."})
    return text


def end_checked(
    finding: Finding,
    embargo: Embargo,
    ends_at: datetime,
    *,
    reason: str,
    field: str = "ends_at",
    reason_field: str = "reason",
) -> str:
    """Check a new end for a running embargo; the over-policy reason to store.

    Shortening an embargo that was over the policy with a reason keeps that reason."""
    embargo_end_validate(ends_at, starts_at=embargo.starts_at, field=field)
    if embargo.over_policy_reason and ends_at <= embargo.ends_at and not reason:
        reason = embargo.over_policy_reason  # still needed only if still beyond the maximum
    return embargo_policy_check(
        finding,
        ends_at,
        starts_at=embargo.starts_at,
        reason=reason,
        field=field,
        reason_field=reason_field,
    )
