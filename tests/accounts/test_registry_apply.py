"""Applying to register a defender organization: by service, API and the public form."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Invitation, Membership, Organization
from accounts.registry import organization_apply
from disclosure.errors import Conflict, ValidationFailed
from disclosure.models import AuditEvent
from tests.factories import OrganizationFactory, UserFactory

from .conftest import application_data, tokens_mailed_to


def _counts() -> tuple[int, int, int]:
    return (Organization.objects.count(), Invitation.objects.count(), AuditEvent.objects.count())


# --- The service.


def test_an_application_makes_an_applied_defender_and_invites_the_applicant(db, mailed):
    org = mailed(organization_apply, actor=None, **application_data())

    assert (org.kind, org.status, org.slug) == ("defender", "applied", "harbour-water-authority")
    assert str(org.country) == "NL"
    assert sorted(org.sectors.values_list("slug", flat=True)) == ["emergency-services", "water"]
    assert not org.is_verified
    invitation = Invitation.objects.get(organization=org)
    assert invitation.email == "ines@harbour-water.example"  # stored in lower case
    assert (invitation.role, invitation.contact_role) == ("admin", "primary")
    assert invitation.invited_by is None
    (message,) = mail.outbox
    assert message.to == ["ines@harbour-water.example"]
    assert "Confirm your address" in message.subject
    (token,) = tokens_mailed_to("ines@harbour-water.example")
    assert invitation.token_hash != token and len(invitation.token_hash) == 64  # only a hash
    event = AuditEvent.objects.get(action="organization.applied")
    assert event.actor is None
    assert event.data["applicant_email"] == "ines@harbour-water.example"
    assert event.data["organization"] == org.pk


def test_the_application_mail_is_not_sent_when_the_transaction_rolls_back(db, mailed):
    from django.db import transaction

    class Boom(Exception):
        pass

    def apply_then_fail() -> None:
        with transaction.atomic():
            organization_apply(actor=None, **application_data())
            raise Boom

    with pytest.raises(Boom):
        mailed(apply_then_fail)
    assert mail.outbox == []
    assert not Organization.objects.filter(name="Harbour Water Authority").exists()


def test_a_duplicate_name_is_a_409_whatever_its_case(db):
    OrganizationFactory(name="Harbour Water Authority", slug="hwa")
    before = _counts()
    with pytest.raises(Conflict) as refusal:
        organization_apply(actor=None, **application_data(name="harbour WATER authority "))
    assert "registered already" in refusal.value.detail["name"]
    assert _counts() == before


def test_a_name_that_slugs_like_another_gets_its_own_slug(db):
    OrganizationFactory(name="Harbour-Water Authority", slug="harbour-water-authority")
    org = organization_apply(actor=None, **application_data())
    assert org.slug == "harbour-water-authority-2"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "  ", "required"),
        ("name", "Evil\r\nBcc: everyone@example.org", "single line"),
        ("applicant_name", "Ines\nde Vries", "single line"),
        ("sectors", [], "at least one sector"),
        ("sectors", ["water", "moon-bases"], "Unknown sectors: moon-bases"),
        ("sectors", "water", "list of sector slugs"),
        ("country", "Atlantis", "ISO 3166"),
        ("website", "javascript:alert(1)", "https://"),
        ("description", "", "required"),
        ("applicant_name", "", "required"),
        ("applicant_email", "not-an-address", "not a valid email"),
    ],
)
def test_bad_application_input_names_the_field_and_writes_nothing(db, field, value, message):
    before = _counts()
    with pytest.raises(ValidationFailed) as refusal:
        organization_apply(actor=None, **application_data(**{field: value}))
    assert message in refusal.value.detail[field]
    assert _counts() == before


def test_every_bad_field_is_named_at_once(db):
    with pytest.raises(ValidationFailed) as refusal:
        organization_apply(actor=None, **application_data(name="", country="", applicant_email="x"))
    assert set(refusal.value.detail) == {"name", "country", "applicant_email"}


# --- The API.


def test_anyone_can_apply_by_api_and_learns_only_what_they_sent(db, api, mailed):
    response = mailed(api(None).post, "/api/applications/", application_data(), format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["slug"], body["status"]) == (
        "Harbour Water Authority",
        "harbour-water-authority",
        "applied",
    )
    assert len(mail.outbox) == 1


def test_the_answer_is_the_same_whether_the_applicant_has_an_account_or_not(db, api):
    UserFactory(email="known@example.org")
    known = api(None).post(
        "/api/applications/",
        application_data(name="A", applicant_email="known@example.org"),
        format="json",
    )
    unknown = api(None).post(
        "/api/applications/",
        application_data(name="B", applicant_email="nobody@example.org"),
        format="json",
    )
    assert known.status_code == unknown.status_code == 201
    strip = lambda body: {k: v for k, v in body.items() if k not in {"name", "slug"}}  # noqa: E731
    assert strip(known.json()) == strip(unknown.json())


def test_a_duplicate_name_by_api_is_a_409_naming_the_field(db, api):
    OrganizationFactory(name="Harbour Water Authority", slug="hwa")
    response = api(None).post("/api/applications/", application_data(), format="json")
    assert response.status_code == 409
    assert "name" in response.json()["detail"]


def test_an_application_by_api_refuses_unknown_fields(db, api):
    body = application_data(status="verified", kind="coordinator")
    response = api(None).post("/api/applications/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"status", "kind"}
    assert not Organization.objects.filter(name="Harbour Water Authority").exists()


def test_bad_input_by_api_is_a_400_naming_each_field(db, api):
    response = api(None).post(
        "/api/applications/", application_data(country="XX", sectors=[]), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"country", "sectors"}


# --- The page.


def _form(**overrides: object) -> dict[str, object]:
    return {**application_data(), "homepage": "", **overrides}


def test_the_form_is_public_and_linked_from_the_login_page(client, db):
    assert reverse("apply") in client.get(reverse("login")).content.decode()
    response = client.get(reverse("apply"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in body
    assert "Register a defender organization" in body


def test_applying_by_the_form_shows_a_thin_confirmation(client, db, mailed):
    response = mailed(client.post, reverse("apply"), _form())
    assert response.status_code == 302
    assert response.url == reverse("apply-done")
    page = client.get(response.url).content.decode()
    assert "Application received" in page
    assert "Harbour" not in page  # the page repeats nothing
    assert Organization.objects.get(name="Harbour Water Authority").status == "applied"
    assert len(mail.outbox) == 1


def test_a_filled_in_honeypot_pretends_success_and_writes_nothing(client, db, mailed):
    before = _counts()
    response = mailed(client.post, reverse("apply"), _form(homepage="http://spam.example"))
    assert response.status_code == 302
    assert response.url == reverse("apply-done")
    assert _counts() == before
    assert mail.outbox == []


def test_a_duplicate_name_on_the_form_is_shown_on_the_name_field(client, db):
    OrganizationFactory(name="Harbour Water Authority", slug="hwa")
    response = client.post(reverse("apply"), _form())
    assert response.status_code == 409
    assert "registered already" in response.context["form"].errors["name"][0]


def test_a_form_with_errors_is_a_400_and_keeps_the_input(client, db):
    response = client.post(reverse("apply"), _form(applicant_email="nope", sectors=[]))
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"applicant_email", "sectors"}
    assert "Harbour Water Authority" in response.content.decode()
    assert not Membership.objects.exists()


def test_a_failure_after_the_organization_is_written_leaves_nothing(db, mailed, monkeypatch):
    def fail(**kwargs: object) -> None:
        raise RuntimeError("mail template broken")

    monkeypatch.setattr("accounts.registry.invitation_issue", fail)
    before = _counts()
    with pytest.raises(RuntimeError):
        mailed(organization_apply, actor=None, **application_data())
    assert _counts() == before
    assert mail.outbox == []
