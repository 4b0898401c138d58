"""Setting up an authenticator app: the QR code and secret, confirming with a code, recovery
codes shown once; removing a device and new recovery codes need a fresh password or code."""

from __future__ import annotations

import re
import time
from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.models import SealedTOTPDevice
from accounts.recovery_codes import recovery_code_digest
from disclosure.models import AuditEvent
from tests.mfa import session_edit, session_mfa_verified, totp_code, totp_device

SETUP = reverse("mfa-setup")
QR = reverse("mfa-setup-qr")
SECURITY = reverse("account-security")
SECRET_RE = re.compile(r'<code class="token-value" id="mfa-secret">([A-Z2-7 ]+)</code>')
CODES_RE = re.compile(r"<li><code>([a-z2-7]{8})</code></li>")


def pending(user) -> SealedTOTPDevice:
    return SealedTOTPDevice.objects.get(user=user, confirmed=False)


@pytest.mark.mfa_unverified
def test_the_setup_page_shows_the_qr_code_and_the_secret_of_a_new_device(client, world):
    client.force_login(world.defender_user)
    response = client.get(SETUP)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'<img class="mfa-qr" src="{QR}"' in body
    secret = SECRET_RE.search(body).group(1).replace(" ", "")
    assert b32decode(secret) == pending(world.defender_user).bin_key
    assert client.get(SETUP).content.decode().count(secret[:4]) >= 1  # the same device again
    assert TOTPDevice.objects.filter(user=world.defender_user).count() == 1


@pytest.mark.mfa_unverified
def test_the_qr_code_is_an_svg_image_that_no_cache_keeps(client, world):
    client.force_login(world.defender_user)
    assert client.get(QR).status_code == 404  # nothing being set up yet
    client.get(SETUP)
    response = client.get(QR)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "no-store" in response["Cache-Control"]
    assert b"<svg" in response.content[:300]


@pytest.mark.mfa_unverified
def test_confirming_with_a_code_turns_mfa_on_and_shows_recovery_codes_once(client, world):
    client.force_login(world.defender_user)
    client.get(SETUP)
    device = pending(world.defender_user)
    response = client.post(SETUP, {"token": totp_code(device), "next": "/inbox/"})
    assert response.status_code == 200
    codes = CODES_RE.findall(response.content.decode())
    assert len(codes) == mfa.RECOVERY_CODES
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert stored == {recovery_code_digest(code) for code in codes}  # digests, not the codes
    device.refresh_from_db()
    assert device.confirmed
    assert client.session.get("otp_device_id") == device.persistent_id  # this session passed
    assert not CODES_RE.findall(client.get(SECURITY).content.decode())  # never shown again
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        "mfa.device_added",
        "mfa.recovery_codes_created",
    ]


@pytest.mark.mfa_unverified
def test_a_wrong_code_leaves_the_device_unconfirmed(client, world):
    client.force_login(world.defender_user)
    client.get(SETUP)
    device = pending(world.defender_user)
    wrong = f"{(int(totp_code(device)) + 5) % 1_000_000:06d}"
    response = client.post(SETUP, {"token": wrong})
    assert response.status_code == 400
    assert not pending(world.defender_user).confirmed
    assert not mfa.user_has_mfa(world.defender_user)
    assert AuditEvent.objects.get().action == "mfa.failed"


@pytest.mark.mfa_unverified
def test_a_password_alone_cannot_add_a_device_to_an_account_that_has_one(client, world):
    totp_device(world.defender_user)
    client.force_login(world.defender_user)
    assert client.get(SETUP)["Location"].startswith(reverse("mfa-verify"))
    assert client.get(QR)["Location"].startswith(reverse("mfa-verify"))  # the middleware


def test_adding_a_second_device_needs_a_fresh_password(client, world, password):
    totp_device(world.defender_user)
    client.force_login(world.defender_user)
    session_mfa_verified(client, reauth_age=3600)
    response = client.get(SETUP)
    assert (
        response["Location"] == f"{reverse('reauthenticate')}?next=%2Faccount%2Fsecurity%2Fsetup%2F"
    )
    response = client.post(reverse("reauthenticate"), {"password": password, "next": SETUP})
    assert response["Location"] == SETUP
    assert client.get(SETUP).status_code == 200
    assert AuditEvent.objects.filter(action="auth.reauthenticated").exists()


def test_a_wrong_password_does_not_reauthenticate(client, world):
    client.force_login(world.defender_user)
    session_mfa_verified(client, reauth_age=3600)
    response = client.post(reverse("reauthenticate"), {"password": "not-my-password-at-all"})
    assert response.status_code == 400
    assert not mfa.reauth_fresh_at(client.session)
    assert AuditEvent.objects.filter(action="auth.login_failed").exists()


def test_a_code_reauthenticates_too(client, world):
    device = totp_device(world.defender_user)
    client.force_login(world.defender_user)
    session_mfa_verified(client, reauth_age=3600)
    client.post(reverse("reauthenticate"), {"token": totp_code(device)})
    assert mfa.reauth_fresh_at(client.session)


def test_removing_a_device_needs_reauthentication(client, world, password):
    device = totp_device(world.defender_user)
    client.force_login(world.defender_user)
    session_mfa_verified(client, reauth_age=3600)
    url = reverse("mfa-device-remove", args=[device.pk])
    response = client.post(url, HTTP_REFERER="http://testserver" + SECURITY)
    assert response["Location"].startswith(reverse("reauthenticate"))
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    session_edit(client, reauth_at=int(time.time()))
    assert client.post(url)["Location"] == SECURITY
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()


def test_removing_the_last_device_turns_mfa_off_with_its_recovery_codes(client, world):
    device = totp_device(world.defender_user, confirmed=False)
    mfa.totp_device_confirm(actor=world.defender_user, device=device, token=totp_code(device))
    client.force_login(world.defender_user)
    client.post(reverse("mfa-device-remove", args=[device.pk]))
    assert not mfa.user_has_mfa(world.defender_user)
    assert not StaticToken.objects.exists()
    assert "otp_device_id" not in client.session
    removed = AuditEvent.objects.get(action="mfa.device_removed")
    assert removed.data["mfa_left"] is False


def test_nobody_removes_anothers_device(client, world):
    device = totp_device(world.other_defender_user)
    client.force_login(world.defender_user)
    assert client.post(reverse("mfa-device-remove", args=[device.pk])).status_code == 404
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_new_recovery_codes_replace_the_old_ones(client, world):
    device = totp_device(world.defender_user, confirmed=False)
    old = mfa.totp_device_confirm(actor=world.defender_user, device=device, token=totp_code(device))
    client.force_login(world.defender_user)
    response = client.post(reverse("mfa-recovery-codes"))
    new = CODES_RE.findall(response.content.decode())
    assert len(new) == mfa.RECOVERY_CODES
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert stored == {recovery_code_digest(code) for code in new}
    assert not set(old) & set(new)


def test_the_security_page_lists_devices_and_recovery_codes_left(client, world):
    device = totp_device(world.defender_user, confirmed=False)
    mfa.totp_device_confirm(actor=world.defender_user, device=device, token=totp_code(device))
    client.force_login(world.defender_user)
    body = client.get(SECURITY).content.decode()
    assert device.name in body
    assert f"{mfa.RECOVERY_CODES} unused recovery codes left" in body
    assert "style=" not in body and "<script" not in body
