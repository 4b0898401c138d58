"""Uploading an OpenPGP public key: keys made with real gpg, through the API, the page and the
services; bad keys are refused with a 400 naming what is wrong, and nothing is stored."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership, OpenPGPKey
from accounts.openpgp import fingerprint_display, openpgp_key_remove, openpgp_key_set
from disclosure.errors import NotAllowed
from disclosure.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory

URL = "/api/me/openpgp-key/"
PAST = "20200101T000000"


@pytest.fixture
def user(db):
    return UserFactory(email="analyst@grid.example")


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def put(api, armored):
    return api.put(URL, {"armored": armored}, format="json")


def test_a_valid_key_is_stored_with_its_fingerprint_user_ids_and_expiry(api, user, gnupg):
    fpr = gnupg.generate("Analyst <analyst@grid.example>", expire="2y")
    response = put(api, gnupg.export(fpr))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["fingerprint"] == fpr
    assert body["fingerprint_display"] == fingerprint_display(fpr)
    assert body["fingerprint_display"].split() == [fpr[i : i + 4] for i in range(0, 40, 4)]
    assert body["user_ids"] == ["Analyst <analyst@grid.example>"]
    assert body["expires_at"] is not None
    assert body["usable"] is True
    assert body["warnings"] == []
    key = OpenPGPKey.objects.get(user=user)
    assert key.fingerprint == fpr
    assert "PRIVATE" not in key.armored
    event = AuditEvent.objects.get(action="openpgp_key.set")
    assert event.actor == user
    assert event.data["new_fingerprint"] == fpr
    assert event.data["old_fingerprint"] is None


def test_a_key_naming_another_address_is_accepted_with_a_warning(api, gnupg):
    fpr = gnupg.generate("Someone <someone@elsewhere.example>")
    response = put(api, gnupg.export(fpr))
    assert response.status_code == 200
    (warning,) = response.json()["warnings"]
    assert "analyst@grid.example" in warning


def test_a_key_expiring_within_a_month_is_accepted_with_a_warning(api, gnupg):
    fpr = gnupg.generate("Analyst <analyst@grid.example>", expire="10d")
    response = put(api, gnupg.export(fpr))
    assert response.status_code == 200
    assert any("expires on" in w for w in response.json()["warnings"])


def test_replacing_a_key_keeps_one_and_audits_old_and_new(api, user, gnupg):
    first = gnupg.generate("First <analyst@grid.example>")
    second = gnupg.generate("Second <analyst@grid.example>")
    assert put(api, gnupg.export(first)).status_code == 200
    assert put(api, gnupg.export(second)).status_code == 200
    assert list(OpenPGPKey.objects.filter(user=user).values_list("fingerprint", flat=True)) == [
        second
    ]
    last = AuditEvent.objects.filter(action="openpgp_key.set").latest("id")
    assert (last.data["old_fingerprint"], last.data["new_fingerprint"]) == (first, second)


def test_get_and_delete_the_key(api, user, gnupg):
    assert api.get(URL).status_code == 404
    fpr = gnupg.generate("Analyst <analyst@grid.example>")
    put(api, gnupg.export(fpr))
    got = api.get(URL)
    assert got.status_code == 200
    assert got.json()["fingerprint"] == fpr
    assert "warnings" not in got.json()
    assert api.delete(URL).status_code == 204
    assert not OpenPGPKey.objects.filter(user=user).exists()
    assert AuditEvent.objects.get(action="openpgp_key.removed").data["old_fingerprint"] == fpr
    assert api.delete(URL).status_code == 404
    assert api.get(URL).json() == {"detail": "You have no OpenPGP key."}


def test_the_key_api_answers_in_one_query_after_authentication(
    api, gnupg, django_assert_max_num_queries
):
    put(api, gnupg.export(gnupg.generate("Analyst <analyst@grid.example>")))
    with django_assert_max_num_queries(1):
        assert api.get(URL).status_code == 200


def test_anonymous_callers_get_nothing(db):
    client = APIClient()
    assert client.get(URL).status_code in {401, 403}
    assert client.put(URL, {"armored": "x"}, format="json").status_code in {401, 403}


# --- Refusals: each a 400 naming the field, with a message saying what is wrong.


def _secret(gnupg):
    return gnupg.export_secret(gnupg.generate("Analyst <analyst@grid.example>"))


def _sign_only(gnupg):
    return gnupg.export(
        gnupg.generate("Signer <analyst@grid.example>", algo="ed25519", usage="sign")
    )


def _expired(gnupg):
    # Made in the past with a one-day lifetime: expired since.
    return gnupg.export(gnupg.generate("Old <analyst@grid.example>", expire="1d", faked_time=PAST))


def _expired_encryption_subkey(gnupg):
    fpr = gnupg.generate(
        "Sub <analyst@grid.example>", algo="ed25519", usage="cert,sign", faked_time=PAST
    )
    gnupg.add_subkey(fpr, algo="cv25519", usage="encr", expire="1d", faked_time=PAST)
    return gnupg.export(fpr)


def _revoked(gnupg):
    fpr = gnupg.generate("Gone <analyst@grid.example>")
    gnupg.revoke(fpr)
    return gnupg.export(fpr)


def _two_keys(gnupg):
    a = gnupg.generate("A <analyst@grid.example>")
    b = gnupg.generate("B <analyst@grid.example>")
    return gnupg.export(a) + gnupg.export(b)


def _truncated(gnupg):
    armored = gnupg.export(gnupg.generate("Cut <analyst@grid.example>"))
    lines = armored.splitlines()
    return "\n".join(lines[:4] + lines[-2:])


REFUSALS = {
    "garbage": (lambda g: "hello, this is my key", "not an ASCII-armored OpenPGP public key"),
    "empty": (lambda g: "", "Paste your public key"),
    "truncated": (_truncated, "not a valid OpenPGP public key"),
    "oversized": (lambda g: "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" + "A" * 70_000, "64 KB"),
    "secret key": (_secret, "secret (private) key"),
    "sign-only": (_sign_only, "cannot encrypt"),
    "expired": (_expired, "expired on 2020-01-02"),
    "expired encryption subkey": (_expired_encryption_subkey, "expired or revoked"),
    "revoked": (_revoked, "revoked"),
    "two keys": (_two_keys, "contains 2 keys"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_bad_keys_are_refused_with_a_clear_400_and_nothing_stored(api, gnupg, case):
    make, expected = REFUSALS[case]
    response = put(api, make(gnupg))
    assert response.status_code == 400
    message = response.json()["detail"]["armored"]
    assert expected in message
    assert "Stack backtrace" not in message
    assert not OpenPGPKey.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="openpgp_key").exists()


def test_a_refused_upload_leaves_the_previous_key_in_place(api, user, gnupg):
    fpr = gnupg.generate("Analyst <analyst@grid.example>")
    put(api, gnupg.export(fpr))
    assert put(api, _sign_only(gnupg)).status_code == 400
    assert OpenPGPKey.objects.get(user=user).fingerprint == fpr


def test_the_secret_key_is_neither_stored_nor_echoed(api, gnupg):
    secret = _secret(gnupg)
    response = put(api, secret)
    body = response.content.decode()
    assert "PRIVATE KEY BLOCK" not in body
    assert secret.splitlines()[3] not in body


def test_one_key_cannot_belong_to_two_accounts(api, gnupg):
    fpr = gnupg.generate("Shared <analyst@grid.example>")
    openpgp_key_set(actor=(other := UserFactory()), user=other, armored=gnupg.export(fpr))
    response = put(api, gnupg.export(fpr))
    assert response.status_code == 400
    assert "already registered" in response.json()["detail"]["armored"]


# --- Who may change a key.


def test_an_admin_of_the_users_organization_may_set_their_key_and_a_stranger_may_not(user, gnupg):
    membership = MembershipFactory(user=user)
    admin = UserFactory()
    MembershipFactory(user=admin, organization=membership.organization, role=Membership.Role.ADMIN)
    armored = gnupg.export(gnupg.generate("Analyst <analyst@grid.example>"))
    key, _ = openpgp_key_set(actor=admin, user=user, armored=armored)
    assert key.user == user
    with pytest.raises(NotAllowed):
        openpgp_key_remove(actor=UserFactory(), user=user)
    plain_member = MembershipFactory(organization=membership.organization).user
    with pytest.raises(NotAllowed):
        openpgp_key_remove(actor=plain_member, user=user)
    assert OpenPGPKey.objects.filter(user=user).exists()


# --- The page.


def test_the_page_uploads_shows_and_removes_a_key(client, user, gnupg):
    client.force_login(user)
    page = reverse("account-openpgp-key")
    assert client.get(page).status_code == 200
    fpr = gnupg.generate("Analyst <analyst@grid.example>")
    response = client.post(page, {"armored": gnupg.export(fpr)})
    assert response.status_code == 302
    shown = client.get(page).content.decode()
    assert fingerprint_display(fpr) in shown
    assert "Analyst &lt;analyst@grid.example&gt;" in shown
    assert client.post(reverse("account-openpgp-key-remove")).status_code == 302
    assert not OpenPGPKey.objects.filter(user=user).exists()


def test_the_page_accepts_the_exported_file(client, user, gnupg):
    client.force_login(user)
    fpr = gnupg.generate("Analyst <analyst@grid.example>")
    upload = SimpleUploadedFile("key.asc", gnupg.export(fpr).encode(), "application/pgp-keys")
    response = client.post(reverse("account-openpgp-key"), {"key_file": upload})
    assert response.status_code == 302
    assert OpenPGPKey.objects.get(user=user).fingerprint == fpr


def test_the_page_shows_why_a_key_was_refused(client, user, gnupg):
    client.force_login(user)
    response = client.post(reverse("account-openpgp-key"), {"armored": _secret(gnupg)})
    assert response.status_code == 400
    assert "secret (private) key" in response.content.decode()
    assert "PRIVATE KEY BLOCK" not in response.content.decode()  # not echoed back
    assert not OpenPGPKey.objects.exists()


def test_the_page_needs_a_login(db, client):
    response = client.get(reverse("account-openpgp-key"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
