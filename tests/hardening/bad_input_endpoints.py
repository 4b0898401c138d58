"""Who may use each endpoint that takes input, on which object, and a body it accepts.

Every bad-input case is a good request spoiled in one way, so each write endpoint has a good
request here: the role allowed to use it (tests/access_matrix/policy.py names them), the world's
object it acts on (a Where of tests/access_matrix/urlworld.py, which builds every URL of both
walks) and a valid body. test_bad_payloads proves each good request is accepted (rolled back),
then sends the spoiled ones.

API bodies are JSON (a function of the world where they name its objects or a time). A page's
body is the form that posts to it, as its page renders it (html_forms), with ``fill`` on top:
the page is ``page`` (a URL name, same ``where``), else the finding's page for a finding's
action and the organization's page for an organization's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from disclosure.selectors_delivery import DELIVERY_FILTERS
from tests.access_matrix.urlworld import Where
from tests.access_matrix.world import World
from tests.factories.accounts import PASSWORD

Body = dict[str, Any] | Callable[[World], dict[str, Any]]
EMBARGOED = Where(state="embargoed")
IN_TRIAGE = Where(state="in_triage")
DRAFT = Where(state="draft")
RELEASED = Where(state="released")
APPLIED = Where(org="A")  # an organization that applied (added to the world by the test)
OTHER = Where(org="D2")
# A pending credit of a notified defender (added by the test), who sees the finding.
MY_CREDIT = Where(credit="mine")
# The shipped taxonomy is read-only: one of the coordinators' own (added by the test).
OWN_TAXONOMY = Where(taxonomy="walk")
DISABLED_HOOK = Where(object_key="webhook_disabled")  # a disabled endpoint (added by the test)
# A security key of the lab user (added by the test; the matrix removes a TOTP device instead).
SECURITY_KEY = Where(object_key="webauthn_key")


@dataclass(frozen=True)
class Use:
    role: str
    where: Where = field(default_factory=Where)
    body: Body | None = None  # None: the endpoint takes no input
    page: str = ""  # pages: the URL name of the page with the form; "" for the default
    action: str = ""  # pages: the URL name the form posts to, if not the endpoint's own
    fill: Body | None = None  # pages: values over the form's
    # pages: fields the endpoint reads only to send the user back (not input of the action)
    navigation: tuple[str, ...] = ("next",)
    proven: str = ""  # why the good request cannot be proven here (empty: it is)

    def body_in(self, world: World) -> dict[str, Any]:
        return _resolve(self.body, world)

    def fill_in(self, world: World) -> dict[str, Any]:
        return _resolve(self.fill, world)


def _resolve(body: Body | None, world: World) -> dict[str, Any]:
    if body is None:
        return {}
    return body(world) if callable(body) else dict(body)


def later(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0).isoformat()


def local(days: float) -> str:
    """A browser's datetime-local value, read in UTC (the forms' default zone)."""
    return (timezone.now() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


FINDING = {
    "model_name": "Frontier-2",
    "model_version": "ckpt-7",
    "title": "Synthesis route planning",
    "summary": "The model plans multi-step routes with little help.",
    "details": "12 of 20 protocols completed.",
    "category": "openai-pf-v2:biological-chemical",
    "risk_level": "critical",
    "recommended_actions": "Screen orders.",
}
APPLICATION = {
    "name": "Harbour Water Authority",
    "sectors": ["water"],
    "country": "NL",
    "website": "https://harbour-water.example",
    "description": "We run drinking-water treatment for 2 million people.",
    "applicant_name": "Ines de Vries",
    "applicant_email": "ines@harbour-water.example",
}
REASON = {"reason": "Bad input walk."}
# The key the test gives the lab user (World.objects["openpgp_armored"]).
ARMORED = "openpgp_armored"


def _plan(w: World) -> dict[str, Any]:
    ends = w.findings["embargoed"].embargo_ends_at
    return {
        "stages": [
            {"audience": "organizations"},
            {
                "audience": "organizations",
                "organizations": [w.orgs["S"].slug],
                "tlp": "AMBER",
                "scheduled_at": later(5),
            },
            {"audience": "public", "scheduled_at": ends.isoformat()},
        ],
        "reason": "",
    }


API: dict[tuple[str, str], Use] = {
    ("api:me", "PATCH"): Use("lab", body={"time_zone": "Europe/Berlin"}),
    ("api:me-openpgp-key", "PUT"): Use("lab", body=lambda w: {"armored": w.objects[ARMORED]}),
    ("api:me-openpgp-key", "DELETE"): Use("lab"),
    ("api:applications", "POST"): Use("anonymous", body=APPLICATION),
    ("api:organization", "PATCH"): Use("notified", body={"description": "Grid operators."}),
    ("api:organization-verify", "POST"): Use("coordinator", APPLIED),
    ("api:organization-reject", "POST"): Use("coordinator", APPLIED, body=REASON),
    ("api:organization-suspend", "POST"): Use("coordinator", OTHER, body=REASON),
    ("api:organization-contact", "PATCH"): Use("notified", body={"role": "admin"}),
    ("api:organization-contact", "DELETE"): Use("notified"),
    ("api:organization-invitations", "POST"): Use(
        "notified", body={"email": "new@defender-one.example", "role": "member"}
    ),
    ("api:organization-invitation-revoke", "POST"): Use("notified"),
    ("api:organization-invitation-resend", "POST"): Use("notified"),
    ("api:organization-subscriptions", "POST"): Use(
        "notified",
        body={"category": "openai-pf-v2:biological-chemical", "min_risk_level": "high"},
    ),
    ("api:organization-subscription", "DELETE"): Use("notified"),
    ("api:organization-webhooks", "POST"): Use(
        "notified", body={"url": "http://127.0.0.1:9/other", "description": "SOC"}
    ),
    ("api:organization-webhook", "PATCH"): Use("notified", body={"description": "SOC 2"}),
    ("api:organization-webhook", "DELETE"): Use("notified"),
    ("api:organization-webhook-rotate-secret", "POST"): Use("notified", body={"overlap_hours": 1}),
    ("api:organization-webhook-test", "POST"): Use("notified"),
    ("api:organization-webhook-enable", "POST"): Use("notified", DISABLED_HOOK),
    ("api:organization-webhook-disable", "POST"): Use("notified", body=REASON),
    ("api:organization-calendar-feeds", "POST"): Use("notified"),
    ("api:organization-calendar-feed", "DELETE"): Use("notified"),
    ("api:finding-embargo-propose", "POST"): Use(
        "coordinator", IN_TRIAGE, body=lambda w: {"ends_at": later(9), **REASON}
    ),
    ("api:finding-embargo-end", "POST"): Use(
        "coordinator", body=lambda w: {"ends_at": later(14), "time_zone": "UTC", **REASON}
    ),
    ("api:finding-embargo-break", "POST"): Use("coordinator", body={"kind": "leaked", **REASON}),
    ("api:finding-embargo-extensions", "POST"): Use(
        "peer", body=lambda w: {"ends_at": later(20), **REASON}
    ),
    ("api:finding-embargo-extension-approve", "POST"): Use("coordinator", body={"note": "Yes."}),
    ("api:finding-embargo-extension-deny", "POST"): Use("coordinator", body={"note": "No."}),
    ("api:finding-embargo-extension-withdraw", "POST"): Use("lab"),
    ("api:finding-start-triage", "POST"): Use("coordinator", Where(state="submitted")),
    ("api:finding-request-info", "POST"): Use(
        "coordinator", IN_TRIAGE, body={"message": "Which checkpoint?"}
    ),
    ("api:finding-provide-info", "POST"): Use(
        "lab", Where(state="needs_info"), body={"response": "The base one."}
    ),
    ("api:finding-duplicate", "POST"): Use(
        "coordinator",
        IN_TRIAGE,
        body=lambda w: {"duplicate_of": w.findings["submitted"].reference, "reason": "Same."},
    ),
    ("api:finding-withdraw", "POST"): Use("lab", IN_TRIAGE, body=REASON),
    ("api:finding-assign", "POST"): Use(
        "coordinator", IN_TRIAGE, body=lambda w: {"assignee": w.users["coordinator"].email}
    ),
    ("api:finding-audience", "POST"): Use(
        "coordinator", body=lambda w: {"defender_organizations": [w.orgs["D2"].slug]}
    ),
    ("api:finding-audience", "DELETE"): Use(
        "coordinator", body=lambda w: {"organization": w.orgs["D1"].slug, **REASON}
    ),
    ("api:finding-readiness", "POST"): Use(
        "notified", body={"readiness": "ready", "statement": "Filters deployed."}
    ),
    ("api:finding-release-plan", "PUT"): Use("coordinator", body=_plan),
    ("api:finding-threads", "POST"): Use(
        "coordinator", body={"scope": "defenders", "subject": "Timing", "body": "When?"}
    ),
    ("api:thread-comments", "POST"): Use("coordinator", body={"body": "Soon."}),
    ("api:finding-attachments", "POST"): Use("lab", body={"file": "evidence.pdf"}),
    ("api:finding-attachment", "DELETE"): Use("lab"),
    ("api:finding-credits", "POST"): Use(
        "lab", body=lambda w: {"email": w.users["notified"].email, "type": "finder"}
    ),
    ("api:credit-accept", "POST"): Use("notified_member", MY_CREDIT),
    ("api:credit-decline", "POST"): Use("notified_member", MY_CREDIT),
    ("api:delivery-retry", "POST"): Use("coordinator"),
    ("api:inbox-read", "POST"): Use("notified"),
    ("api:inbox-read-all", "POST"): Use("lab"),
    ("api:advisory-updates", "POST"): Use(
        "coordinator", RELEASED, body={"changes": {"summary": "Updated."}, "note": "Typo."}
    ),
    ("api:finding-list", "POST"): Use("lab", body=FINDING),
    ("api:finding-detail", "PATCH"): Use("lab", DRAFT, body={"title": "A new title"}),
    ("api:finding-accept", "POST"): Use(
        "coordinator",
        IN_TRIAGE,
        body=lambda w: {
            "defender_organizations": [w.orgs["D1"].slug],
            "embargo_ends_at": later(10),
        },
    ),
    ("api:finding-acknowledge", "POST"): Use("peer"),
    ("api:finding-reject", "POST"): Use("coordinator", IN_TRIAGE, body=REASON),
    ("api:finding-submit", "POST"): Use("lab", DRAFT),
    ("api:taxonomy-list", "POST"): Use(
        "coordinator", body={"framework": "Walk", "version": "1", "slug": "walk-1"}
    ),
    ("api:taxonomy-categories", "POST"): Use(
        "coordinator", OWN_TAXONOMY, body={"code": "walking", "label": "Walking"}
    ),
}

KEY_UNPROVEN = "a security key's answer needs a challenge from a page the case does not load"
PAGES: dict[str, Use] = {
    "login": Use(
        "anonymous",
        page="login",
        fill=lambda w: {"username": w.users["lab"].email, "password": PASSWORD},
    ),
    "mfa-verify": Use("lab_unverified", page="mfa-verify", fill={"token": "TOTP"}),
    "mfa-verify-key": Use("lab_unverified", page="mfa-verify", proven=KEY_UNPROVEN),
    "logout": Use("lab", page="home"),
    "mfa-setup": Use("lab", page="mfa-setup", fill={"token": "TOTP"}),
    "mfa-recovery-codes": Use("lab", page="account-security"),
    "mfa-device-remove": Use("lab", page="account-security"),
    "mfa-key-add": Use("lab", page="mfa-key-add", fill={"name": "Key 2"}, proven=KEY_UNPROVEN),
    "mfa-key-remove": Use("lab", SECURITY_KEY, page="account-security"),
    "reauthenticate": Use("lab", page="reauthenticate", fill={"password": PASSWORD}),
    "reauthenticate-key": Use("lab", page="reauthenticate", proven=KEY_UNPROVEN),
    "account": Use("lab", page="account", fill={"time_zone": "Europe/Berlin"}),
    "tokens": Use("lab", page="tokens", fill={"name": "CI", "expires_in_days": "7"}),
    "token-revoke": Use("lab", page="tokens"),
    "account-openpgp-key": Use(
        "lab", page="account-openpgp-key", fill=lambda w: {"armored": w.objects[ARMORED]}
    ),
    "account-openpgp-key-remove": Use("lab", page="account-openpgp-key"),
    "apply": Use("anonymous", page="apply", fill=APPLICATION),
    "invitation-accept": Use(
        "anonymous",
        page="invitation-accept",
        fill={"full_name": "New Analyst", "password": PASSWORD, "password_again": PASSWORD},
    ),
    "organization-profile": Use(
        "notified", fill={"description": "Grid operators.", "country": "NL", "sectors": "energy"}
    ),
    "organization-verify": Use("coordinator", APPLIED),
    "organization-reject": Use("coordinator", APPLIED, fill={"reject-reason": "Unknown."}),
    "organization-suspend": Use("coordinator", OTHER, fill={"suspend-reason": "Gone."}),
    "organization-invite": Use("notified", fill={"email": "new@defender-one.example"}),
    "organization-invitation-revoke": Use("notified"),
    "organization-invitation-resend": Use("notified"),
    "organization-contact-update": Use("notified", fill={"role": "admin"}),
    "organization-contact-remove": Use("notified"),
    "organization-subscription-add": Use(
        "notified", fill={"category": "openai-pf-v2:biological-chemical"}
    ),
    "organization-subscription-remove": Use("notified"),
    "finding-new": Use("lab", page="finding-new", fill=FINDING),
    "finding-edit": Use("lab", DRAFT, page="finding-edit", fill={"title": "A new title"}),
    "finding-credit-add": Use(
        "lab", fill=lambda w: {"email": w.users["notified"].email, "type": "finder"}
    ),
    "credit-accept": Use("notified_member", MY_CREDIT, page="finding-detail"),
    "credit-decline": Use("notified_member", MY_CREDIT, page="finding-detail"),
    "finding-submit": Use("lab", DRAFT),
    "finding-accept": Use(
        "coordinator",
        IN_TRIAGE,
        fill=lambda w: {
            "defender_organizations": str(w.orgs["D1"].pk),
            "embargo_ends_at": local(10),
            "time_zone": "UTC",
        },
    ),
    "finding-reject": Use("coordinator", IN_TRIAGE, fill=REASON),
    "finding-acknowledge": Use("peer"),
    "finding-readiness": Use("notified", fill={"readiness": "ready"}),
    "finding-audience-add": Use(
        "coordinator", fill=lambda w: {"defender_organizations": str(w.orgs["D2"].pk)}
    ),
    "finding-audience-remove": Use(
        "coordinator", fill=lambda w: {"organization": w.orgs["D1"].slug, **REASON}
    ),
    "finding-release-plan": Use("coordinator", fill={"time_zone": "UTC"}),
    "finding-attachment-add": Use("lab", fill={"file": "evidence.pdf"}),
    "finding-attachment-remove": Use("lab"),
    "finding-start-triage": Use("coordinator", Where(state="submitted")),
    "finding-request-info": Use("coordinator", IN_TRIAGE, fill={"message": "Which one?"}),
    "finding-provide-info": Use("lab", Where(state="needs_info"), fill={"response": "Base."}),
    "finding-duplicate": Use(
        "coordinator",
        IN_TRIAGE,
        fill=lambda w: {"duplicate_of": w.findings["submitted"].reference},
    ),
    "finding-withdraw": Use("lab", IN_TRIAGE, fill=REASON),
    "finding-assign": Use(
        "coordinator", IN_TRIAGE, fill=lambda w: {"assignee": str(w.users["coordinator"].pk)}
    ),
    "finding-embargo-propose": Use(
        "coordinator", IN_TRIAGE, fill=lambda w: {"ends_at": local(9), "time_zone": "UTC"}
    ),
    "finding-embargo-end": Use(
        "coordinator", fill=lambda w: {"ends_at": local(14), "time_zone": "UTC", **REASON}
    ),
    "finding-embargo-break": Use("coordinator", fill={"kind": "leaked", **REASON}),
    "finding-embargo-extensions": Use(
        "peer", fill=lambda w: {"ends_at": local(20), "time_zone": "UTC", **REASON}
    ),
    "finding-embargo-extension-approve": Use("coordinator", fill={"note": "Yes."}),
    "finding-embargo-extension-deny": Use(
        "coordinator", action="finding-embargo-extension-approve", fill={"note": "No."}
    ),
    "finding-embargo-extension-withdraw": Use("lab"),
    "finding-thread-open": Use(
        "coordinator", fill={"scope": "defenders", "subject": "Timing", "body": "When?"}
    ),
    "thread-comment-post": Use("coordinator", page="finding-detail", fill={"body": "Soon."}),
    "delivery-retry": Use(
        "coordinator", page="delivery-failures", navigation=("next", *DELIVERY_FILTERS)
    ),
    "inbox-read-all": Use("lab", page="inbox"),
    "organization-webhooks": Use(
        "notified",
        page="organization-webhooks",
        fill={"url": "http://127.0.0.1:9/other", "description": "SOC"},
    ),
    "organization-webhook-rotate": Use("notified", page="organization-webhooks"),
    "organization-webhook-test": Use("notified", page="organization-webhooks"),
    "organization-webhook-disable": Use("notified", page="organization-webhooks", fill=REASON),
    "organization-webhook-enable": Use("notified", DISABLED_HOOK, page="organization-webhooks"),
    "organization-webhook-delete": Use("notified", page="organization-webhooks"),
    "organization-calendar": Use("notified", page="organization-calendar"),
    "organization-calendar-revoke": Use("notified", page="organization-calendar"),
    "advisory-update": Use(
        "coordinator",
        RELEASED,
        page="advisory-update",
        fill={"summary": "The model plans routes.", "note": "Typo fixed."},
    ),
}
