"""Logging in with a second factor: the password alone opens nothing for a user with an
authenticator; wrong, replayed and throttled codes are refused and audited; recovery codes work
once; coordinators must enrol before anything else."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts import mfa
from accounts.tokens import api_token_create
from disclosure.models import AuditEvent
from tests.mfa import totp_code, totp_device

pytestmark = pytest.mark.mfa_unverified

VERIFY = reverse("mfa-verify")
SETUP = reverse("mfa-setup")


def password_login(client: Client, user, password: str, next_path: str = ""):
    data = {"username": user.email, "password": password}
    if next_path:
        data["next"] = next_path
    return client.post(reverse("login"), data)


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_after_the_password_a_user_with_an_authenticator_is_asked_for_a_code(
    client, world, password
):
    totp_device(world.defender_user)
    response = password_login(client, world.defender_user, password, "/inbox/")
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Finbox%2F"
    assert "auth.login" in actions()


@pytest.mark.parametrize("path", ["/", "/inbox/", "/findings/", "/account/tokens/"])
def test_every_page_waits_for_the_code(client, world, password, path):
    totp_device(world.defender_user)
    password_login(client, world.defender_user, password)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)


def test_the_api_by_session_waits_for_the_code_but_a_token_does_not(client, world, password):
    totp_device(world.lab_user)
    password_login(client, world.lab_user, password)
    response = client.get("/api/me/")
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]
    _, raw = api_token_create(user=world.lab_user, name="ci")
    assert Client().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_the_right_code_opens_the_app_and_is_audited(client, world, password):
    device = totp_device(world.defender_user)
    password_login(client, world.defender_user, password)
    response = client.post(VERIFY, {"token": totp_code(device), "next": "/inbox/"})
    assert response.status_code == 302
    assert response["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200
    event = AuditEvent.objects.filter(action="mfa.verified").get()
    assert event.actor == world.defender_user
    assert event.data["device"] == device.persistent_id


def test_a_wrong_code_is_refused_and_audited(client, world, password):
    device = totp_device(world.defender_user)
    password_login(client, world.defender_user, password)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(VERIFY, {"token": wrong})
    assert response.status_code == 400
    assert "not right" in response.content.decode()
    assert client.get("/").status_code == 302  # still locked behind the code
    failed = AuditEvent.objects.filter(action="mfa.failed").get()
    assert failed.actor == world.defender_user
    assert failed.data == {"kind": "totp", "step": "login"}


def test_a_code_used_once_is_refused_the_second_time(world, password):
    device = totp_device(world.defender_user)
    code = totp_code(device)
    first, second = Client(), Client()
    password_login(first, world.defender_user, password)
    assert first.post(VERIFY, {"token": code}).status_code == 302
    password_login(second, world.defender_user, password)
    replay = second.post(VERIFY, {"token": code})
    assert replay.status_code == 400
    assert "not right" in replay.content.decode()
    assert second.get("/").status_code == 302
    assert AuditEvent.objects.filter(action="mfa.failed").count() == 1


def test_after_a_wrong_code_even_the_right_one_waits(client, world, password, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a wait no test outlasts
    device = totp_device(world.defender_user)
    password_login(client, world.defender_user, password)
    client.post(VERIFY, {"token": "000000" if totp_code(device) != "000000" else "111111"})
    response = client.post(VERIFY, {"token": totp_code(device)})
    assert response.status_code == 400
    assert "wait" in response.content.decode()
    assert client.get("/").status_code == 302


def test_a_recovery_code_works_once(world, password):
    device = totp_device(world.defender_user)
    device.confirmed = False
    device.save()
    codes = mfa.totp_device_confirm(
        actor=world.defender_user, device=device, token=totp_code(device)
    )
    assert len(codes) == mfa.RECOVERY_CODES
    first, second = Client(), Client()
    password_login(first, world.defender_user, password)
    response = first.post(VERIFY, {"token": codes[0].upper()}, follow=True)
    assert response.redirect_chain[0][0] == "/"
    assert f"{mfa.RECOVERY_CODES - 1} left" in response.content.decode()
    password_login(second, world.defender_user, password)
    assert second.post(VERIFY, {"token": codes[0]}).status_code == 400
    used = AuditEvent.objects.filter(action="mfa.recovery_code_used").get()
    assert used.data["remaining"] == mfa.RECOVERY_CODES - 1
    assert AuditEvent.objects.filter(action="mfa.failed").get().data["kind"] == "recovery_code"


def test_a_coordinator_without_an_authenticator_is_sent_to_set_one_up(client, world, password):
    response = password_login(client, world.coordinator, password)
    assert response["Location"].startswith(SETUP)
    for path in ["/", "/triage/", "/findings/"]:
        assert client.get(path)["Location"].startswith(SETUP)
    assert client.get("/api/triage/queue/").status_code == 403
    assert client.get(SETUP).status_code == 200


def test_others_without_an_authenticator_browse_but_not_embargoed_details(client, world, password):
    finding = world.embargoed()
    password_login(client, world.defender_user, password)
    assert client.get("/").status_code == 200
    response = client.get(reverse("finding-detail", args=[finding.reference]))
    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)
    assert not AuditEvent.objects.filter(action="finding.read").exists()


def test_a_released_finding_needs_no_second_factor(client, world, password):
    finding = world.released()
    password_login(client, world.defender_user, password)
    assert client.get(reverse("finding-detail", args=[finding.reference])).status_code == 200


def test_the_api_refuses_embargoed_details_to_an_unverified_session(client, world, password):
    finding = world.embargoed()
    password_login(client, world.defender_user, password)  # no authenticator: not blocked
    assert client.get("/api/me/").status_code == 200
    response = client.get(f"/api/findings/{finding.reference}/")
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]
    _, raw = api_token_create(user=world.defender_user, name="ci")
    by_token = Client().get(
        f"/api/findings/{finding.reference}/", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert by_token.status_code == 200


def test_an_outsider_still_gets_the_404_not_the_mfa_answer(client, world, password):
    finding = world.embargoed()
    password_login(client, world.other_defender_user, password)
    assert client.get(f"/api/findings/{finding.reference}/").status_code == 404
    assert client.get(reverse("finding-detail", args=[finding.reference])).status_code == 404


def test_verifying_gives_the_session_a_new_id(client, world, password):
    device = totp_device(world.defender_user)
    password_login(client, world.defender_user, password)
    before = client.session.session_key
    client.post(VERIFY, {"token": totp_code(device)})
    after = client.session.session_key
    assert after != before
    assert world.defender_user.sessions.get().session_key == after


def test_staff_need_mfa_for_the_admin(client, world, password):
    world.lab_user.is_staff = True
    world.lab_user.is_superuser = True
    world.lab_user.save()
    password_login(client, world.lab_user, password)
    assert client.get("/").status_code == 200
    assert client.get("/admin/")["Location"].startswith(SETUP)
