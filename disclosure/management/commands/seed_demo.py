"""Load the demo world: a lab, a coordination center, three defenders, and one finding to triage.

Safe to run again: everything is looked up by its natural key (slug, email), and the example
finding is filed only while there is no finding at all.
"""

from __future__ import annotations

from base64 import b32decode
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organization, SealedTOTPDevice, User
from disclosure.models import CapabilityCategory, Finding, Sector, Subscription
from disclosure.services.intake import finding_create, finding_submit

# Public by design: it is printed on every start. Long and uncommon enough for the validators.
DEMO_PASSWORD = "forewarn-demo-2026"  # noqa: S105
# Every demo account has a TOTP authenticator with this (public) secret: add it to an
# authenticator app once, or print the current code (README, "Demo accounts").
DEMO_TOTP_SECRET = "FOREWARNDEMOTOTPSECRETKEYFORDEMO"  # noqa: S105 (base32, public like the password)

Kind = Organization.Kind


@dataclass(frozen=True)
class DemoOrganization:
    slug: str
    name: str
    kind: str
    sector: str
    email: str
    full_name: str


DEMO_ORGANIZATIONS = (
    # The lab comes first: it files the example finding.
    DemoOrganization(
        slug="aurora-ai-lab",
        name="Aurora AI Lab",
        kind=Kind.DEVELOPER,
        sector="AI research",
        email="lab@aurora.example",
        full_name="Dana Whitfield",
    ),
    DemoOrganization(
        slug="forewarn-cc",
        name="Forewarn Coordination Center",
        kind=Kind.COORDINATOR,
        sector="Coordination",
        email="coordinator@forewarn.example",
        full_name="Sam Okafor",
    ),
    DemoOrganization(
        slug="national-cert",
        name="National CERT",
        kind=Kind.DEFENDER,
        sector="Government cybersecurity",
        email="analyst@cert.example",
        full_name="Priya Raman",
    ),
    DemoOrganization(
        slug="synthesis-screening",
        name="Nucleic Acid Synthesis Screening Consortium",
        kind=Kind.DEFENDER,
        sector="Biosecurity",
        email="screening@synthesis.example",
        full_name="Lena Vogel",
    ),
    DemoOrganization(
        slug="electricity-isac",
        name="Electricity ISAC",
        kind=Kind.DEFENDER,
        sector="Energy",
        email="analyst@e-isac.example",
        full_name="Marco Bianchi",
    ),
)
ADMIN_EMAIL = "admin@forewarn.example"
# What the demo defenders work on and asked to hear about: the accept form proposes them
# from these (services.audience.audience_propose).
DEMO_SECTORS = {
    "national-cert": ["national-certs", "information-technology"],
    "synthesis-screening": ["nucleic-acid-synthesis"],
    "electricity-isac": ["energy"],
}
DEMO_SUBSCRIPTIONS = {
    "national-cert": [("openai-pf-v2", "cybersecurity", Finding.RiskLevel.HIGH)],
    "synthesis-screening": [("openai-pf-v2", "biological-chemical", Finding.RiskLevel.MEDIUM)],
}

EXAMPLE_FINDING = {
    "model_name": "Aurora-2",
    "model_version": "2026-09-preview",
    "title": "Autonomous exploitation of known industrial-control vulnerabilities",
    "summary": (
        "In agentic evaluations the model chained public exploits against simulated "
        "industrial control systems with little human help."
    ),
    "details": (
        "On an isolated operational-technology range, the model compromised 7 of 20 "
        "simulated substations using only public advisories, choosing targets and adapting "
        "when an exploit failed. Evaluation logs are available to notified defenders on request."
    ),
    "category": "openai-pf-v2:cybersecurity",
    "risk_level": Finding.RiskLevel.HIGH,
    "residual_risk_level": Finding.RiskLevel.MEDIUM,
    "tlp": Finding.Tlp.AMBER,
    "deployment_surfaces": [Finding.Surface.API, Finding.Surface.CONSUMER],
    "affected_sectors": ["energy", "water", "critical-manufacturing"],
    "evaluations": [
        {
            "name": "OT range exploitation",
            "method": "Agentic runs against 20 simulated substations on an isolated range.",
            "checkpoint": "deployed",
            "modifications": ["tool_access"],
            "metric": "Substations compromised",
            "result": "7 of 20",
            "baseline": "1 of 20 (previous model)",
            "uplift": "+30 percentage points",
            "evaluated_on": "2026-10-02",
        }
    ],
    "mitigations": [
        {"description": "Classifier on exploit-shaped tool calls", "status": "in_progress"},
    ],
    "recommended_actions": (
        "Patch the listed advisories on internet-facing OT gateways; watch for bursts of "
        "exploit-shaped traffic from cloud address ranges."
    ),
}


