"""Bad input gets a 4xx whose detail says what is wrong, and nothing is half-written."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from disclosure.models import AuditEvent, Delivery, Finding, FindingRecipient
from tests.disclosure.api.conftest import FINDING_BODY, accept_body, finding_url


def _assert_still_submitted(finding: Finding) -> None:
    finding.refresh_from_db()
    assert finding.state == Finding.State.SUBMITTED
    assert finding.embargo_ends_at is None
    assert not FindingRecipient.objects.filter(finding=finding).exists()
    assert not Delivery.objects.filter(finding=finding).exists()
    assert not AuditEvent.objects.filter(
        finding=finding, action__in=["finding.accepted", "finding.embargoed"]
    ).exists()


def _accept(api, world, finding, body):
    return api(world.coordinator).post(
        finding_url(finding.reference, "accept"), body, format="json"
    )


def test_an_unknown_defender_organization_is_named_in_a_400(world, api):
    finding = world.submitted()
    response = _accept(api, world, finding, accept_body("grid-isac", "no-such-isac", "Bad Slug"))
    assert response.status_code == 400
    message = response.json()["detail"]["defender_organizations"]
    assert message == "Unknown organizations: no-such-isac, Bad Slug."
    _assert_still_submitted(finding)


def test_an_organization_that_is_not_a_defender_is_refused(world, api):
    finding = world.submitted()
    response = _accept(api, world, finding, accept_body("other-lab"))
    assert response.status_code == 400
    assert "other-lab" in response.json()["detail"]["defender_organizations"]
    _assert_still_submitted(finding)


def test_an_empty_audience_is_refused(world, api):
    finding = world.submitted()
    response = _accept(api, world, finding, accept_body())
    assert response.status_code == 400
    assert "defender_organizations" in response.json()["detail"]
    _assert_still_submitted(finding)


def test_a_naive_embargo_end_is_a_400_asking_for_a_zone(world, api):
    finding = world.submitted()
    naive = (timezone.now() + timedelta(days=3)).replace(tzinfo=None).isoformat()
    body = {"defender_organizations": ["grid-isac"], "embargo_ends_at": naive}
    response = _accept(api, world, finding, body)
    assert response.status_code == 400
    assert "time zone" in response.json()["detail"]["embargo_ends_at"]
    _assert_still_submitted(finding)


def test_an_embargo_end_in_the_past_is_a_400(world, api):
    finding = world.submitted()
    response = _accept(api, world, finding, accept_body("grid-isac", days=-1))
    assert response.status_code == 400
    assert "future" in response.json()["detail"]["embargo_ends_at"]
    _assert_still_submitted(finding)


@override_settings(EMBARGO_MAX_DAYS=365)
def test_an_embargo_longer_than_the_maximum_is_a_400(world, api):
    finding = world.submitted()
    response = _accept(api, world, finding, accept_body("grid-isac", days=366))
    assert response.status_code == 400
    assert "365 days" in response.json()["detail"]["embargo_ends_at"]
    _assert_still_submitted(finding)


def test_an_embargo_end_that_is_not_a_date_is_a_400(world, api):
    finding = world.submitted()
    body = {"defender_organizations": ["grid-isac"], "embargo_ends_at": "next tuesday"}
    response = _accept(api, world, finding, body)
    assert response.status_code == 400
    assert "embargo_ends_at" in response.json()["detail"]
    _assert_still_submitted(finding)


def test_accepting_twice_is_a_409_that_changes_nothing(world, api):
    finding = world.embargoed()
    ends_at = finding.embargo_ends_at
    response = _accept(api, world, finding, accept_body("grid-isac", "water-cert", days=30))
    assert response.status_code == 409
    assert "embargoed" in response.json()["detail"]
    finding.refresh_from_db()
    assert finding.embargo_ends_at == ends_at
    assert list(finding.recipients.values_list("organization__slug", flat=True)) == ["grid-isac"]


def test_missing_accept_fields_are_named(world, api):
    finding = world.submitted()
    response = _accept(api, world, finding, {})
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"defender_organizations", "embargo_ends_at"}
    _assert_still_submitted(finding)


def test_malformed_json_on_accept_is_a_400(world, api):
    finding = world.submitted()
    response = api(world.coordinator).post(
        finding_url(finding.reference, "accept"),
        '{"defender_organizations": ["grid-isac"',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    _assert_still_submitted(finding)


def test_malformed_json_on_filing_is_a_400_and_files_nothing(world, api):
    response = api(world.lab_user).post(
        "/api/findings/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert not Finding.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(world, api):
    response = api(world.lab_user).post("/api/findings/", ["title"], format="json")
    assert response.status_code == 400
    assert not Finding.objects.exists()


def test_missing_fields_on_filing_are_named_and_nothing_is_filed(world, api):
    body = {k: v for k, v in FINDING_BODY.items() if k not in {"title", "details"}}
    response = api(world.lab_user).post("/api/findings/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"title", "details"}
    assert "required" in response.json()["detail"]["title"]
    assert not Finding.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "a_valid_one"),
    [
        ("category", "weather", "/api/taxonomies/"),
        ("category", "openai-pf-v2:weather", "/api/taxonomies/"),
        ("risk_level", "extreme", "critical"),
    ],
)
def test_an_unknown_category_or_risk_level_is_a_400_listing_the_choices(
    world, api, field, value, a_valid_one
):
    response = api(world.lab_user).post(
        "/api/findings/", {**FINDING_BODY, field: value}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["detail"][field]
    assert value in message
    assert a_valid_one in message
    assert not Finding.objects.exists()


def test_an_unknown_field_on_filing_is_a_400(world, api):
    body = {**FINDING_BODY, "state": "released"}
    response = api(world.lab_user).post("/api/findings/", body, format="json")
    assert response.status_code == 400
    assert "state" in response.json()["detail"]
    assert not Finding.objects.exists()


def test_an_unknown_developer_slug_is_a_400(world, api):
    body = {**FINDING_BODY, "developer": "no-such-lab"}
    response = api(world.lab_user).post("/api/findings/", body, format="json")
    assert response.status_code == 400
    assert "no-such-lab" in response.json()["detail"]["developer"]
    assert not Finding.objects.exists()


def test_blanking_a_required_field_in_an_edit_is_a_400_that_changes_nothing(world, api):
    finding = world.file()
    response = api(world.lab_user).patch(
        finding_url(finding.reference), {"title": "", "summary": "New"}, format="json"
    )
    assert response.status_code == 400
    assert "title" in response.json()["detail"]
    finding.refresh_from_db()
    assert finding.summary != "New"
    assert not AuditEvent.objects.filter(finding=finding, action="finding.updated").exists()


def test_a_rejection_needs_a_reason(world, api):
    finding = world.submitted()
    response = api(world.coordinator).post(
        finding_url(finding.reference, "reject"), {"reason": ""}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["detail"]
    finding.refresh_from_db()
    assert finding.state == Finding.State.SUBMITTED
