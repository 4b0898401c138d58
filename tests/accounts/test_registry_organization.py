"""An organization's admins keep its profile, contacts and subscriptions; who may see what."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.contacts import membership_remove, membership_update
from accounts.models import Membership, Organization
from accounts.registry import organization_update, subscription_add, subscription_remove
from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Subscription
from tests.factories import MembershipFactory, UserFactory

Role = Membership.Role


def _membership(user, org) -> Membership:
    return Membership.objects.get(user=user, organization=org)


# --- Profile.


def test_an_admin_changes_the_profile_and_the_change_is_audited(world, defender_admin):
    org = organization_update(
        actor=defender_admin,
        organization=world.defender,
        sectors=["energy", "water"],
        country="de",
        website="https://grid.example",
        description="Grid operators' ISAC.",
        requires_encryption=True,
    )
    org.refresh_from_db()
    assert sorted(org.sectors.values_list("slug", flat=True)) == ["energy", "water"]
    assert (str(org.country), org.website, org.requires_encryption) == (
        "DE",
        "https://grid.example",
        True,
    )
    event = AuditEvent.objects.get(action="organization.updated")
    assert event.actor == defender_admin
    assert event.data["requires_encryption"] == {"from": "False", "to": "True"}
    assert event.data["sectors"] == {"from": [], "to": ["energy", "water"]}


def test_an_unchanged_profile_writes_no_audit_event(world, defender_admin):
    organization_update(actor=defender_admin, organization=world.defender, website="")
    assert not AuditEvent.objects.filter(action="organization.updated").exists()


@pytest.mark.parametrize("who", ["defender_user", "coordinator", "other_defender_user"])
def test_only_its_admins_change_the_profile(world, who):
    with pytest.raises(NotAllowed):
        organization_update(
            actor=getattr(world, who), organization=world.defender, requires_encryption=True
        )
    assert not Organization.objects.get(pk=world.defender.pk).requires_encryption


def test_bad_profile_input_changes_nothing(world, defender_admin):
    with pytest.raises(ValidationFailed) as refusal:
        organization_update(
            actor=defender_admin,
            organization=world.defender,
            sectors=["energy"],
            country="Narnia",
            requires_encryption="yes",
        )
    assert set(refusal.value.detail) == {"country", "requires_encryption"}
    assert not world.defender.sectors.exists()
    with pytest.raises(ValidationFailed) as refusal:
        organization_update(actor=defender_admin, organization=world.defender, status="verified")
    assert "status" in refusal.value.detail


# --- Contacts.


def test_an_admin_changes_a_members_role_and_contact_role(world, defender_admin):
    membership = membership_update(
        actor=defender_admin,
        membership=_membership(world.defender_user, world.defender),
        role="admin",
        contact_role="security",
    )
    assert (membership.role, membership.contact_role) == ("admin", "security")
    event = AuditEvent.objects.get(action="membership.updated")
    assert (event.data["role_from"], event.data["role_to"]) == ("member", "admin")


def test_the_last_admin_cannot_be_demoted_or_removed(world, defender_admin):
    mine = _membership(defender_admin, world.defender)
    with pytest.raises(Conflict) as refusal:
        membership_update(actor=defender_admin, membership=mine, role="member")
    assert "last admin" in refusal.value.detail["role"]
    with pytest.raises(Conflict) as refusal:
        membership_remove(actor=defender_admin, membership=mine)
    assert "last admin" in refusal.value.detail
    mine.refresh_from_db()
    assert mine.role == "admin"
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


def test_a_deactivated_admin_does_not_count_as_another_admin(world, defender_admin):
    gone = UserFactory(is_active=False)
    MembershipFactory(user=gone, organization=world.defender, role=Role.ADMIN)
    with pytest.raises(Conflict):
        membership_remove(
            actor=defender_admin, membership=_membership(defender_admin, world.defender)
        )


def test_with_a_second_admin_the_first_may_leave(world, defender_admin):
    membership_update(
        actor=defender_admin,
        membership=_membership(world.defender_user, world.defender),
        role="admin",
    )
    membership_remove(actor=defender_admin, membership=_membership(defender_admin, world.defender))
    assert not Membership.objects.filter(user=defender_admin).exists()
    assert defender_admin.__class__.objects.filter(pk=defender_admin.pk).exists()  # account stays
    assert AuditEvent.objects.get(action="membership.removed").data["email"] == defender_admin.email


@pytest.mark.parametrize("who", ["defender_user", "coordinator"])
def test_only_admins_manage_contacts(world, defender_admin, who):
    membership = _membership(world.defender_user, world.defender)
    with pytest.raises(NotAllowed):
        membership_update(actor=getattr(world, who), membership=membership, contact_role="primary")
    with pytest.raises(NotAllowed):
        membership_remove(actor=getattr(world, who), membership=membership)
    membership.refresh_from_db()
    assert membership.contact_role == ""


# --- Subscriptions.


def test_subscribing_and_unsubscribing(world, defender_admin):
    subscription = subscription_add(
        actor=defender_admin,
        organization=world.defender,
        category="openai-pf-v2:cybersecurity",
        min_risk_level="high",
    )
    assert (subscription.category.key, subscription.min_risk_level) == (
        "openai-pf-v2:cybersecurity",
        "high",
    )
    with pytest.raises(Conflict):
        subscription_add(
            actor=defender_admin,
            organization=world.defender,
            category="openai-pf-v2:cybersecurity",
            min_risk_level="low",
        )
    subscription_remove(actor=defender_admin, subscription=subscription)
    assert not Subscription.objects.exists()
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["subscription.added", "subscription.removed"]


def test_bad_subscriptions_are_refused(world, defender_admin):
    with pytest.raises(ValidationFailed) as refusal:
        subscription_add(
            actor=defender_admin,
            organization=world.defender,
            category="nope:nothing",
            min_risk_level="extreme",
        )
    assert set(refusal.value.detail) == {"category", "min_risk_level"}
    with pytest.raises(NotAllowed):
        subscription_add(
            actor=world.defender_user,
            organization=world.defender,
            category="openai-pf-v2:cybersecurity",
            min_risk_level="high",
        )
    assert not Subscription.objects.exists()


# --- The API.


def test_profile_by_api(world, defender_admin, api):
    client = api(defender_admin)
    body = client.get("/api/organizations/grid-isac/").json()
    assert (body["slug"], body["status"], body["kind"]) == ("grid-isac", "verified", "defender")
    response = client.patch(
        "/api/organizations/grid-isac/",
        {"sectors": ["energy"], "country": "FR", "requires_encryption": True},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["sectors"], body["country"], body["country_name"]) == (["energy"], "FR", "France")
    assert body["requires_encryption"] is True
    bad = client.patch("/api/organizations/grid-isac/", {"status": "verified"}, format="json")
    assert bad.status_code == 400
    assert "status" in bad.json()["detail"]


def test_contacts_by_api(world, defender_admin, api):
    client = api(defender_admin)
    rows = client.get("/api/organizations/grid-isac/contacts/").json()
    assert [(r["email"], r["role"]) for r in rows] == [
        ("admin@grid.example", "admin"),
        ("analyst@grid.example", "member"),
    ]
    member = rows[1]["id"]
    url = f"/api/organizations/grid-isac/contacts/{member}/"
    response = client.patch(url, {"contact_role": "primary"}, format="json")
    assert (response.status_code, response.json()["contact_role"]) == (200, "primary")
    bad = client.patch(url, {"role": "owner"}, format="json")
    assert bad.status_code == 400
    last = client.delete(f"/api/organizations/grid-isac/contacts/{rows[0]['id']}/")
    assert last.status_code == 409
    assert client.delete(url).status_code == 204
    assert not Membership.objects.filter(user=world.defender_user).exists()


def test_a_member_of_another_org_is_a_404_on_contacts(world, defender_admin, api):
    other = Membership.objects.get(user=world.other_defender_user)
    response = api(defender_admin).delete(f"/api/organizations/grid-isac/contacts/{other.pk}/")
    assert response.status_code == 404
    assert Membership.objects.filter(pk=other.pk).exists()


def test_subscriptions_by_api(world, defender_admin, api):
    client = api(defender_admin)
    url = "/api/organizations/grid-isac/subscriptions/"
    response = client.post(
        url, {"category": "openai-pf-v2:cybersecurity", "min_risk_level": "critical"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["category"] == "openai-pf-v2:cybersecurity"
    again = client.post(url, {"category": "openai-pf-v2:cybersecurity"}, format="json")
    assert again.status_code == 409
    bad = client.post(url, {"category": "nope"}, format="json")
    assert (bad.status_code, "category" in bad.json()["detail"]) == (400, True)
    (row,) = client.get(url).json()
    assert client.delete(f"{url}{row['id']}/").status_code == 204
    assert client.get(url).json() == []


# --- Who may see and do what: every endpoint, every role.

ENDPOINTS = [
    ("get", ""),
    ("patch", ""),
    ("get", "contacts/"),
    ("get", "invitations/"),
    ("post", "invitations/"),
    ("get", "subscriptions/"),
    ("post", "subscriptions/"),
]
# Coordinators read and invite; plain members are refused; outsiders see nothing.
EXPECTED = {
    "defender_admin": {"get": 200, "patch": 200, "post": None},
    "coordinator": {"get": 200, "patch": 403, "post:invitations/": 201, "post": 403},
    "defender_user": {"get": 403, "patch": 403, "post": 403},
    "other_defender_user": {"get": 404, "patch": 404, "post": 404},
    "lab_user": {"get": 404, "patch": 404, "post": 404},
    "anonymous": {"get": 401, "patch": 401, "post": 401},
}
BODIES = {
    "": {"description": "New words."},
    "invitations/": {"email": "someone@grid.example"},
    "subscriptions/": {"category": "openai-pf-v2:cybersecurity"},
}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("who", list(EXPECTED))
def test_access_matrix(world, defender_admin, api, who, method, path):
    user = (
        None
        if who == "anonymous"
        else defender_admin
        if who == "defender_admin"
        else getattr(world, who)
    )
    expected = EXPECTED[who].get(f"{method}:{path}", EXPECTED[who][method])
    if expected is None:
        expected = 201
    client = api(user)
    response = getattr(client, method)(
        f"/api/organizations/grid-isac/{path}", BODIES.get(path, {}), format="json"
    )
    assert response.status_code == expected, response.content
    if expected == 404:
        assert response.json() == {"detail": "Not found."}  # the same as no such organization
        missing = getattr(client, method)(
            f"/api/organizations/no-such-org/{path}", BODIES.get(path, {}), format="json"
        )
        assert (missing.status_code, missing.json()) == (404, response.json())


# --- The page.


def test_the_org_page_shows_everything_to_its_admin(client, world, defender_admin):
    subscription_add(
        actor=defender_admin,
        organization=world.defender,
        category="openai-pf-v2:cybersecurity",
        min_risk_level="high",
    )
    client.force_login(defender_admin)
    response = client.get(reverse("my-organization"))
    assert response.url == reverse("organization-detail", args=["grid-isac"])
    body = client.get(response.url).content.decode()
    for text in (
        "Grid ISAC",
        "analyst@grid.example",
        "Save profile",
        "Send invitation",
        "Subscribe",
        'id="keys-and-endpoints"',
        "Cybersecurity",
    ):
        assert text in body, text
    assert reverse("my-organization") in body  # the nav link


def test_a_coordinator_reads_the_page_without_management_forms(client, world):
    client.force_login(world.coordinator)
    body = client.get(reverse("organization-detail", args=["grid-isac"])).content.decode()
    assert "analyst@grid.example" in body
    assert "Save profile" not in body
    assert "Send invitation" in body  # coordinators invite
    assert "Suspend" in body


@pytest.mark.parametrize(("who", "status"), [("defender_user", 403), ("other_defender_user", 404)])
def test_others_may_not_see_the_org_page(client, world, who, status):
    client.force_login(getattr(world, who))
    assert client.get(reverse("organization-detail", args=["grid-isac"])).status_code == status
    assert client.get(reverse("my-organization")).status_code == 404


def test_the_profile_form_saves(client, world, defender_admin):
    client.force_login(defender_admin)
    url = reverse("organization-profile", args=["grid-isac"])
    response = client.post(
        url,
        {"sectors": ["energy"], "country": "DE", "website": "", "description": "ISAC."},
    )
    assert response.status_code == 302
    org = Organization.objects.get(slug="grid-isac")
    assert (str(org.country), org.description, org.requires_encryption) == ("DE", "ISAC.", False)
    bad = client.post(url, {"sectors": [], "country": "", "description": ""})
    assert bad.status_code == 400


def test_contact_role_and_removal_on_the_page(client, world, defender_admin):
    client.force_login(defender_admin)
    member = _membership(world.defender_user, world.defender)
    mine = _membership(defender_admin, world.defender)
    response = client.post(
        reverse("organization-contact-update", args=["grid-isac", member.pk]),
        {"role": "member", "contact_role": "security"},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.contact_role == "security"
    demote = client.post(
        reverse("organization-contact-update", args=["grid-isac", mine.pk]),
        {"role": "member", "contact_role": ""},
    )
    assert demote.status_code == 409
    assert "last admin" in demote.content.decode()
    remove = client.post(reverse("organization-contact-remove", args=["grid-isac", mine.pk]))
    assert remove.status_code == 409
    assert (
        client.post(
            reverse("organization-contact-remove", args=["grid-isac", member.pk])
        ).status_code
        == 302
    )
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_subscriptions_on_the_page(client, world, defender_admin):
    client.force_login(defender_admin)
    url = reverse("organization-subscription-add", args=["grid-isac"])
    body = {"category": "openai-pf-v2:cybersecurity", "min_risk_level": "high"}
    assert client.post(url, body).status_code == 302
    assert client.post(url, body).status_code == 409
    row = Subscription.objects.get()
    remove = reverse("organization-subscription-remove", args=["grid-isac", row.pk])
    assert client.post(remove).status_code == 302
    assert not Subscription.objects.exists()


def test_a_plain_member_cannot_post_to_the_page(client, world):
    client.force_login(world.defender_user)
    url = reverse("organization-subscription-add", args=["grid-isac"])
    assert client.post(url, {"category": "openai-pf-v2:cybersecurity"}).status_code == 403
    assert not Subscription.objects.exists()


def test_only_defender_organizations_subscribe(world):
    admin = UserFactory()
    MembershipFactory(user=admin, organization=world.lab, role=Role.ADMIN)
    with pytest.raises(Conflict):
        subscription_add(
            actor=admin,
            organization=world.lab,
            category="openai-pf-v2:cybersecurity",
            min_risk_level="high",
        )
    assert not Subscription.objects.exists()
