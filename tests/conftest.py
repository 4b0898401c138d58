"""Shared fixtures: a small world of organizations and users, and findings in every state."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Organization, User
from disclosure.models import Finding
from disclosure.services.intake import finding_create, finding_submit
from disclosure.services.release import finding_release
from disclosure.services.triage import finding_accept, finding_reject
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.factories.accounts import PASSWORD
from tests.gpg import GnuPG
from tests.mfa import login_not_audited, session_mfa_verified

FINDING_FIELDS = {
    "model_name": "Frontier-1",
    "model_version": "ckpt-2026-10",
    "title": "Autonomous exploitation of known CVEs",
    "summary": "The model can chain public exploits with little help.",
    "details": "EMBARGOED-DETAIL: 31% success on the cyber range against patched targets.",
    "category": "openai-pf-v2:cybersecurity",
    "risk_level": Finding.RiskLevel.HIGH,
    "recommended_actions": "EMBARGOED-ACTION: rate-limit exploit-shaped tool calls.",
}


@dataclass
class World:
    lab: Organization
    lab_user: User
    other_lab: Organization
    other_lab_user: User
    center: Organization
    coordinator: User
    defender: Organization
    defender_user: User
    other_defender: Organization
    other_defender_user: User

    def file(self, **overrides: object) -> Finding:
        return finding_create(
            actor=self.lab_user, developer=self.lab, **{**FINDING_FIELDS, **overrides}
        )

    def submitted(self, **overrides: object) -> Finding:
        return finding_submit(actor=self.lab_user, finding=self.file(**overrides))

    def embargoed(self, *, ends_in: timedelta = timedelta(days=7)) -> Finding:
        return finding_accept(
            actor=self.coordinator,
            finding=self.submitted(),
            organizations=[self.defender],
            embargo_ends_at=timezone.now() + ends_in,
        )

    def rejected(self) -> Finding:
        return finding_reject(
            actor=self.coordinator, finding=self.submitted(), reason="Out of scope"
        )

    def released(self) -> Finding:
        finding = self.embargoed(ends_in=timedelta(seconds=1))
        Finding.objects.filter(pk=finding.pk).update(
            embargo_ends_at=timezone.now() - timedelta(seconds=1)
        )
        assert finding_release(finding_id=finding.pk)
        finding.refresh_from_db()
        return finding

    def in_state(self, state: str) -> Finding:
        return {
            Finding.State.DRAFT: self.file,
            Finding.State.SUBMITTED: self.submitted,
            Finding.State.EMBARGOED: self.embargoed,
            Finding.State.REJECTED: self.rejected,
            Finding.State.RELEASED: self.released,
        }[state]()


def _member(org: Organization, email: str) -> User:
    user = UserFactory(email=email)
    MembershipFactory(user=user, organization=org)
    return user


@pytest.fixture
def world(db: None) -> World:
    lab = OrganizationFactory(name="Example Lab", slug="example-lab", developer=True)
    other_lab = OrganizationFactory(name="Other Lab", slug="other-lab", developer=True)
    center = OrganizationFactory(name="Coordination Center", slug="cc", coordinator=True)
    defender = OrganizationFactory(name="Grid ISAC", slug="grid-isac", sector="Energy")
    other_defender = OrganizationFactory(name="Water CERT", slug="water-cert", sector="Water")
    return World(
        lab=lab,
        lab_user=_member(lab, "dev@lab.example"),
        other_lab=other_lab,
        other_lab_user=_member(other_lab, "dev@other-lab.example"),
        center=center,
        coordinator=_member(center, "coord@cc.example"),
        defender=defender,
        defender_user=_member(defender, "analyst@grid.example"),
        other_defender=other_defender,
        other_defender_user=_member(other_defender, "analyst@water.example"),
    )


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture(autouse=True)
def _force_login_passes_mfa(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``client.force_login(user)`` gives a session that passed MFA, as logging in with a code
    does (tests/mfa.py); ``@pytest.mark.mfa_unverified`` gives a password-only one instead.
    Either way the forced login is setup, not a login to audit."""
    force_login = Client.force_login
    verified = not request.node.get_closest_marker("mfa_unverified")

    def force_login_as_set_up(self: Client, user: User, backend: str | None = None) -> None:
        with login_not_audited():
            force_login(self, user, backend)
        if verified:
            session_mfa_verified(self)

    monkeypatch.setattr(Client, "force_login", force_login_as_set_up)


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    """Put back the taxonomies and sectors that migration 0002 seeds, for transactional tests.

    A transactional test (live server, real worker processes) flushes the database after
    itself, and with it the seeded rows; pytest-django runs those tests last, so only they
    can find the rows gone.
    """
    marker = request.node.get_closest_marker("django_db")
    if not (
        {"transactional_db", "live_server"} & set(request.fixturenames)
        or (marker is not None and marker.kwargs.get("transaction"))
    ):
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    seed = importlib.import_module("disclosure.migrations.0002_seed_taxonomies_and_sectors").seed
    seed(apps, None)


@pytest.fixture
def gnupg() -> Iterator[GnuPG]:
    """Real GnuPG with an empty keyring of its own (tests.gpg)."""
    gpg = GnuPG()
    try:
        yield gpg
    finally:
        gpg.close()
