"""Logging in and confirming it is you with a security key (WebAuthn): a key alone counts as
MFA; the key's answer must sign this session's challenge, once, for this site, from a key of
this user whose counter moved on; every try is audited; garbage is a 400; the posts need CSRF
and are rate limited. A software key answers."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from accounts import mfa
from accounts.webauthn import VERIFY_STATE
from disclosure.models import AuditEvent
from tests.accounts.test_mfa_keys_enrollment import GARBAGE
from tests.mfa import session_edit, session_mfa_verified, totp_device
from tests.webauthn import SoftKey, answer, options_in

pytestmark = pytest.mark.mfa_unverified

VERIFY = reverse("mfa-verify")
VERIFY_KEY = reverse("mfa-verify-key")
REAUTH = reverse("reauthenticate")
REAUTH_KEY = reverse("reauthenticate-key")


@pytest.fixture
def key(world) -> SoftKey:
    """A key that world.defender_user added (their only device)."""
    soft = SoftKey()
    soft.registered_to(world.defender_user)
    return soft


def password_login(client: Client, user, password: str):
    return client.post(reverse("login"), {"username": user.email, "password": password})


def use_key(client: Client, key: SoftKey, url: str = VERIFY_KEY, page: str = VERIFY, **post):
    options = options_in(client.get(page))
    return client.post(url, {"credential": answer(key.assert_(options)), **post})


def test_a_user_with_only_a_key_is_asked_for_it_after_the_password(client, world, key, password):
    assert mfa.user_has_mfa(world.defender_user)
    response = password_login(client, world.defender_user, password)
    assert response["Location"].startswith(VERIFY)
    assert client.get("/inbox/")["Location"].startswith(VERIFY)  # nothing opens before it
    page = client.get(VERIFY)
    options = options_in(page)
    assert [c["id"] for c in options["allowCredentials"]] == [key.assert_(options)["id"]]
    assert options["rpId"] == settings.OTP_WEBAUTHN_RP_ID
    assert "Use your security key" in page.content.decode()


def test_a_key_only_user_is_enrolled_for_pages_that_need_mfa(client, world, key, password):
    client.force_login(world.defender_user)
    finding = world.embargoed()
    response = client.get(reverse("finding-detail", args=[finding.reference]))
    assert response["Location"].startswith(VERIFY)  # verify, not set up


def test_the_key_opens_the_app_and_is_audited(client, world, key, password):
    password_login(client, world.defender_user, password)
    before = client.session.session_key
    response = use_key(client, key, next="/inbox/")
    assert response.status_code == 302
    assert response["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200
    assert client.session.session_key != before
    stored = WebAuthnCredential.objects.get()
    assert stored.sign_count == key.sign_count and stored.last_used_at is not None
    event = AuditEvent.objects.get(action="mfa.verified")
    assert event.actor == world.defender_user
    assert event.data == {"device": stored.persistent_id, "step": "login"}


def test_an_answer_to_another_challenge_is_refused_and_audited(client, world, key, password):
    password_login(client, world.defender_user, password)
    options = options_in(client.get(VERIFY))
    client.get(VERIFY)  # a newer challenge replaces it
    response = client.post(VERIFY_KEY, {"credential": answer(key.assert_(options))})
    assert response.status_code == 400
    assert "not accepted" in response.content.decode()
    assert not mfa.mfa_verified(client)
    failed = AuditEvent.objects.get(action="mfa.failed")
    assert failed.data == {"kind": "security_key", "step": "login", "reason": "invalid"}


def test_an_answer_serves_once(client, world, key, password):
    password_login(client, world.defender_user, password)
    options = options_in(client.get(VERIFY))
    data = {"credential": answer(key.assert_(options))}
    assert client.post(VERIFY_KEY, data).status_code == 302
    client.logout()
    password_login(client, world.defender_user, password)
    assert client.post(VERIFY_KEY, data).status_code == 400
    assert not mfa.mfa_verified(client)


def test_a_cloned_key_whose_counter_went_back_is_refused(client, world, key, password):
    password_login(client, world.defender_user, password)
    key.sign_count = 10
    assert use_key(client, key).status_code == 302
    client.logout()
    password_login(client, world.defender_user, password)
    key.sign_count = 3  # a copy of the key, used less often
    assert use_key(client, key).status_code == 400


def test_another_users_key_does_not_open_this_account(client, world, key, password):
    theirs = SoftKey()
    theirs.registered_to(world.other_defender_user)
    password_login(client, world.defender_user, password)
    response = use_key(client, theirs)
    assert response.status_code == 400
    assert "not registered to your account" in response.content.decode()
    assert AuditEvent.objects.get(action="mfa.failed").data["reason"] == "unknown_key"


def test_a_key_answering_for_another_site_is_refused(client, world, password):
    phished = SoftKey(origin="https://forewarn.evil.example")
    phished.registered_to(world.defender_user)
    password_login(client, world.defender_user, password)
    assert use_key(client, phished).status_code == 400
    assert not mfa.mfa_verified(client)


def test_a_disabled_key_is_neither_offered_nor_accepted(client, world, key, password):
    WebAuthnCredential.objects.update(confirmed=False)  # as an administrator may
    totp_device(world.defender_user)  # still enrolled: the verify page stays
    password_login(client, world.defender_user, password)
    assert "data-webauthn-options" not in client.get(VERIFY).content.decode()
    state = {"challenge": "AAAA", "require_user_verification": False}
    session_edit(client, **{VERIFY_STATE: {**state, "made_at": time.time()}})
    response = client.post(VERIFY_KEY, {"credential": answer(key.assert_(state))})
    assert response.status_code == 400
    assert AuditEvent.objects.get(action="mfa.failed").data["reason"] == "disabled"


@pytest.mark.parametrize("credential", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_instead_of_an_answer_is_a_400_never_a_500(
    client, world, key, password, credential
):
    password_login(client, world.defender_user, password)
    client.get(VERIFY)
    response = client.post(VERIFY_KEY, {"credential": credential})
    assert response.status_code == 400
    assert not mfa.mfa_verified(client)


def test_a_post_without_a_challenge_is_a_400(client, world, key, password):
    password_login(client, world.defender_user, password)
    response = client.post(VERIFY_KEY, {"credential": answer(key.assert_({"challenge": "AAAA"}))})
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_a_key_only_user_can_still_use_a_recovery_code(client, world, key, password):
    codes = mfa.recovery_codes_first(actor=world.defender_user)
    password_login(client, world.defender_user, password)
    response = client.post(VERIFY, {"token": codes[0]})
    assert response.status_code == 302
    assert mfa.mfa_verified(client)


def test_a_key_confirms_it_is_you(client, world, key):
    client.force_login(world.defender_user)
    session_mfa_verified(client, reauth_age=3600)
    assert not mfa.reauth_fresh_at(client.session)
    response = use_key(client, key, url=REAUTH_KEY, page=REAUTH, next="/account/security/")
    assert response["Location"] == "/account/security/"
    assert mfa.reauth_fresh_at(client.session)
    assert AuditEvent.objects.get(action="mfa.verified").data["step"] == "reauth"


def test_a_refused_key_leaves_the_confirmation_page_with_a_400(client, world, key):
    client.force_login(world.defender_user)
    session_mfa_verified(client, reauth_age=3600)
    client.get(REAUTH)
    response = client.post(REAUTH_KEY, {"credential": "{}"})
    assert response.status_code == 400
    assert "Confirm it is you" in response.content.decode()
    assert not mfa.reauth_fresh_at(client.session)


def test_the_key_posts_need_the_csrf_token(world, key, password):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.defender_user)
    options = options_in(client.get(VERIFY))
    response = client.post(VERIFY_KEY, {"credential": answer(key.assert_(options))})
    assert response.status_code == 403
    assert not mfa.mfa_verified(client)


def test_the_key_posts_are_rate_limited_per_address(client, world, key, password, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "mfa": "2/min"},
    }
    password_login(client, world.defender_user, password)
    statuses = [client.post(VERIFY_KEY, {"credential": "{}"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert client.post(VERIFY, {"token": "123456"}).status_code == 429  # one budget for both


@pytest.mark.parametrize("keys", [1, 50])
def test_the_verify_page_with_keys_has_a_query_budget(
    client, world, password, django_assert_max_num_queries, keys
):
    for _ in range(keys):
        SoftKey().registered_to(world.defender_user)
    password_login(client, world.defender_user, password)
    with django_assert_max_num_queries(12):
        response = client.get(VERIFY)
    assert len(options_in(response)["allowCredentials"]) == keys
