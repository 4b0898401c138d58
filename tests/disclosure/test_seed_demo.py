"""The demo data loader: the accounts the README promises, and safe to run again."""

from __future__ import annotations

from base64 import b32decode
from io import StringIO

import pytest
from django.contrib.auth import authenticate as django_authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from accounts.models import Membership, Organization, SealedTOTPDevice, User
from disclosure.management.commands.seed_demo import (
    ADMIN_EMAIL,
    DEMO_ORGANIZATIONS,
    DEMO_PASSWORD,
    DEMO_TOTP_SECRET,
)
from disclosure.models import AuditEvent, Finding, FindingRecipient
from disclosure.selectors import triage_queue_for

pytestmark = pytest.mark.django_db


def authenticate(**credentials: str) -> User | None:
    # django-axes counts failures per client, so authentication needs a request.
    return django_authenticate(RequestFactory().post("/login/"), **credentials)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--force", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Organization, Membership, Finding, FindingRecipient, AuditEvent)
    }


def test_running_twice_gives_the_same_counts() -> None:
    seed()
    first = counts()
    seed()
    assert counts() == first


def test_creates_a_lab_a_coordination_center_and_three_defenders_in_different_sectors() -> None:
    seed()
    kinds = list(Organization.objects.values_list("kind", flat=True))
    sectors = Organization.objects.filter(kind=Organization.Kind.DEFENDER).values("sector")
    assert sorted(kinds) == ["coordinator", "defender", "defender", "defender", "developer"]
    assert sectors.distinct().count() == 3


def test_every_demo_login_works_with_the_printed_password() -> None:
    output = seed()
    emails = [spec.email for spec in DEMO_ORGANIZATIONS] + [ADMIN_EMAIL]
    assert DEMO_PASSWORD in output
    for email in emails:
        assert email in output
        assert authenticate(email=email, password=DEMO_PASSWORD) is not None, email


def test_rerunning_keeps_a_changed_password() -> None:
    seed()
    user = User.objects.get(email=DEMO_ORGANIZATIONS[0].email)
    user.set_password("something-else-entirely")
    user.save()
    seed()
    assert authenticate(email=user.email, password="something-else-entirely") is not None


def test_reset_passwords_restores_the_demo_password() -> None:
    seed()
    user = User.objects.get(email=DEMO_ORGANIZATIONS[0].email)
    user.set_password("something-else-entirely")
    user.save()
    seed("--reset-passwords")
    assert authenticate(email=user.email, password=DEMO_PASSWORD) is not None


def test_the_demo_password_passes_the_password_validators_for_every_demo_user() -> None:
    seed()
    for user in User.objects.all():
        validate_password(DEMO_PASSWORD, user=user)


def test_only_the_admin_is_a_superuser() -> None:
    seed()
    assert list(User.objects.filter(is_superuser=True).values_list("email", flat=True)) == [
        ADMIN_EMAIL
    ]


def test_the_example_finding_waits_in_the_coordinators_queue() -> None:
    seed()
    coordinator = User.objects.get(memberships__organization__kind=Organization.Kind.COORDINATOR)
    queue = list(triage_queue_for(coordinator))
    assert [f.state for f in queue] == [Finding.State.SUBMITTED]
    assert queue[0].created_by.email == DEMO_ORGANIZATIONS[0].email


def test_the_example_finding_is_filed_through_the_services_with_an_audit_trail() -> None:
    seed()
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["finding.created", "finding.submitted"]


def test_no_example_finding_is_filed_when_findings_exist(world) -> None:
    world.file()
    seed()
    assert Finding.objects.count() == 1


def test_refuses_to_run_without_debug_unless_forced(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()


def test_every_demo_account_has_the_documented_authenticator() -> None:
    output = seed()
    assert DEMO_TOTP_SECRET in output
    seed()  # no second device
    for user in User.objects.all():
        device = SealedTOTPDevice.objects.get(user=user)
        assert device.confirmed
        assert device.bin_key == b32decode(DEMO_TOTP_SECRET)