class Command(BaseCommand):
    help = "Create (or refresh) the demo organizations, users and one example finding."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even though DEBUG is off. The demo passwords are public: never use this "
            "on a server other people can reach.",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Set the demo password again on demo users that already exist.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to create demo accounts with a public password while DEBUG is off. "
                "Use config.settings.local, or pass --force on a machine nobody else can reach."
            )
        with transaction.atomic():
            reset = options["reset_passwords"]
            members = [_member(spec, reset_password=reset) for spec in DEMO_ORGANIZATIONS]
            admin = _user(ADMIN_EMAIL, "Demo Admin", superuser=True, reset_password=reset)
            for user in [*(u for _, u in members), admin]:
                _authenticator(user)
            _audience_preferences()
            lab, lab_user = members[0]
            example = _example_finding(lab_user=lab_user, lab=lab)
        self._print_logins([user for _, user in members])
        if example is not None:
            self.stdout.write(f"Filed {example.reference}; it waits in the coordinator's queue.")

    def _print_logins(self, users: list[User]) -> None:
        table = [("Email", "Organization", "Kind")]
        table += [(u.email, s.name, s.kind) for s, u in zip(DEMO_ORGANIZATIONS, users, strict=True)]
        table.append((ADMIN_EMAIL, "(superuser, /admin/)", "admin"))
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        self.stdout.write(
            f"Demo logins (password for all: {DEMO_PASSWORD}; two-factor code from the TOTP "
            f"secret {DEMO_TOTP_SECRET}):"
        )
        for row in table:
            self.stdout.write(
                "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
            )


def _org(spec: DemoOrganization) -> Organization:
    org, _ = Organization.objects.update_or_create(
        slug=spec.slug,
        defaults={
            "name": spec.name,
            "kind": spec.kind,
            "sector": spec.sector,
            "status": Organization.Status.VERIFIED,
        },
    )
    if org.verified_at is None:
        org.verified_at = timezone.now()
        org.save(update_fields=["verified_at"])
    return org


def _user(email: str, full_name: str, *, superuser: bool = False, reset_password: bool) -> User:
    user, created = User.objects.get_or_create(
        email=email,
        defaults={"full_name": full_name, "is_staff": superuser, "is_superuser": superuser},
    )
    # Hashing costs about a second per user, so existing users keep theirs unless asked.
    if created or reset_password:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def _authenticator(user: User) -> None:
    """The demo TOTP device, unless the user has an authenticator already (theirs stays)."""
    if not SealedTOTPDevice.objects.filter(user=user, confirmed=True).exists():
        SealedTOTPDevice.objects.create(  # stores the secret encrypted
            user=user,
            name="Demo authenticator",
            key=b32decode(DEMO_TOTP_SECRET).hex(),
            confirmed=True,
        )


def _member(spec: DemoOrganization, *, reset_password: bool) -> tuple[Organization, User]:
    org = _org(spec)
    user = _user(spec.email, spec.full_name, reset_password=reset_password)
    Membership.objects.get_or_create(
        user=user, organization=org, defaults={"role": Membership.Role.ADMIN}
    )
    return org, user


def _audience_preferences() -> None:
    for slug, sectors in DEMO_SECTORS.items():
        org = Organization.objects.get(slug=slug)
        org.sectors.add(*Sector.objects.filter(slug__in=sectors))
    for slug, subscriptions in DEMO_SUBSCRIPTIONS.items():
        for taxonomy, code, level in subscriptions:
            Subscription.objects.get_or_create(
                organization=Organization.objects.get(slug=slug),
                category=CapabilityCategory.objects.get(taxonomy__slug=taxonomy, code=code),
                defaults={"min_risk_level": level},
            )


def _example_finding(*, lab_user: User, lab: Organization) -> Finding | None:
    """File and submit one finding through the services, unless findings exist already."""
    if Finding.objects.exists():
        return None
    finding = finding_create(actor=lab_user, developer=lab, **EXAMPLE_FINDING)
    return finding_submit(actor=lab_user, finding=finding)
