"""Every URL pattern of the site, and the kwargs to call it with, taken from a world.

``url_patterns()`` walks the root URLconf (the admin's patterns aside: Django's own, staff only)
and gives each pattern's name, route and the names of its kwargs. ``KWARGS`` says, for every
pattern that has kwargs, what kind of object each one names; ``kwargs_for(world, name, where)``
fills them from the access matrix's world (tests/access_matrix/world.py), ``where`` choosing
among its objects: the finding's state, the organization, the thread's scope ...

A new pattern with kwargs and no entry here fails tests/hardening/test_url_world.py, so every
walk over the URLs (the bad-input walk, the access matrix) reaches it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from disclosure.csaf import csaf_filename, csaf_year

ADMIN_PREFIX = "admin/"
_KWARG_RE = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


@dataclass(frozen=True)
class Pattern:
    name: str  # "api:finding-accept", "finding-detail"
    route: str  # "api/findings/<str:reference>/accept/"
    kwarg_names: frozenset[str]  # those of the route; fixed kwargs (the URLconf's) excluded
    callback: Any

    @property
    def api(self) -> bool:
        return self.route.startswith("api/")


def _walk(resolver: URLResolver, prefix: str, namespace: str) -> Iterator[Pattern]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if route.startswith(ADMIN_PREFIX):
                continue
            name = f"{namespace}:{entry.name}" if namespace else (entry.name or route)
            kwargs = frozenset(a or b for a, b in _KWARG_RE.findall(route))
            yield Pattern(name, route, kwargs, entry.callback)


def url_patterns() -> list[Pattern]:
    """Every named pattern of the site but the admin's, in URLconf order."""
    return list(_walk(get_resolver(), "", ""))


# What each kwarg of each pattern names. Kinds: finding (its reference), attachment, thread,
# extension, credit, revision, delivery, inbox; org, contact, invitation, invitation_token,
# subscription, webhook, feed, feed_token, taxonomy; token, device, webauthn_key; csaf_year,
# csaf_file, wkd_digest.
_F = {"reference": "finding"}
_ORG = {"slug": "org"}
KWARGS: dict[str, dict[str, str]] = {
    # API: the registry.
    "api:organization": _ORG,
    "api:organization-verify": _ORG,
    "api:organization-reject": _ORG,
    "api:organization-suspend": _ORG,
    "api:organization-contacts": _ORG,
    "api:organization-contact": {**_ORG, "pk": "contact"},
    "api:organization-invitations": _ORG,
    "api:organization-invitation-revoke": {**_ORG, "pk": "invitation"},
    "api:organization-invitation-resend": {**_ORG, "pk": "invitation"},
    "api:organization-subscriptions": _ORG,
    "api:organization-subscription": {**_ORG, "pk": "subscription"},
    "api:organization-webhooks": _ORG,
    "api:organization-webhook": {**_ORG, "pk": "webhook"},
    "api:organization-webhook-rotate-secret": {**_ORG, "pk": "webhook"},
    "api:organization-webhook-test": {**_ORG, "pk": "webhook"},
    "api:organization-webhook-enable": {**_ORG, "pk": "webhook"},
    "api:organization-webhook-disable": {**_ORG, "pk": "webhook"},
    "api:organization-calendar-feeds": _ORG,
    "api:organization-calendar-feed": {**_ORG, "pk": "feed"},
    # API: findings.
    "api:finding-embargo": _F,
    "api:finding-embargo-propose": _F,
    "api:finding-embargo-end": _F,
    "api:finding-embargo-break": _F,
    "api:finding-embargo-extensions": _F,
    "api:finding-embargo-extension-approve": {**_F, "id": "extension"},
    "api:finding-embargo-extension-deny": {**_F, "id": "extension"},
    "api:finding-embargo-extension-withdraw": {**_F, "id": "extension"},
    "api:finding-timeline": _F,
    "api:finding-start-triage": _F,
    "api:finding-request-info": _F,
    "api:finding-provide-info": _F,
    "api:finding-duplicate": _F,
    "api:finding-withdraw": _F,
    "api:finding-assign": _F,
    "api:finding-audience-proposal": _F,
    "api:finding-audience": _F,
    "api:finding-recipients": _F,
    "api:finding-readiness": _F,
    "api:finding-release-plan": _F,
    "api:finding-threads": _F,
    "api:thread-comments": {"thread_id": "thread"},
    "api:finding-attachments": _F,
    "api:finding-attachment": {**_F, "id": "attachment"},
    "api:finding-attachment-download": {**_F, "id": "attachment"},
    "api:finding-credits": _F,
    "api:credit-accept": {"pk": "credit"},
    "api:credit-decline": {"pk": "credit"},
    "api:finding-revisions": _F,
    "api:finding-revision": {**_F, "number": "revision"},
    "api:delivery-retry": {"pk": "delivery"},
    "api:inbox-read": {"pk": "inbox"},
    "api:advisory-csaf": _F,
    "api:advisory-updates": _F,
    "api:finding-detail": _F,
    "api:finding-accept": _F,
    "api:finding-acknowledge": _F,
    "api:finding-events": _F,
    "api:finding-reject": _F,
    "api:finding-submit": _F,
    "api:advisory-detail": _F,
    "api:taxonomy-detail": {"slug": "taxonomy"},
    "api:taxonomy-categories": {"slug": "taxonomy"},
    # Pages: accounts.
    "mfa-device-remove": {"pk": "device"},
    "mfa-key-remove": {"pk": "webauthn_key"},
    "token-revoke": {"pk": "token"},
    "invitation-accept": {"token": "invitation_token"},
    "organization-detail": _ORG,
    "organization-profile": _ORG,
    "organization-verify": _ORG,
    "organization-reject": _ORG,
    "organization-suspend": _ORG,
    "organization-invite": _ORG,
    "organization-invitation-revoke": {**_ORG, "pk": "invitation"},
    "organization-invitation-resend": {**_ORG, "pk": "invitation"},
    "organization-contact-update": {**_ORG, "pk": "contact"},
    "organization-contact-remove": {**_ORG, "pk": "contact"},
    "organization-subscription-add": _ORG,
    "organization-subscription-remove": {**_ORG, "pk": "subscription"},
    # Pages: findings.
    "finding-detail": _F,
    "finding-edit": _F,
    "finding-credit-add": _F,
    "credit-accept": {"pk": "credit"},
    "credit-decline": {"pk": "credit"},
    "finding-submit": _F,
    "finding-accept": _F,
    "finding-reject": _F,
    "finding-acknowledge": _F,
    "finding-readiness": _F,
    "finding-audience-add": _F,
    "finding-audience-remove": _F,
    "finding-release-plan": _F,
    "finding-attachment-add": _F,
    "finding-attachment": {**_F, "pk": "attachment"},
    "finding-attachment-remove": {**_F, "pk": "attachment"},
    "finding-start-triage": _F,
    "finding-request-info": _F,
    "finding-provide-info": _F,
    "finding-duplicate": _F,
    "finding-withdraw": _F,
    "finding-assign": _F,
    "finding-embargo-propose": _F,
    "finding-embargo-end": _F,
    "finding-embargo-break": _F,
    "finding-embargo-extensions": _F,
    "finding-embargo-extension-approve": {**_F, "pk": "extension"},
    "finding-embargo-extension-deny": {**_F, "pk": "extension"},
    "finding-embargo-extension-withdraw": {**_F, "pk": "extension"},
    "finding-timeline": _F,
    "finding-thread-open": _F,
    "thread-comment-post": {"thread_id": "thread"},
    "delivery-retry": {"pk": "delivery"},
    "inbox-open": {"pk": "inbox"},
    "organization-webhooks": _ORG,
    "organization-webhook-rotate": {**_ORG, "pk": "webhook"},
    "organization-webhook-test": {**_ORG, "pk": "webhook"},
    "organization-webhook-disable": {**_ORG, "pk": "webhook"},
    "organization-webhook-enable": {**_ORG, "pk": "webhook"},
    "organization-webhook-delete": {**_ORG, "pk": "webhook"},
    "calendar-feed": {"token": "feed_token"},
    "organization-calendar": _ORG,
    "organization-calendar-revoke": {**_ORG, "pk": "feed"},
    "advisory-detail": _F,
    "advisory-update": _F,
    "csaf-file": {"year": "csaf_year", "filename": "csaf_file"},
    "wkd-key": {"digest": "wkd_digest"},
}


