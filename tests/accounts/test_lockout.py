"""Login throttling (django-axes): five wrong passwords for one email from one address lock
that pair for 15 minutes, with a clear page; every failure and the lockout are audited. And the
password policy: at least 12 characters, no common, numeric or name-like passwords."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from disclosure.models import AuditEvent

pytestmark = pytest.mark.mfa_unverified
LOGIN = reverse("login")


def attempt(client: Client, email: str, password: str, ip: str = "192.0.2.10"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def fail(client: Client, email: str, times: int, ip: str = "192.0.2.10") -> None:
    for _ in range(times):
        assert attempt(client, email, "wrong-password-123", ip).status_code == 400


def lock_out(client: Client, email: str, ip: str = "192.0.2.10") -> None:
    fail(client, email, 4, ip)
    assert attempt(client, email, "wrong-password-123", ip).status_code == 429


def test_the_settings_are_five_failures_per_email_and_address_for_15_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_the_fifth_failure_locks_even_the_right_password_out(client, world, password):
    email = world.lab_user.email
    fail(client, email, 4)
    response = attempt(client, email, "wrong-password-123")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    locked = attempt(client, email, password)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 6
    lockout = AuditEvent.objects.filter(action="auth.locked_out").first()
    assert lockout.data == {"email": email, "ip": "192.0.2.10"}
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_failures_count_per_address_and_per_email(client, world, password):
    lock_out(client, world.lab_user.email)
    assert attempt(client, world.lab_user.email, password, ip="192.0.2.99").status_code == 302
    fail(Client(), world.coordinator.email, 1)
    other = attempt(Client(), world.coordinator.email, password)
    assert other.status_code == 302


def test_the_email_counts_in_any_case(client, world):
    email = world.lab_user.email
    fail(client, email.upper(), 3)
    fail(client, email, 1)
    assert attempt(client, email.title(), "wrong-password-123").status_code == 429


def test_after_the_cool_off_the_right_password_works_again(client, world, password):
    lock_out(client, world.lab_user.email)
    assert attempt(client, world.lab_user.email, password).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client, world.lab_user.email, password).status_code == 302


def test_a_success_resets_the_count(client, world, password):
    fail(client, world.lab_user.email, 4)
    assert attempt(client, world.lab_user.email, password).status_code == 302
    client.post(reverse("logout"))
    fail(client, world.lab_user.email, 4)
    assert attempt(client, world.lab_user.email, password).status_code == 302


def test_a_failed_login_is_audited_with_the_email_and_address(client, world):
    attempt(client, "nobody@example.org", "whatever-it-is-99")
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor is None
    assert event.data == {"email": "nobody@example.org", "ip": "192.0.2.10"}


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ("short-pw-1", "at least 12 characters"),
        ("password1234", "too common"),
        ("739184620573", "entirely numeric"),
        ("grid-analyst-example", "too similar"),
    ],
)
def test_the_password_policy_refuses(candidate, message):
    user = User(email="grid-analyst@example.org", full_name="Grid Analyst Example")
    with pytest.raises(ValidationError) as refused:
        validate_password(candidate, user=user)
    assert any(message in text for text in refused.value.messages)


def test_a_good_password_passes():
    validate_password("correct-horse-battery-staple", user=User(email="a@example.org"))
