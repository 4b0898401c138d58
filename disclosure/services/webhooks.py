"""An organization's webhook endpoints: its admins add, change, rotate, test, disable, delete.

A secret is ``whsec_`` and the base64 of 32 random bytes (the Standard Webhooks format). It is
returned once, by ``endpoint_create`` and ``endpoint_rotate_secret``, and never written to the
audit trail. Rotating keeps the previous secret for ``overlap_hours`` (default
``WEBHOOK_SECRET_OVERLAP_HOURS``): meanwhile deliveries are signed with both, so the receiver
can switch at its own pace.

Every URL is checked against SSRF (channels.ssrf) when it is saved, and again at each send.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization

from .. import policies
from ..errors import NotAllowed, ValidationFailed
from ..models import WebhookEndpoint
from .audit import audit_record
from .channels import webhook
from .channels.ssrf import WebhookURLError, url_check

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's public marker)
DESCRIPTION_MAX_LENGTH = 200
REASON_MAX_LENGTH = 500
OVERLAP_MAX_HOURS = 24 * 7


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _require_admin(actor: Any, organization: Organization) -> None:
    if not policies.can_manage_organization(actor, organization):
        raise NotAllowed(f"Only the admins of {organization.name} manage its webhook endpoints.")


def url_clean(value: Any) -> str:
    """The URL, if webhooks may go to it now; a 400 naming the field otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed({"url": "Enter the https:// URL of your receiver."})
    try:
        url_check(value)
    except WebhookURLError as exc:
        raise ValidationFailed({"url": str(exc)}) from None
    return value.strip()


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed({"description": "Give text."})
    if len(value.strip()) > DESCRIPTION_MAX_LENGTH:
        raise ValidationFailed({"description": f"At most {DESCRIPTION_MAX_LENGTH} characters."})
    return value.strip()


def _data(endpoint: WebhookEndpoint, **extra: Any) -> dict[str, Any]:
    """Audit data: ids and the URL, never a secret."""
    return {
        "organization": endpoint.organization.slug,
        "endpoint": endpoint.pk,
        "url": endpoint.url,
        **extra,
    }


@transaction.atomic
def endpoint_create(
    *, actor: Any, organization: Organization, url: Any, description: Any = ""
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; returns it and its secret, which is shown this once."""
    _require_admin(actor, organization)
    url = url_clean(url)
    description = _description(description)
    secret = secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        url=url,
        description=description,
        secret=secret,
        created_by=actor,
    )
    audit_record(
        actor=actor, action="webhook.created", data=_data(endpoint, description=description)
    )
    return endpoint, secret


@transaction.atomic
def endpoint_update(
    *, actor: Any, endpoint: WebhookEndpoint, url: Any = None, description: Any = None
) -> WebhookEndpoint:
    """Change the URL and/or the description (None leaves one as it is)."""
    _require_admin(actor, endpoint.organization)
    changes: dict[str, list[str]] = {}
    if url is not None:
        url = url_clean(url)
        if url != endpoint.url:
            changes["url"] = [endpoint.url, url]
            endpoint.url = url
    if description is not None:
        description = _description(description)
        if description != endpoint.description:
            changes["description"] = [endpoint.description, description]
            endpoint.description = description
    if changes:
        endpoint.save(update_fields=list(changes))
        audit_record(actor=actor, action="webhook.updated", data=_data(endpoint, changes=changes))
    return endpoint


def _overlap(value: Any) -> int:
    if value is None:
        return int(settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed({"overlap_hours": "Give a whole number of hours."})
    if not 0 <= value <= OVERLAP_MAX_HOURS:
        raise ValidationFailed({"overlap_hours": f"Give between 0 and {OVERLAP_MAX_HOURS} hours."})
    return value


@transaction.atomic
def endpoint_rotate_secret(
    *, actor: Any, endpoint: WebhookEndpoint, overlap_hours: Any = None
) -> tuple[WebhookEndpoint, str]:
    """A new secret, returned this once. The old one keeps signing for ``overlap_hours``
    (0: not at all). A secret still in its overlap from an earlier rotation is dropped."""
    _require_admin(actor, endpoint.organization)
    hours = _overlap(overlap_hours)
    now = timezone.now()
    secret = secret_generate()
    endpoint.previous_secret = endpoint.secret if hours else ""
    endpoint.previous_secret_expires_at = now + timedelta(hours=hours) if hours else None
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    expires = endpoint.previous_secret_expires_at
    audit_record(
        actor=actor,
        action="webhook.secret_rotated",
        data=_data(
            endpoint,
            overlap_hours=hours,
            previous_secret_expires_at=expires.isoformat() if expires else None,
        ),
    )
    return endpoint, secret


@transaction.atomic
def endpoint_disable(*, actor: Any, endpoint: WebhookEndpoint, reason: Any = "") -> WebhookEndpoint:
    """Stop deliveries to the endpoint. ``actor`` None is the system (a receiver's 410 Gone).

    Deliveries due to a disabled endpoint fail for good; disabling twice changes nothing.
    """
    if actor is not None:
        _require_admin(actor, endpoint.organization)
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed({"reason": "Give text."})
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed({"reason": f"At most {REASON_MAX_LENGTH} characters."})
    now = timezone.now()
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=True).update(
        disabled_at=now, disabled_reason=reason
    )
    endpoint.refresh_from_db(fields=["disabled_at", "disabled_reason"])
    if disabled:
        audit_record(actor=actor, action="webhook.disabled", data=_data(endpoint, reason=reason))
    return endpoint


@transaction.atomic
def endpoint_enable(*, actor: Any, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Deliver to the endpoint again (new deliveries; failed ones stay failed). Enabling an
    enabled endpoint changes nothing."""
    _require_admin(actor, endpoint.organization)
    if endpoint.is_active:
        return endpoint
    url_clean(endpoint.url)  # the rules may have changed while it was disabled
    was = endpoint.disabled_reason
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.save(update_fields=["disabled_at", "disabled_reason"])
    audit_record(actor=actor, action="webhook.enabled", data=_data(endpoint, was_disabled_for=was))
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor: Any, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint and, with it, its deliveries (sent or not)."""
    _require_admin(actor, endpoint.organization)
    audit_record(actor=actor, action="webhook.deleted", data=_data(endpoint))
    endpoint.delete()


@dataclass(frozen=True)
class PingResult:
    ok: bool
    status_code: int | None  # the receiver's HTTP status; None when it did not answer
    detail: str


def endpoint_test(*, actor: Any, endpoint: WebhookEndpoint) -> PingResult:
    """Send a signed ``ping`` event now and report how the receiver answered.

    Not in a transaction: no network call may hold one. The ping bypasses the outbox; an
    answer of 410 is reported, not acted on (real deliveries disable the endpoint).
    """
    _require_admin(actor, endpoint.organization)
    status, failure = webhook.ping(endpoint)
    if failure is None:
        result = PingResult(True, status, f"The receiver accepted the ping (HTTP {status}).")
    else:
        result = PingResult(False, status, str(failure))
    audit_record(
        actor=actor,
        action="webhook.tested",
        data=_data(endpoint, ok=result.ok, status_code=result.status_code),
    )
    return result