@dataclass(frozen=True)
class Where:
    """Which of the world's objects a pattern's kwargs name."""

    state: str = "embargoed"  # the finding's (world.findings key)
    org: str = "D1"  # the organization's key (world.orgs)
    scope: str = "defenders"  # the thread's: coordinators, lab, defenders, org, peer
    requester: str = "lab"  # the extension request's: lab or defender
    credit: str = "pend"  # the credit's status: acc or pend
    owner: str = "notified"  # whose inbox item
    revision: int = 1
    feed: str = "D1"  # the calendar feed's organization key, or "revoked"
    taxonomy: str = "openai-pf-v2"  # a taxonomy's slug
    webhook: str = "webhook"  # the webhook endpoint's key in world.objects


def value_of(world: Any, kind: str, where: Where) -> Any:
    """The value of a kwarg of ``kind`` in ``world``, chosen by ``where``."""
    state = where.state
    if kind == "finding":
        return world.findings[state].reference
    if kind == "attachment":
        return world.attachments[state]
    if kind == "thread":
        return world.threads[(state, where.scope)]
    if kind == "extension":
        return world.extensions[(state, where.requester)]
    if kind == "credit":
        return world.credits[(state, where.credit)]
    if kind == "revision":
        return where.revision
    if kind == "delivery":
        return world.deliveries[state]
    if kind == "inbox":
        return world.inbox[(state, where.owner)]
    if kind == "org":
        return world.orgs[where.org].slug
    if kind in ("feed", "feed_token"):
        pk, token = world.feeds[where.feed]
        return pk if kind == "feed" else token
    if kind == "taxonomy":
        return where.taxonomy
    if kind == "csaf_year":
        return csaf_year(world.findings[state])
    if kind == "csaf_file":
        return csaf_filename(world.findings[state].reference)
    if kind == "wkd_digest":
        from django.conf import settings

        from disclosure.views.openpgp import wkd_hash

        return wkd_hash(settings.DEFAULT_FROM_EMAIL.rpartition("<")[2].partition("@")[0])
    if kind == "webhook":
        return world.objects[where.webhook]
    # contact, invitation, invitation_token, subscription, token, device, webauthn_key
    return world.objects[kind]


def kwargs_for(world: Any, name: str, where: Where | None = None) -> dict[str, Any]:
    where = where or Where()
    return {kwarg: value_of(world, kind, where) for kwarg, kind in KWARGS.get(name, {}).items()}
