"""Every URL pattern of the site, with what its arguments name and who may use it.

A pattern missing here, or whose target does not fill its kwargs, fails
test_every_url_pattern_is_in_the_matrix: a new URL must say who may use it before it ships.
``target`` names what the URL's arguments point at (urlworld.py fills them from the world, for
the bad-input walk too; variants.py makes one variant per state, scope, organization ...);
``get`` is the rule for reading (``reach``: whoever may reach the target), ``writes`` the rule
per unsafe method (policy.allowed). Admin patterns are covered as a whole (ADMIN), static files
are not URL patterns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Route:
    target: str
    get: str | None = "reach"
    writes: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    ok: frozenset[int] = frozenset()  # more answers for a permitted read than 200 and 302


def r(
    target: str, get: str | None = "reach", ok: frozenset[int] = frozenset(), **writes: str
) -> Route:
    return Route(target, get, writes, ok=ok)


def post(target: str, rule: str) -> Route:
    """A write-only route (POST)."""
    return Route(target, None, {"POST": rule})


# Patterns the matrix does not send requests to, and why (none today: static files are served
# by WhiteNoise, not URL patterns; there is no password reset by email).
EXCLUDED: dict[str, str] = {}

ROUTES: dict[str, Route] = {
    # --- API: findings and what hangs off them.
    "api:finding-list": r("search", "any", POST="developers"),
    "api:finding-detail": r("finding", PATCH="editors"),
    "api:finding-submit": post("finding", "lab"),
    "api:finding-accept": post("finding", "coordinator"),
    "api:finding-reject": post("finding", "coordinator"),
    "api:finding-acknowledge": post("finding", "notified"),
    "api:finding-events": r("finding", "inner"),
    "api:finding-embargo": r("finding"),
    "api:finding-embargo-propose": post("finding", "coordinator"),
    "api:finding-embargo-end": post("finding", "coordinator"),
    "api:finding-embargo-break": post("finding", "coordinator"),
    "api:finding-embargo-extensions": post("finding", "requesters"),
    "api:finding-embargo-extension-approve": post("extension", "coordinator"),
    "api:finding-embargo-extension-deny": post("extension", "coordinator"),
    "api:finding-embargo-extension-withdraw": post("extension", "asker"),
    "api:finding-timeline": r("finding"),
    "api:finding-start-triage": post("finding", "coordinator"),
    "api:finding-request-info": post("finding", "coordinator"),
    "api:finding-provide-info": post("finding", "lab"),
    "api:finding-duplicate": post("finding", "coordinator"),
    "api:finding-withdraw": post("finding", "lab"),
    "api:finding-assign": post("finding", "coordinator"),
    "api:finding-audience-proposal": r("finding", "coordinator"),
    "api:finding-audience": r("finding", None, POST="coordinator", DELETE="coordinator"),
    "api:finding-recipients": r("recipients"),
    "api:finding-readiness": post("finding", "notified"),
    "api:finding-release-plan": r("plan", PUT="coordinator"),
    "api:finding-threads": r("finding", POST="openers"),
    "api:thread-comments": r("thread", POST="reach"),
    "api:finding-attachments": r("attachments", POST="editors"),
    "api:finding-attachment": r("attachment", DELETE="removers"),
    "api:finding-attachment-download": r("attachment"),
    "api:finding-credits": r("finding", POST="crediters"),
    "api:credit-accept": post("credit", "nobody"),
    "api:credit-decline": post("credit", "nobody"),
    "api:finding-revisions": r("finding"),
    "api:finding-revision": r("revision"),
    "api:advisory-list": r("none", "public"),
    "api:advisory-detail": r("advisory"),
    "api:advisory-csaf": r("advisory"),
    "api:advisory-updates": post("advisory", "coordinator"),
    "api:triage-queue": r("none", "coordinator"),
    "api:credit-list": r("none", "any"),
    "api:delivery-list": r("none", "coordinator"),
    "api:audit-trail": r("none", "coordinator"),
    "api:delivery-retry": post("delivery", "coordinator"),
    "api:inbox": r("none", "any"),
    "api:inbox-read-all": post("none", "any"),
    "api:inbox-read": post("inbox", "owner"),
    # --- API: the registry, accounts, reference data.
    "api-schema": r("none", "public"),
    "api-docs": r("none", "public"),
    "api:health": r("none", "public"),
    "api:me": r("none", "any", PATCH="any"),
    "api:me-openpgp-key": r("none", "any", PUT="any", DELETE="any"),
    "api:organization-list": r("none", "any"),
    "api:applications": r("none", "coordinator", POST="public"),
    "api:organization": r("org", "org_view", PATCH="org_manage"),
    "api:organization-verify": post("org", "coordinator"),
    "api:organization-reject": post("org", "coordinator"),
    "api:organization-suspend": post("org", "coordinator"),
    "api:organization-contacts": r("org", "org_view"),
    "api:organization-contact": r("contact", None, PATCH="org_manage", DELETE="org_manage"),
    "api:organization-invitations": r("org", "org_invite", POST="org_invite"),
    "api:organization-invitation-revoke": post("invitation", "org_invite"),
    "api:organization-invitation-resend": post("invitation", "org_invite"),
    "api:organization-subscriptions": r("org", "org_view", POST="org_manage"),
    "api:organization-subscription": r("subscription", None, DELETE="org_manage"),
    "api:organization-webhooks": r("org", "org_manage", POST="org_manage"),
    "api:organization-webhook": r("webhook", "org_manage", PATCH="org_manage", DELETE="org_manage"),
    "api:organization-webhook-rotate-secret": post("webhook", "org_manage"),
    "api:organization-webhook-test": post("webhook", "org_manage"),
    "api:organization-webhook-enable": post("webhook", "org_manage"),
    "api:organization-webhook-disable": post("webhook", "org_manage"),
    "api:organization-calendar-feeds": r("org", "org_calendar", POST="org_calendar"),
    "api:organization-calendar-feed": r("feed", "org_calendar", DELETE="org_calendar"),
    "api:sector-list": r("none", "any"),
    "api:taxonomy-list": r("none", "any", POST="coordinator"),
    "api:taxonomy-detail": r("taxonomy", "any"),
    "api:taxonomy-categories": post("taxonomy", "coordinator"),
    # --- Pages: findings.
    "home": r("none", "any"),
    "finding-new": r("none", "developers", POST="developers"),
    "finding-list": r("search", "any"),
    "finding-detail": r("finding"),
    "finding-edit": r("finding", "editors", POST="editors"),
    "finding-credit-add": post("finding", "crediters"),
    "credit-accept": post("credit", "nobody"),
    "credit-decline": post("credit", "nobody"),
    "finding-submit": post("finding", "lab"),
    "finding-accept": post("finding", "coordinator"),
    "finding-reject": post("finding", "coordinator"),
    "finding-acknowledge": post("finding", "notified"),
    "finding-readiness": post("finding", "notified"),
    "finding-audience-add": post("finding", "coordinator"),
    "finding-audience-remove": post("finding", "coordinator"),
    "finding-release-plan": post("finding", "coordinator"),
    "finding-attachment-add": post("attachments", "editors"),
    "finding-attachment": r("attachment"),
    "finding-attachment-remove": post("attachment", "removers"),
    "triage-queue": r("none", "coordinator"),
    "finding-start-triage": post("finding", "coordinator"),
    "finding-request-info": post("finding", "coordinator"),
    "finding-provide-info": post("finding", "lab"),
    "finding-duplicate": post("finding", "coordinator"),
    "finding-withdraw": post("finding", "lab"),
    "finding-assign": post("finding", "coordinator"),
    "finding-embargo-propose": post("finding", "coordinator"),
    "finding-embargo-end": post("finding", "coordinator"),
    "finding-embargo-break": post("finding", "coordinator"),
    "finding-embargo-extensions": post("finding", "requesters"),
    "finding-embargo-extension-approve": post("extension", "coordinator"),
    "finding-embargo-extension-deny": post("extension", "coordinator"),
    "finding-embargo-extension-withdraw": post("extension", "asker"),
    "finding-timeline": r("finding"),
    "finding-thread-open": post("finding", "openers"),
    "thread-comment-post": post("thread", "reach"),
    "delivery-failures": r("none", "coordinator"),
    # The whole audit trail: coordinators only.
    "audit-trail": r("none", "coordinator"),
    "audit-export-csv": r("none", "coordinator"),
    "audit-export-json": r("none", "coordinator"),
    "delivery-retry": post("delivery", "coordinator"),
    "inbox": r("none", "any"),
    "inbox-read-all": post("none", "any"),
    "inbox-open": r("inbox", "owner"),
    # --- Pages: publication (public).
    "advisory-list": r("none", "public"),
    "advisory-feed": r("none", "public"),
    "advisory-detail": r("advisory"),
    "advisory-update": r("advisory", "coordinator", POST="coordinator"),
    "csaf-provider-metadata": r("none", "public"),
    "csaf-index": r("none", "public"),
    "csaf-changes": r("none", "public"),
    "csaf-rolie-feed": r("none", "public"),
    "csaf-file": r("csaf"),
    "site-openpgp-key": r("none", "public"),
    "wkd-key": r("digest", "public"),
    "wkd-policy": r("none", "public"),
    "calendar-feed": r("calendar", "public"),
    # --- Pages: the registry.
    "organization-review": r("none", "coordinator"),
    "my-organization": r("none", "org_admin"),
    "organization-detail": r("org", "org_view"),
    "organization-profile": post("org", "org_manage"),
    "organization-verify": post("org", "coordinator"),
    "organization-reject": post("org", "coordinator"),
    "organization-suspend": post("org", "coordinator"),
    "organization-invite": post("org", "org_invite"),
    "organization-invitation-revoke": post("invitation", "org_invite"),
    "organization-invitation-resend": post("invitation", "org_invite"),
    "organization-contact-update": post("contact", "org_manage"),
    "organization-contact-remove": post("contact", "org_manage"),
    "organization-subscription-add": post("org", "org_manage"),
    "organization-subscription-remove": post("subscription", "org_manage"),
    "organization-webhooks": r("org", "org_manage", POST="org_manage"),
    "organization-webhook-rotate": post("webhook", "org_manage"),
    "organization-webhook-test": post("webhook", "org_manage"),
    "organization-webhook-disable": post("webhook", "org_manage"),
    "organization-webhook-enable": post("webhook", "org_manage"),
    "organization-webhook-delete": post("webhook", "org_manage"),
    "organization-calendar": r("org", "org_calendar", POST="org_calendar"),
    "organization-calendar-revoke": post("feed", "org_calendar"),
    "apply": r("none", "public", POST="public"),
    "apply-done": r("none", "public"),
    # Someone logged in with another address is told so (403), the invitation named.
    "invitation-accept": r("invitation_token", "public", frozenset({403}), POST="public"),
    # --- Pages: one's own account (a write is one's own business, so only the anonymous
    # are sent one; another user's token or device is a 404).
    "login": r("none", "public", POST="public"),
    "mfa-verify": r("none", "any", POST="any"),
    "logout": post("none", "public"),
    "account-security": r("none", "any"),
    "mfa-setup": r("none", "any", POST="any"),
    "mfa-setup-qr": r("none", "any"),
    "mfa-recovery-codes": post("none", "any"),
    "mfa-device-remove": post("device", "owner"),
    # Security keys (WebAuthn); the lab user's TOTP device stands in for a key to remove.
    "mfa-verify-key": post("none", "any"),
    "mfa-key-add": r("none", "any", POST="any"),
    "mfa-key-remove": post("device", "owner"),
    "reauthenticate-key": post("none", "any"),
    "reauthenticate": r("none", "any", POST="any"),
    "account": r("none", "any", POST="any"),
    "tokens": r("none", "any", POST="any"),
    "token-revoke": post("token", "owner"),
    "account-openpgp-key": r("none", "any", POST="any"),
    "account-openpgp-key-remove": post("none", "any"),
}
