"""Invitations: emailed one-time links that prove the address and make the person a member."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.contacts import (
    InvitationUnusable,
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
)
from accounts.models import Invitation, Membership, Organization, User
from accounts.registry import organization_apply, organization_reject
from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent
from tests.factories import OrganizationFactory, UserFactory
from tests.factories.accounts import PASSWORD

from .conftest import application_data, tokens_mailed_to

NEW_PASSWORD = "quiet-harbour-lantern-42"


def _invite(mailed, actor, org, email="new@grid.example", **kwargs):
    invitation = mailed(invitation_create, actor=actor, organization=org, email=email, **kwargs)
    return invitation, tokens_mailed_to(email.strip().lower())[-1]


def _accept_url(token: str) -> str:
    return reverse("invitation-accept", args=[token])


# --- Creating.


def test_an_admin_invites_a_contact_with_a_role_and_contact_role(world, defender_admin, mailed):
    invitation, token = _invite(
        mailed,
        defender_admin,
        world.defender,
        "  New@Grid.example ",
        role="admin",
        contact_role="security",
    )
    assert (invitation.email, invitation.role, invitation.contact_role) == (
        "new@grid.example",
        "admin",
        "security",
    )
    assert invitation.invited_by == defender_admin
    (message,) = mail.outbox
    assert message.to == ["new@grid.example"]
    assert "Grid ISAC" in message.subject
    assert "Grid Admin invites you" in message.body
    assert "UTC" in message.body
    assert Invitation.objects.get(token_hash__isnull=False).token_hash != token
    assert AuditEvent.objects.get(action="invitation.created").data["email"] == "new@grid.example"


@override_settings(INVITATION_MAX_AGE_HOURS=5)
def test_the_link_expires_after_the_configured_hours(world, defender_admin, mailed):
    invitation, _ = _invite(mailed, defender_admin, world.defender)
    lifetime = invitation.expires_at - invitation.created_at
    assert timedelta(hours=4, minutes=59) < lifetime <= timedelta(hours=5)


def test_a_coordinator_may_invite_to_any_organization(world, mailed):
    invitation, _ = _invite(mailed, world.coordinator, world.defender, role="admin")
    assert invitation.invited_by == world.coordinator


@pytest.mark.parametrize("who", ["defender_user", "other_defender_user", "lab_user"])
def test_members_who_are_not_admins_and_outsiders_may_not_invite(world, who):
    with pytest.raises(NotAllowed):
        invitation_create(
            actor=getattr(world, who), organization=world.defender, email="x@y.example"
        )
    assert not Invitation.objects.exists()


def test_inviting_a_member_again_is_a_409(world, defender_admin):
    with pytest.raises(Conflict) as refusal:
        invitation_create(
            actor=defender_admin, organization=world.defender, email="ANALYST@grid.example"
        )
    assert "member of Grid ISAC already" in refusal.value.detail["email"]
    assert not Invitation.objects.exists()


def test_a_second_open_invitation_to_the_same_address_is_a_409(world, defender_admin, mailed):
    _invite(mailed, defender_admin, world.defender)
    with pytest.raises(Conflict) as refusal:
        invitation_create(
            actor=defender_admin, organization=world.defender, email="new@grid.example"
        )
    assert "open already" in refusal.value.detail["email"]
    assert Invitation.objects.count() == 1


def test_an_expired_invitation_does_not_block_a_new_one(world, defender_admin, mailed):
    old, _ = _invite(mailed, defender_admin, world.defender)
    Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    new, _ = _invite(mailed, defender_admin, world.defender)
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert new.pk != old.pk


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not an address"), ("email", ""), ("role", "owner"), ("contact_role", "boss")],
)
def test_bad_invitation_input_names_the_field(world, defender_admin, field, value):
    kwargs = {"email": "x@grid.example", field: value}
    with pytest.raises(ValidationFailed) as refusal:
        invitation_create(actor=defender_admin, organization=world.defender, **kwargs)
    assert field in refusal.value.detail
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("status", [Organization.Status.REJECTED, Organization.Status.SUSPENDED])
def test_nobody_is_invited_to_a_rejected_or_suspended_organization(world, status):
    org = OrganizationFactory(status=status)
    with pytest.raises(Conflict):
        invitation_create(actor=world.coordinator, organization=org, email="x@y.example")


# --- Accepting.


def test_a_new_person_sets_name_and_password_and_becomes_a_verified_member(
    world, defender_admin, mailed
):
    _, token = _invite(mailed, defender_admin, world.defender, contact_role="backup")
    membership = invitation_accept(
        user=None, token=token, full_name="Nia Okoro", password=NEW_PASSWORD
    )
    user = membership.user
    assert (user.email, user.full_name) == ("new@grid.example", "Nia Okoro")
    assert user.check_password(NEW_PASSWORD)
    assert user.email_verified_at is not None
    assert (membership.organization, membership.role, membership.contact_role) == (
        world.defender,
        "member",
        "backup",
    )
    invitation = Invitation.objects.get()
    assert (invitation.accepted_by, invitation.accepted_at is not None) == (user, True)
    event = AuditEvent.objects.get(action="invitation.accepted")
    assert (event.actor, event.data["new_account"]) == (user, True)


def test_django_password_validators_apply_and_nothing_is_written(world, defender_admin, mailed):
    _, token = _invite(mailed, defender_admin, world.defender)
    for weak in ("short", "12345678901234", "password12345", "new@grid.example"):
        with pytest.raises(ValidationFailed) as refusal:
            invitation_accept(user=None, token=token, full_name="Nia", password=weak)
        assert "password" in refusal.value.detail
    assert not User.objects.filter(email="new@grid.example").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_existing_user_must_be_logged_in_as_themselves(world, defender_admin, mailed):
    other_user = world.other_defender_user
    _, token = _invite(mailed, defender_admin, world.defender, email=other_user.email)
    with pytest.raises(NotAllowed):
        invitation_accept(user=None, token=token)
    with pytest.raises(NotAllowed):
        invitation_accept(user=world.lab_user, token=token)
    membership = invitation_accept(user=other_user, token=token)
    assert membership.user == other_user
    other_user.refresh_from_db()
    assert other_user.email_verified_at is not None
    # Their password is untouched.
    assert other_user.check_password(PASSWORD)


def test_someone_logged_in_cannot_take_an_invitation_for_a_new_address(
    world, defender_admin, mailed
):
    _, token = _invite(mailed, defender_admin, world.defender)
    with pytest.raises(NotAllowed):
        invitation_accept(user=world.lab_user, token=token, full_name="X", password=NEW_PASSWORD)
    assert not User.objects.filter(email="new@grid.example").exists()


def test_a_used_link_is_refused_the_second_time(world, defender_admin, mailed):
    _, token = _invite(mailed, defender_admin, world.defender)
    invitation_accept(user=None, token=token, full_name="Nia", password=NEW_PASSWORD)
    with pytest.raises(InvitationUnusable) as refusal:
        invitation_accept(user=None, token=token, full_name="Mallory", password=NEW_PASSWORD)
    assert refusal.value.status_code == 410
    assert "used already" in refusal.value.detail
    assert Membership.objects.filter(user__email="new@grid.example").count() == 1


def test_an_expired_link_is_refused(world, defender_admin, mailed):
    invitation, token = _invite(mailed, defender_admin, world.defender)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    with pytest.raises(InvitationUnusable) as refusal:
        invitation_accept(user=None, token=token, full_name="Nia", password=NEW_PASSWORD)
    assert (refusal.value.status_code, "expired" in refusal.value.detail) == (410, True)
    assert not User.objects.filter(email="new@grid.example").exists()


def test_a_revoked_link_is_refused(world, defender_admin, mailed):
    invitation, token = _invite(mailed, defender_admin, world.defender)
    invitation_revoke(actor=defender_admin, invitation=invitation)
    with pytest.raises(InvitationUnusable) as refusal:
        invitation_accept(user=None, token=token, full_name="Nia", password=NEW_PASSWORD)
    assert "withdrawn" in refusal.value.detail
    assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1


def test_an_unknown_link_is_a_404(db):
    with pytest.raises(InvitationUnusable) as refusal:
        invitation_accept(user=None, token="made-up", full_name="X", password=NEW_PASSWORD)
    assert refusal.value.status_code == 404


def test_the_links_of_a_rejected_application_stop_working(world, mailed):
    org = mailed(organization_apply, actor=None, **application_data())
    (token,) = tokens_mailed_to("ines@harbour-water.example")
    organization_reject(actor=world.coordinator, organization=org, reason="No.")
    with pytest.raises(InvitationUnusable):
        invitation_accept(user=None, token=token, full_name="Ines", password=NEW_PASSWORD)


def test_someone_made_a_member_meanwhile_gets_a_409(world, defender_admin, mailed):
    outsider = UserFactory(email="late@grid.example")
    _, token = _invite(mailed, defender_admin, world.defender, email=outsider.email)
    Membership.objects.create(user=outsider, organization=world.defender)
    with pytest.raises(Conflict):
        invitation_accept(user=outsider, token=token)
    assert Invitation.objects.get().accepted_at is None


# --- Revoking and resending.


def test_resending_sends_a_new_link_and_the_old_one_stops_working(world, defender_admin, mailed):
    invitation, old = _invite(mailed, defender_admin, world.defender)
    fresh = mailed(invitation_resend, actor=world.coordinator, invitation=invitation)
    new = tokens_mailed_to("new@grid.example")[-1]
    assert new != old and fresh.pk != invitation.pk
    with pytest.raises(InvitationUnusable):
        invitation_accept(user=None, token=old, full_name="Nia", password=NEW_PASSWORD)
    assert invitation_accept(user=None, token=new, full_name="Nia", password=NEW_PASSWORD)


def test_an_accepted_invitation_cannot_be_revoked(world, defender_admin, mailed):
    invitation, token = _invite(mailed, defender_admin, world.defender)
    invitation_accept(user=None, token=token, full_name="Nia", password=NEW_PASSWORD)
    invitation.refresh_from_db()
    with pytest.raises(Conflict):
        invitation_revoke(actor=defender_admin, invitation=invitation)


def test_a_plain_member_may_not_revoke(world, defender_admin, mailed):
    invitation, _ = _invite(mailed, defender_admin, world.defender)
    with pytest.raises(NotAllowed):
        invitation_revoke(actor=world.defender_user, invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


# --- The API.


def test_invitations_by_api(world, defender_admin, api, mailed):
    client = api(defender_admin)
    url = "/api/organizations/grid-isac/invitations/"
    response = mailed(
        client.post, url, {"email": "new@grid.example", "contact_role": "primary"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["role"], body["invited_by"]) == (
        "open",
        "member",
        "admin@grid.example",
    )
    assert "token" not in str(body).lower()
    again = client.post(url, {"email": "new@grid.example"}, format="json")
    assert again.status_code == 409
    member = client.post(url, {"email": world.defender_user.email}, format="json")
    assert member.status_code == 409
    assert "email" in member.json()["detail"]
    listed = client.get(url).json()
    assert [i["email"] for i in listed] == ["new@grid.example"]
    pk = listed[0]["id"]
    resent = mailed(client.post, f"{url}{pk}/resend/")
    assert resent.status_code == 201
    revoked = client.post(f"{url}{resent.json()['id']}/revoke/")
    assert revoked.status_code == 200
    assert client.get(url).json() == []


def test_invitation_api_refusals(world, defender_admin, api):
    url = "/api/organizations/grid-isac/invitations/"
    assert api(world.defender_user).get(url).status_code == 403
    assert api(world.defender_user).post(url, {"email": "a@b.example"}).status_code == 403
    assert api(world.other_defender_user).get(url).status_code == 404
    assert api(None).get(url).status_code == 401
    bad = api(defender_admin).post(url, {"email": "a@b.example", "role": "owner"}, format="json")
    assert (bad.status_code, "role" in bad.json()["detail"]) == (400, True)
    assert not Invitation.objects.exists()


# --- The pages.


def test_following_the_link_a_new_person_sets_a_password_and_is_logged_in(
    client, world, defender_admin, mailed
):
    _, token = _invite(mailed, defender_admin, world.defender, role="admin")
    page = client.get(_accept_url(token))
    assert page.status_code == 200
    assert "Choose a password" in page.content.decode()
    response = client.post(
        _accept_url(token),
        {"full_name": "Nia Okoro", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response.url == reverse("organization-detail", args=["grid-isac"])
    user = User.objects.get(email="new@grid.example")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(response.url).status_code == 200


def test_following_a_link_does_not_use_it_up(client, world, defender_admin, mailed):
    _, token = _invite(mailed, defender_admin, world.defender)
    assert client.get(_accept_url(token)).status_code == 200
    assert client.get(_accept_url(token)).status_code == 200  # a mail scanner's visit is harmless
    assert Invitation.objects.get().accepted_at is None


def test_a_weak_password_on_the_page_is_a_400_on_the_field(client, world, defender_admin, mailed):
    _, token = _invite(mailed, defender_admin, world.defender)
    response = client.post(
        _accept_url(token), {"full_name": "Nia", "password": "short", "password_again": "short"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["password"]
    mismatch = client.post(
        _accept_url(token),
        {"full_name": "Nia", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "x"},
    )
    assert mismatch.status_code == 400
    assert not User.objects.filter(email="new@grid.example").exists()


@pytest.mark.parametrize(
    ("spoil", "status", "text"),
    [
        ("used", 410, "used already"),
        ("expired", 410, "expired"),
        ("revoked", 410, "withdrawn"),
        ("unknown", 404, "not valid"),
    ],
)
def test_a_spoilt_link_shows_a_clear_page(
    client, world, defender_admin, mailed, spoil, status, text
):
    invitation, token = _invite(mailed, defender_admin, world.defender)
    if spoil == "used":
        invitation_accept(user=None, token=token, full_name="Nia", password=NEW_PASSWORD)
    elif spoil == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    elif spoil == "revoked":
        invitation_revoke(actor=defender_admin, invitation=invitation)
    else:
        token = "x" * 43
    for response in (client.get(_accept_url(token)), client.post(_accept_url(token), {})):
        assert response.status_code == status
        assert text in response.content.decode()


def test_an_existing_user_is_sent_to_log_in_and_then_confirms(
    client, world, defender_admin, mailed
):
    other = world.other_defender_user
    _, token = _invite(mailed, defender_admin, world.defender, email=other.email)
    page = client.get(_accept_url(token)).content.decode()
    assert "Log in to accept" in page
    assert client.post(_accept_url(token), {}).status_code == 403
    client.force_login(other)
    assert client.post(_accept_url(token), {}).status_code == 302
    assert Membership.objects.filter(user=other, organization=world.defender).exists()


def test_the_wrong_user_is_told_to_log_out(client, world, defender_admin, mailed):
    _, token = _invite(mailed, defender_admin, world.defender)
    client.force_login(world.lab_user)
    response = client.get(_accept_url(token))
    assert response.status_code == 403
    assert "Log out" in response.content.decode()
    assert client.post(_accept_url(token), {}).status_code == 403
    assert not Membership.objects.filter(
        organization=world.defender, user__email="new@grid.example"
    ).exists()


def test_the_org_page_invites_revokes_and_resends(client, world, defender_admin, mailed):
    client.force_login(defender_admin)
    url = reverse("organization-invite", args=["grid-isac"])
    response = mailed(client.post, url, {"email": "new@grid.example", "role": "member"})
    assert response.status_code == 302
    duplicate = client.post(url, {"email": "new@grid.example", "role": "member"})
    assert duplicate.status_code == 409
    assert "open already" in duplicate.context["forms"]["invite"].errors["email"][0]
    invitation = Invitation.objects.get()
    response = mailed(
        client.post, reverse("organization-invitation-resend", args=["grid-isac", invitation.pk])
    )
    assert response.status_code == 302
    fresh = Invitation.objects.get(revoked_at__isnull=True)
    response = client.post(reverse("organization-invitation-revoke", args=["grid-isac", fresh.pk]))
    assert response.status_code == 302
    assert not Invitation.objects.filter(revoked_at__isnull=True).exists()
    assert len(tokens_mailed_to("new@grid.example")) == 2


def test_a_failure_while_joining_leaves_no_account_behind(
    world, defender_admin, mailed, monkeypatch
):
    _, token = _invite(mailed, defender_admin, world.defender)

    def fail(**kwargs: object) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(Membership.objects, "create", fail)
    with pytest.raises(RuntimeError):
        invitation_accept(user=None, token=token, full_name="Nia", password=NEW_PASSWORD)
    assert not User.objects.filter(email="new@grid.example").exists()
    assert Invitation.objects.get().accepted_at is None
