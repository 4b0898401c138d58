"""Adding security keys (WebAuthn): named, checked against the page's challenge, origin and RP ID,
audited; the first one turns MFA on with recovery codes; adding and removing need what an
authenticator app needs (a session past MFA, a fresh password). A software key answers."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.settings import app_settings

from accounts import mfa
from accounts.webauthn import REGISTER_STATE
from disclosure.models import AuditEvent
from tests.mfa import session_edit, session_mfa_verified, totp_device
from tests.webauthn import SoftKey, answer, options_in

ADD = reverse("mfa-key-add")
SECURITY = reverse("account-security")


def add_key(client, key: SoftKey, name: str = "Blue key", **post):
    """Open the page, let the key answer its options, send the form."""
    options = options_in(client.get(ADD))
    return client.post(ADD, {"name": name, "credential": answer(key.register(options)), **post})


@pytest.fixture
def verified(client, world):
    """world.defender_user with an authenticator app and recovery codes, in a session past MFA."""
    totp_device(world.defender_user)
    mfa.recovery_codes_first(actor=world.defender_user)
    client.force_login(world.defender_user)
    return client


def test_the_page_gives_the_browser_options_for_this_site_and_a_static_script(verified, world):
    response = verified.get(ADD)
    assert response.status_code == 200
    options = options_in(response)
    assert options["rp"] == {"id": app_settings.OTP_WEBAUTHN_RP_ID, "name": "Forewarn"}
    assert options["user"]["name"] == world.defender_user.email
    assert options["attestation"] == "none"
    body = response.content.decode()
    assert '<script src="/static/js/webauthn.js" defer></script>' in body
    assert "nonce" not in response["Content-Security-Policy"]


def test_a_key_is_kept_under_its_name_and_audited(verified, world):
    key = SoftKey()
    response = add_key(verified, key, name="  Blue key  ")
    assert response.status_code == 302
    assert response["Location"] == SECURITY
    stored = WebAuthnCredential.objects.get(user=world.defender_user)
    assert stored.name == "Blue key"
    assert bytes(stored.credential_id) == key.credential_id
    added = AuditEvent.objects.get(action="mfa.device_added")
    assert added.actor == world.defender_user
    assert added.data == {"device": stored.persistent_id, "name": "Blue key"}


def test_a_second_key_excludes_the_first_from_the_browsers_choice(verified, world):
    first = SoftKey()
    add_key(verified, first)
    session_mfa_verified(verified)
    options = options_in(verified.get(ADD))
    excluded = [d["id"] for d in options["excludeCredentials"]]
    assert excluded == [first.register(options)["id"]]
    assert add_key(verified, SoftKey(), name="Spare key").status_code == 302
    assert WebAuthnCredential.objects.filter(user=world.defender_user).count() == 2


@pytest.mark.mfa_unverified
def test_a_first_key_turns_mfa_on_and_shows_recovery_codes_once(client, world):
    client.force_login(world.defender_user)
    response = add_key(client, SoftKey(), next="/inbox/")
    assert response.status_code == 200
    assert "Your recovery codes" in response.content.decode()
    assert mfa.user_has_mfa(world.defender_user)
    assert mfa.recovery_codes_remaining(world.defender_user) == mfa.RECOVERY_CODES
    assert mfa.mfa_verified(client)
    assert AuditEvent.objects.filter(action="mfa.recovery_codes_created").count() == 1


@pytest.mark.mfa_unverified
def test_a_coordinator_sent_to_enrol_may_add_a_key_instead_of_an_app(client, world):
    client.force_login(world.coordinator)
    assert client.get("/")["Location"].startswith(reverse("mfa-setup"))
    assert reverse("mfa-key-add") in client.get(reverse("mfa-setup")).content.decode()
    add_key(client, SoftKey())
    assert client.get("/").status_code == 200


@pytest.mark.mfa_unverified
def test_a_password_alone_cannot_add_a_key_to_an_account_that_has_a_device(client, world):
    totp_device(world.defender_user)
    client.force_login(world.defender_user)
    response = client.get(ADD)
    assert response["Location"].startswith(reverse("mfa-verify"))
    response = client.post(ADD, {"name": "Sneaky", "credential": "{}"})
    assert response["Location"].startswith(reverse("mfa-verify"))
    assert not WebAuthnCredential.objects.exists()


def test_adding_a_key_needs_a_fresh_password(verified):
    session_mfa_verified(verified, reauth_age=3600)
    response = verified.get(ADD)
    assert response["Location"].startswith(reverse("reauthenticate"))


def test_an_answer_to_another_challenge_is_refused_and_audited(verified, world):
    key = SoftKey()
    options = options_in(verified.get(ADD))
    options_in(verified.get(ADD))  # a newer challenge replaces it
    response = verified.post(ADD, {"name": "Old", "credential": answer(key.register(options))})
    assert response.status_code == 400
    assert "not accepted" in response.content.decode()
    assert not WebAuthnCredential.objects.exists()
    failed = AuditEvent.objects.get(action="mfa.failed")
    assert failed.data == {"kind": "security_key", "step": "setup", "reason": "invalid"}


def test_an_answer_serves_once(verified):
    options = options_in(verified.get(ADD))
    data = {"name": "Blue key", "credential": answer(SoftKey().register(options))}
    assert verified.post(ADD, data).status_code == 302
    session_mfa_verified(verified)
    replayed = verified.post(ADD, data)
    assert replayed.status_code == 400
    assert "expired or was already answered" in replayed.content.decode()
    assert WebAuthnCredential.objects.count() == 1


def test_a_challenge_expires(verified):
    options = options_in(verified.get(ADD))
    state = verified.session[REGISTER_STATE]
    old = time.time() - app_settings.OTP_WEBAUTHN_TIMEOUT_SECONDS - 1
    session_edit(verified, **{REGISTER_STATE: {**state, "made_at": old}})
    response = verified.post(
        ADD, {"name": "Slow", "credential": answer(SoftKey().register(options))}
    )
    assert response.status_code == 400
    assert not WebAuthnCredential.objects.exists()


def test_an_answer_made_for_another_site_is_refused(verified):
    evil = SoftKey(origin="https://forewarn.evil.example")
    assert add_key(verified, evil).status_code == 400
    other_rp = SoftKey(rp_id="evil.example")
    assert add_key(verified, other_rp).status_code == 400
    assert not WebAuthnCredential.objects.exists()


def test_a_key_registered_to_someone_cannot_be_added_again(verified, world):
    key = SoftKey()
    key.registered_to(world.other_defender_user)
    response = add_key(verified, key)
    assert response.status_code == 400
    assert "already registered" in response.content.decode()
    assert not WebAuthnCredential.objects.filter(user=world.defender_user).exists()


def test_a_key_needs_a_name(verified):
    options = options_in(verified.get(ADD))
    credential = answer(SoftKey().register(options))
    response = verified.post(ADD, {"name": " ", "credential": credential})
    assert response.status_code == 400
    assert not WebAuthnCredential.objects.exists()


GARBAGE = [
    "",
    "not json",
    "[]",
    "null",
    '"a string"',
    "{}",
    '{"id": 1, "rawId": [], "response": "x", "type": "public-key"}',
    '{"id": "AAAA", "rawId": "AAAA", "type": "public-key", '
    '"response": {"clientDataJSON": "%%%", "attestationObject": "!!"}}',
    '{"id": "AAAA", "rawId": "AAAA", "type": "public-key", '
    '"response": {"clientDataJSON": "e30", "attestationObject": "oA"}}',
    "[" * 32_000 + "]" * 32_000,
]


@pytest.mark.parametrize("credential", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_instead_of_an_answer_is_a_400_never_a_500(verified, credential):
    verified.get(ADD)
    response = verified.post(ADD, {"name": "Junk", "credential": credential})
    assert response.status_code == 400
    assert not WebAuthnCredential.objects.exists()


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"clientExtensionResults": 5}, 400),
        ({"clientExtensionResults": {"credProps": 7}}, 400),
        ({"type": "private-key"}, 400),
        ({"response": {"transports": 3}}, 302),  # a hint only: dropped
        ({"authenticatorAttachment": {"x": 1}}, 302),  # not used
    ],
    ids=["extensions-int", "credprops-int", "type", "transports", "attachment"],
)
def test_a_valid_answer_with_odd_parts_is_refused_or_kept_never_a_500(verified, change, status):
    options = options_in(verified.get(ADD))
    credential = SoftKey().register(options)
    for part, value in change.items():
        if isinstance(value, dict) and isinstance(credential.get(part), dict):
            credential[part] = {**credential[part], **value}
        else:
            credential[part] = value
    response = verified.post(ADD, {"name": "Odd", "credential": json.dumps(credential)})
    assert response.status_code == status
    assert WebAuthnCredential.objects.exists() == (status == 302)


def test_removing_a_key_needs_reauthentication_and_is_audited(verified, world):
    stored = SoftKey().registered_to(world.defender_user)
    session_mfa_verified(verified, reauth_age=3600)
    url = reverse("mfa-key-remove", args=[stored.pk])
    assert verified.post(url)["Location"].startswith(reverse("reauthenticate"))
    assert WebAuthnCredential.objects.filter(pk=stored.pk).exists()
    session_edit(verified, reauth_at=int(time.time()))
    assert verified.post(url)["Location"] == SECURITY
    assert not WebAuthnCredential.objects.filter(pk=stored.pk).exists()
    removed = AuditEvent.objects.get(action="mfa.device_removed")
    assert removed.data == {"device": stored.persistent_id, "name": "Test key", "mfa_left": True}


def test_removing_the_last_key_turns_mfa_off_with_its_recovery_codes(client, world):
    client.force_login(world.defender_user)
    add_key(client, SoftKey())
    stored = WebAuthnCredential.objects.get()
    client.post(reverse("mfa-key-remove", args=[stored.pk]))
    assert not mfa.user_has_mfa(world.defender_user)
    assert mfa.recovery_codes_remaining(world.defender_user) == 0
    assert not mfa.mfa_verified(client)


def test_nobody_removes_anothers_key(client, world):
    stored = SoftKey().registered_to(world.other_defender_user)
    client.force_login(world.defender_user)
    assert client.post(reverse("mfa-key-remove", args=[stored.pk])).status_code == 404
    assert WebAuthnCredential.objects.filter(pk=stored.pk).exists()


def test_the_security_page_lists_keys_with_a_remove_button(client, world):
    stored = SoftKey().registered_to(world.defender_user, name="Office key")
    client.force_login(world.defender_user)
    body = client.get(SECURITY).content.decode()
    assert "Office key" in body
    assert reverse("mfa-key-remove", args=[stored.pk]) in body
    assert "Two-factor authentication is off" not in body


@pytest.mark.parametrize("keys", [1, 50])
def test_the_security_and_add_pages_have_a_query_budget(
    verified, world, django_assert_max_num_queries, keys
):
    for _ in range(keys):
        SoftKey().registered_to(world.defender_user)
    with django_assert_max_num_queries(10):
        body = verified.get(SECURITY).content.decode()
    assert len(re.findall(r"/account/security/keys/\d+/remove/", body)) == keys
    with django_assert_max_num_queries(14):  # the first time, the user's WebAuthn handle is made
        options = options_in(verified.get(ADD))
    assert len(options["excludeCredentials"]) == keys


def test_an_administrator_sees_and_can_disable_keys_in_the_admin(admin_client, world):
    stored = SoftKey().registered_to(world.defender_user, name="Office key")
    listing = admin_client.get(reverse("admin:django_otp_webauthn_webauthncredential_changelist"))
    assert listing.status_code == 200
    assert "Office key" in listing.content.decode()
    change = reverse("admin:django_otp_webauthn_webauthncredential_change", args=[stored.pk])
    assert admin_client.get(change).status_code == 200
    response = admin_client.post(
        change, {"user": world.defender_user.pk, "name": "Office key", "confirmed": ""}
    )
    assert response.status_code == 302
    stored.refresh_from_db()
    assert not stored.confirmed
    assert not mfa.user_has_mfa(world.defender_user)
