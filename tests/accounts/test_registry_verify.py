"""Coordinators verify, reject and suspend organizations; only verified ones can be notified."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Organization
from accounts.registry import (
    organization_apply,
    organization_reject,
    organization_suspend,
    organization_verify,
)
from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, FindingRecipient
from tests.disclosure.api.conftest import accept_body, finding_url
from tests.factories import OrganizationFactory

from .conftest import application_data

Status = Organization.Status


@pytest.fixture
def applied(db) -> Organization:
    return organization_apply(actor=None, **application_data())


# --- The services.


def test_a_coordinator_verifies_an_application(world, applied, mailed):
    org = mailed(organization_verify, actor=world.coordinator, organization=applied)
    org.refresh_from_db()
    assert org.is_verified
    assert (org.verified_by, org.status_reason) == (world.coordinator, "")
    assert org.verified_at is not None
    event = AuditEvent.objects.get(action="organization.verified")
    assert (event.actor, event.from_state, event.to_state) == (
        world.coordinator,
        "applied",
        "verified",
    )
    assert event.data["organization"] == org.pk
    # Nobody has joined yet, so the applicant's address hears of it.
    (message,) = mail.outbox
    assert message.to == ["ines@harbour-water.example"]
    assert "is verified" in message.subject


def test_a_rejection_needs_a_reason_and_keeps_it(world, applied, mailed):
    with pytest.raises(ValidationFailed) as refusal:
        organization_reject(actor=world.coordinator, organization=applied, reason="  ")
    assert "reason" in refusal.value.detail
    applied.refresh_from_db()
    assert applied.status == Status.APPLIED

    org = mailed(
        organization_reject, actor=world.coordinator, organization=applied, reason="Not a defender."
    )
    assert (org.status, org.status_reason) == (Status.REJECTED, "Not a defender.")
    event = AuditEvent.objects.get(action="organization.rejected")
    assert (event.note, event.from_state) == ("Not a defender.", "applied")
    assert "Not a defender." in mail.outbox[-1].body


def test_a_verified_organization_can_be_suspended_and_verified_again(world):
    org = organization_suspend(
        actor=world.coordinator, organization=world.defender, reason="Contact address bounces."
    )
    assert (org.status, org.is_verified) == (Status.SUSPENDED, False)
    org = organization_verify(actor=world.coordinator, organization=org)
    assert (org.status, org.status_reason) == (Status.VERIFIED, "")


@pytest.mark.parametrize(
    ("status", "decision"),
    [
        (Status.VERIFIED, "verify"),
        (Status.VERIFIED, "reject"),
        (Status.APPLIED, "suspend"),
        (Status.REJECTED, "suspend"),
        (Status.SUSPENDED, "reject"),
    ],
)
def test_a_decision_the_status_does_not_allow_is_a_409(world, status, decision):
    org = OrganizationFactory(status=status)
    decide = {
        "verify": lambda: organization_verify(actor=world.coordinator, organization=org),
        "reject": lambda: organization_reject(
            actor=world.coordinator, organization=org, reason="r"
        ),
        "suspend": lambda: organization_suspend(
            actor=world.coordinator, organization=org, reason="r"
        ),
    }[decision]
    with pytest.raises(Conflict):
        decide()
    org.refresh_from_db()
    assert org.status == status
    assert not AuditEvent.objects.filter(action__startswith="organization.").exists()


@pytest.mark.parametrize("who", ["defender_user", "lab_user", "other_defender_user"])
def test_only_coordinators_decide(world, applied, who):
    with pytest.raises(NotAllowed):
        organization_verify(actor=getattr(world, who), organization=applied)
    applied.refresh_from_db()
    assert applied.status == Status.APPLIED


# --- The API.


def test_coordinators_list_applications_first_with_the_applicant(world, applied, api):
    response = api(world.coordinator).get("/api/applications/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert rows[0]["slug"] == applied.slug
    assert rows[0]["status"] == "applied"
    assert rows[0]["applicant"]["email"] == "ines@harbour-water.example"
    assert rows[0]["sectors"] == ["emergency-services", "water"]
    assert {r["slug"] for r in rows} == {applied.slug, "grid-isac", "water-cert"}  # defenders only
    only = api(world.coordinator).get("/api/applications/?status=applied").json()["results"]
    assert [r["slug"] for r in only] == [applied.slug]


def test_an_unknown_status_filter_is_a_400(world, api):
    response = api(world.coordinator).get("/api/applications/?status=pending")
    assert response.status_code == 400
    assert "applied" in response.json()["detail"]["status"]


@pytest.mark.parametrize("who", ["defender_user", "lab_user"])
def test_others_may_not_list_applications(world, api, who):
    assert api(getattr(world, who)).get("/api/applications/").status_code == 403
    assert api(None).get("/api/applications/").status_code == 401


def test_verify_reject_and_suspend_by_api(world, applied, api):
    client = api(world.coordinator)
    response = client.post(f"/api/organizations/{applied.slug}/verify/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "verified"
    response = client.post(f"/api/organizations/{applied.slug}/suspend/", {}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["detail"]
    response = client.post(
        f"/api/organizations/{applied.slug}/suspend/", {"reason": "Audit"}, format="json"
    )
    assert (response.status_code, response.json()["status_reason"]) == (200, "Audit")
    response = client.post(
        f"/api/organizations/{applied.slug}/reject/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 409


def test_a_non_coordinator_gets_a_404_for_another_org_and_a_403_for_their_own(
    world, applied, api, defender_admin
):
    outsider = api(world.other_defender_user)
    assert outsider.post(f"/api/organizations/{applied.slug}/verify/").status_code == 404
    own = api(defender_admin).post("/api/organizations/grid-isac/suspend/", {"reason": "x"})
    assert own.status_code == 403
    applied.refresh_from_db()
    assert applied.status == Status.APPLIED
    assert Organization.objects.get(slug="grid-isac").status == Status.VERIFIED


# --- Only verified organizations can be chosen as a finding's audience.


@pytest.mark.parametrize("status", [Status.APPLIED, Status.REJECTED, Status.SUSPENDED])
def test_accepting_for_an_unverified_organization_is_a_400_naming_it(world, api, status):
    finding = world.submitted()
    OrganizationFactory(name="Pending CERT", slug="pending-cert", status=status)
    response = api(world.coordinator).post(
        finding_url(finding.reference, "accept"),
        accept_body("grid-isac", "pending-cert"),
        format="json",
    )
    assert response.status_code == 400
    message = response.json()["detail"]["defender_organizations"]
    assert "pending-cert" in message
    assert "grid-isac" not in message
    finding.refresh_from_db()
    assert finding.state == "submitted"
    assert not FindingRecipient.objects.filter(finding=finding).exists()


def test_once_verified_the_applicant_can_be_notified(world, applied, api):
    organization_verify(actor=world.coordinator, organization=applied)
    finding = world.submitted()
    response = api(world.coordinator).post(
        finding_url(finding.reference, "accept"), accept_body(applied.slug), format="json"
    )
    assert response.status_code == 200
    assert FindingRecipient.objects.filter(finding=finding, organization=applied).exists()


# --- The pages.


def test_the_review_page_lists_applications_for_coordinators_only(client, world, applied):
    client.force_login(world.coordinator)
    response = client.get(reverse("organization-review"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Harbour Water Authority" in body and "ines@harbour-water.example" in body
    assert reverse("organization-verify", args=[applied.slug]) in body
    client.force_login(world.defender_user)
    assert client.get(reverse("organization-review")).status_code == 404


def test_the_nav_links_coordinators_to_the_review(client, world):
    client.force_login(world.coordinator)
    assert reverse("organization-review") in client.get(reverse("home")).content.decode()
    client.force_login(world.defender_user)
    assert reverse("organization-review") not in client.get(reverse("home")).content.decode()


def test_verifying_from_the_review_page(client, world, applied):
    client.force_login(world.coordinator)
    response = client.post(reverse("organization-verify", args=[applied.slug]))
    assert response.status_code == 302
    applied.refresh_from_db()
    assert applied.is_verified


def test_rejecting_from_the_page_needs_a_reason(client, world, applied):
    client.force_login(world.coordinator)
    url = reverse("organization-reject", args=[applied.slug])
    response = client.post(url, {"reject-reason": ""})
    assert response.status_code == 400
    assert response.context["forms"]["reject"].errors["reason"]
    response = client.post(url, {"reject-reason": "We could not confirm who you are."})
    assert response.status_code == 302
    applied.refresh_from_db()
    assert (applied.status, applied.status_reason) == (
        Status.REJECTED,
        "We could not confirm who you are.",
    )


def test_a_decision_page_post_by_a_non_coordinator_changes_nothing(client, world, defender_admin):
    client.force_login(defender_admin)
    response = client.post(
        reverse("organization-suspend", args=["grid-isac"]), {"suspend-reason": "x"}
    )
    assert response.status_code == 403
    assert Organization.objects.get(slug="grid-isac").is_verified
