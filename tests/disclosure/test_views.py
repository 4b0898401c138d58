"""The server-rendered pages: who sees what, what each form does, and what never leaks."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from disclosure.models import AuditEvent, Delivery, Finding, FindingRecipient
from disclosure.services.triage import finding_accept
from tests.conftest import FINDING_FIELDS
from tests.factories import OrganizationFactory

State = Finding.State
MARKERS = ("EMBARGOED-DETAIL", "EMBARGOED-ACTION")
OUTSIDERS = ["other_lab_user", "other_defender_user"]


def _detail(finding: Finding) -> str:
    return reverse("finding-detail", args=[finding.reference])


def _as(client, user):
    client.force_login(user)
    return client


def _body(response) -> str:
    return response.content.decode()


def _assert_no_markers(response) -> None:
    body = _body(response)
    for marker in MARKERS:
        assert marker not in body


def _future_local(days: int = 3) -> tuple[str, dt.datetime]:
    """A datetime-local form value and the aware UTC time it stands for."""
    when = (timezone.now() + timedelta(days=days)).replace(second=0, microsecond=0)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M"), when


# --- Home


def test_anonymous_home_redirects_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_developer_home_lists_the_labs_findings_and_links_to_filing(client, world):
    draft = world.file(title="Draft about persuasion")
    response = _as(client, world.lab_user).get(reverse("home"))
    body = _body(response)
    assert response.status_code == 200
    assert draft.reference in body
    assert "Draft about persuasion" in body
    assert reverse("finding-new") in body


def test_coordinator_home_lists_the_queue_oldest_first_and_embargoes_with_their_end(client, world):
    older = world.submitted(title="Older submission")
    newer = world.submitted(title="Newer submission")
    embargoed = world.embargoed()
    body = _body(_as(client, world.coordinator).get(reverse("home")))
    assert body.index(older.reference) < body.index(newer.reference)
    assert embargoed.reference in body
    assert f"{embargoed.embargo_ends_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" in body


def test_coordinator_home_does_not_list_drafts(client, world):
    draft = world.file()
    body = _body(_as(client, world.coordinator).get(reverse("home")))
    assert draft.reference not in body


def test_defender_inbox_shows_notified_findings_with_acknowledgement_and_embargo_end(client, world):
    finding = world.embargoed()
    body = _body(_as(client, world.defender_user).get(reverse("home")))
    assert finding.reference in body
    assert "Not yet" in body
    assert f"{finding.embargo_ends_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" in body


def test_a_user_in_several_kinds_of_organization_sees_every_section(client, world):
    from tests.factories import MembershipFactory

    MembershipFactory(user=world.coordinator, organization=world.defender)
    MembershipFactory(user=world.coordinator, organization=world.lab)
    body = _body(_as(client, world.coordinator).get(reverse("home")))
    assert "Triage queue" in body
    assert "Inbox" in body
    assert "Your lab's findings" in body


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsiders_home_does_not_list_an_embargoed_finding(client, world, outsider):
    finding = world.embargoed()
    response = _as(client, getattr(world, outsider)).get(reverse("home"))
    assert finding.reference not in _body(response)
    _assert_no_markers(response)


@pytest.mark.parametrize("role", ["lab_user", "coordinator", "defender_user", *OUTSIDERS])
def test_home_pages_never_show_embargoed_text(client, world, role):
    world.embargoed()
    world.submitted()
    _assert_no_markers(_as(client, getattr(world, role)).get(reverse("home")))


def test_user_content_is_escaped(client, world):
    world.file(title="<script>alert(1)</script>")
    body = _body(_as(client, world.lab_user).get(reverse("home")))
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- Finding detail: who may see it


@pytest.mark.parametrize("viewer", ["lab_user", "coordinator", "defender_user"])
def test_those_who_may_see_an_embargoed_finding_see_its_details_and_banner(client, world, viewer):
    finding = world.embargoed()
    response = _as(client, getattr(world, viewer)).get(_detail(finding))
    body = _body(response)
    assert response.status_code == 200
    for marker in MARKERS:
        assert marker in body
    assert FINDING_FIELDS["model_version"] in body
    end = f"{finding.embargo_ends_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    assert "EMBARGOED until" in body
    assert end in body


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsiders_get_404_for_an_embargoed_finding(client, world, outsider):
    finding = world.embargoed()
    response = _as(client, getattr(world, outsider)).get(_detail(finding))
    assert response.status_code == 404
    _assert_no_markers(response)
    assert finding.title not in _body(response)


def test_anonymous_gets_the_same_404_for_an_embargoed_and_a_missing_finding(client, world):
    finding = world.embargoed()
    existing = client.get(_detail(finding))
    missing = client.get(reverse("finding-detail", args=["FW-2099-9999"]))
    assert existing.status_code == missing.status_code == 404
    assert _body(existing).replace(finding.reference, "REF") == _body(missing).replace(
        "FW-2099-9999", "REF"
    )
    _assert_no_markers(existing)


def test_anonymous_is_sent_to_the_advisory_for_a_released_finding(client, world):
    finding = world.released()
    response = client.get(_detail(finding))
    assert response.status_code == 302
    assert response.url == reverse("advisory-detail", args=[finding.reference])


@pytest.mark.parametrize("viewer", ["coordinator", "defender_user", "other_lab_user"])
def test_nobody_but_its_lab_sees_a_draft(client, world, viewer):
    draft = world.file()
    assert _as(client, getattr(world, viewer)).get(_detail(draft)).status_code == 404


def test_the_lab_sees_its_draft_with_a_submit_button(client, world):
    draft = world.file()
    body = _body(_as(client, world.lab_user).get(_detail(draft)))
    assert "DRAFT" in body
    assert reverse("finding-submit", args=[draft.reference]) in body


def test_a_submitted_finding_is_not_shown_to_defenders(client, world):
    finding = world.submitted()
    assert _as(client, world.defender_user).get(_detail(finding)).status_code == 404


def test_the_detail_page_of_an_embargoed_finding_is_not_cached(client, world):
    finding = world.embargoed()
    response = _as(client, world.defender_user).get(_detail(finding))
    assert "no-store" in response["Cache-Control"]


def test_each_view_of_an_unreleased_finding_is_audited(client, world):
    finding = world.embargoed()
    _as(client, world.defender_user).get(_detail(finding))
    read = AuditEvent.objects.get(finding=finding, action="finding.read")
    assert read.actor == world.defender_user
    assert read.data == {"via": "page"}


def test_a_defender_sees_only_its_own_organizations_in_the_audience(client, world):
    third = OrganizationFactory(name="Rail SOC", slug="rail-soc")
    finding = finding_accept(
        actor=world.coordinator,
        finding=world.submitted(),
        organizations=[world.defender, third],
        embargo_ends_at=timezone.now() + timedelta(days=7),
    )
    defender_body = _body(_as(client, world.defender_user).get(_detail(finding)))
    coordinator_body = _body(_as(client, world.coordinator).get(_detail(finding)))
    assert "Grid ISAC" in defender_body
    assert "Rail SOC" not in defender_body
    assert "Rail SOC" in coordinator_body


@pytest.mark.parametrize("viewer", ["lab_user", "coordinator"])
def test_the_lab_and_coordinators_see_the_audit_trail(client, world, viewer):
    finding = world.embargoed()
    body = _body(_as(client, getattr(world, viewer)).get(_detail(finding)))
    assert "Audit trail" in body
    assert "finding.embargoed" in body


def test_a_defender_does_not_see_the_audit_trail(client, world):
    finding = world.embargoed()
    body = _body(_as(client, world.defender_user).get(_detail(finding)))
    assert "Audit trail" not in body


# --- Filing


# The filing form's evaluations and mitigations are formsets: their management data, no rows.
FORMSETS = {
    f"{prefix}-{key}": value
    for prefix in ("evaluations", "mitigations")
    for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
}


def _filing(**overrides) -> dict[str, object]:
    return {**FINDING_FIELDS, **FORMSETS, "tlp": "AMBER", **overrides}


def test_filing_needs_a_developer_organization(client, world):
    assert _as(client, world.defender_user).get(reverse("finding-new")).status_code == 403


def test_filing_form_saves_a_draft(client, world):
    data = _filing(developer=world.lab.pk, draft="1")
    response = _as(client, world.lab_user).post(reverse("finding-new"), data)
    finding = Finding.objects.get()
    assert response.status_code == 302
    assert response.url == _detail(finding)
    assert (finding.state, finding.developer, finding.title) == (
        State.DRAFT,
        world.lab,
        FINDING_FIELDS["title"],
    )


def test_filing_form_can_submit_at_once(client, world):
    data = _filing(developer=world.lab.pk, submit="1")
    _as(client, world.lab_user).post(reverse("finding-new"), data)
    assert Finding.objects.get().state == State.SUBMITTED


def test_filing_form_with_missing_fields_is_shown_again_with_errors(client, world):
    data = _filing(developer=world.lab.pk, title="", risk_level="extreme")
    response = _as(client, world.lab_user).post(reverse("finding-new"), data)
    body = _body(response)
    assert response.status_code == 400
    assert "This field is required." in body
    assert "Select a valid choice." in body
    assert not Finding.objects.exists()


def test_filing_for_another_lab_is_refused(client, world):
    data = _filing(developer=world.other_lab.pk, draft="1")
    response = _as(client, world.lab_user).post(reverse("finding-new"), data)
    assert response.status_code == 400
    assert not Finding.objects.exists()


def test_filing_shows_a_service_refusal_on_the_form(client, world):
    data = _filing(developer=world.lab.pk, details="   ", draft="1")
    response = _as(client, world.lab_user).post(reverse("finding-new"), data)
    assert response.status_code == 400
    assert "This field" in _body(response)
    assert not Finding.objects.exists()


def test_the_lab_submits_its_draft_from_the_page(client, world):
    draft = world.file()
    response = _as(client, world.lab_user).post(reverse("finding-submit", args=[draft.reference]))
    draft.refresh_from_db()
    assert response.status_code == 302
    assert draft.state == State.SUBMITTED


def test_submitting_twice_is_refused_with_a_message(client, world):
    finding = world.submitted()
    response = _as(client, world.lab_user).post(reverse("finding-submit", args=[finding.reference]))
    assert response.status_code == 409
    assert "cannot become submitted" in _body(response)


# --- Triage


def _accept_data(world, when: str) -> dict[str, object]:
    return {"defender_organizations": [world.defender.pk], "embargo_ends_at": when, "note": "ok"}


def test_coordinator_sees_the_accept_and_reject_forms_on_a_submitted_finding(client, world):
    finding = world.submitted()
    body = _body(_as(client, world.coordinator).get(_detail(finding)))
    assert reverse("finding-accept", args=[finding.reference]) in body
    assert reverse("finding-reject", args=[finding.reference]) in body
    assert "Water CERT" in body  # every defender organization is offered


def test_accepting_starts_the_embargo_at_the_utc_time_given(client, world):
    finding = world.submitted()
    value, when = _future_local()
    response = _as(client, world.coordinator).post(
        reverse("finding-accept", args=[finding.reference]), _accept_data(world, value)
    )
    finding.refresh_from_db()
    assert response.status_code == 302
    assert finding.state == State.EMBARGOED
    assert finding.embargo_ends_at == when
    assert list(finding.recipients.values_list("organization", flat=True)) == [world.defender.pk]


def test_accepting_with_a_past_embargo_end_shows_an_error_and_writes_nothing(client, world):
    finding = world.submitted()
    past = (timezone.now() - timedelta(days=1)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")
    events_before = AuditEvent.objects.exclude(action="finding.read").count()
    response = _as(client, world.coordinator).post(
        reverse("finding-accept", args=[finding.reference]), _accept_data(world, past)
    )
    finding.refresh_from_db()
    assert response.status_code == 400
    assert "The embargo end must be in the future." in _body(response)
    assert finding.state == State.SUBMITTED
    assert not FindingRecipient.objects.exists()
    assert not Delivery.objects.exists()
    assert AuditEvent.objects.exclude(action="finding.read").count() == events_before


def test_accepting_without_defenders_or_date_is_shown_again_with_errors(client, world):
    finding = world.submitted()
    response = _as(client, world.coordinator).post(
        reverse("finding-accept", args=[finding.reference]), {"embargo_ends_at": "soon"}
    )
    finding.refresh_from_db()
    assert response.status_code == 400
    assert "Enter a valid date/time." in _body(response)
    assert finding.state == State.SUBMITTED


def test_accepting_twice_is_refused_with_a_conflict(client, world):
    finding = world.embargoed()
    value, _ = _future_local()
    response = _as(client, world.coordinator).post(
        reverse("finding-accept", args=[finding.reference]), _accept_data(world, value)
    )
    assert response.status_code == 409
    assert "cannot become accepted" in _body(response)


def test_the_lab_cannot_accept_its_own_finding(client, world):
    finding = world.submitted()
    value, _ = _future_local()
    response = _as(client, world.lab_user).post(
        reverse("finding-accept", args=[finding.reference]), _accept_data(world, value)
    )
    finding.refresh_from_db()
    assert response.status_code == 403
    assert finding.state == State.SUBMITTED


def test_rejecting_records_the_reason(client, world):
    finding = world.submitted()
    response = _as(client, world.coordinator).post(
        reverse("finding-reject", args=[finding.reference]), {"reason": "Duplicate of FW-1"}
    )
    finding.refresh_from_db()
    assert response.status_code == 302
    assert finding.state == State.REJECTED
    assert AuditEvent.objects.get(finding=finding, action="finding.rejected").note == (
        "Duplicate of FW-1"
    )


def test_rejecting_without_a_reason_is_shown_again_with_errors(client, world):
    finding = world.submitted()
    response = _as(client, world.coordinator).post(
        reverse("finding-reject", args=[finding.reference]), {"reason": ""}
    )
    finding.refresh_from_db()
    assert response.status_code == 400
    assert "This field is required." in _body(response)
    assert finding.state == State.SUBMITTED


@pytest.mark.parametrize("action", ["finding-accept", "finding-reject", "finding-acknowledge"])
def test_actions_on_a_finding_one_may_not_see_are_404(client, world, action):
    finding = world.embargoed()
    response = _as(client, world.other_defender_user).post(
        reverse(action, args=[finding.reference])
    )
    assert response.status_code == 404


def test_actions_need_post(client, world):
    finding = world.embargoed()
    response = _as(client, world.defender_user).get(
        reverse("finding-acknowledge", args=[finding.reference])
    )
    assert response.status_code == 405


# --- Acknowledgement


def test_a_notified_defender_acknowledges_from_the_page(client, world):
    finding = world.embargoed()
    client = _as(client, world.defender_user)
    response = client.post(reverse("finding-acknowledge", args=[finding.reference]))
    row = FindingRecipient.objects.get(finding=finding, organization=world.defender)
    assert response.status_code == 302
    assert row.acknowledged_by == world.defender_user
    body = _body(client.get(_detail(finding)))
    assert "Acknowledged" in body
    assert reverse("finding-acknowledge", args=[finding.reference]) not in body


def test_a_coordinator_cannot_acknowledge(client, world):
    finding = world.embargoed()
    response = _as(client, world.coordinator).post(
        reverse("finding-acknowledge", args=[finding.reference])
    )
    assert response.status_code == 403
    assert not FindingRecipient.objects.filter(acknowledged_at__isnull=False).exists()


# --- Public advisories


def test_advisories_list_released_findings_newest_first_without_login(client, world):
    first = world.released()
    second = world.released()
    embargoed = world.embargoed()
    body = _body(client.get(reverse("advisory-list")))
    assert body.index(second.reference) < body.index(first.reference)
    assert embargoed.reference not in body


def test_the_advisory_list_never_shows_embargoed_text(client, world):
    world.embargoed()
    _assert_no_markers(client.get(reverse("advisory-list")))


def test_an_advisory_shows_every_field_without_login(client, world):
    finding = world.released()
    body = _body(client.get(reverse("advisory-detail", args=[finding.reference])))
    for name in ("title", "summary", "model_name", "model_version"):
        assert FINDING_FIELDS[name] in body
    for marker in MARKERS:
        assert marker in body


@pytest.mark.parametrize("state", [State.DRAFT, State.SUBMITTED, State.EMBARGOED])
def test_an_unreleased_finding_has_no_advisory(client, world, state):
    finding = world.in_state(state)
    response = client.get(reverse("advisory-detail", args=[finding.reference]))
    assert response.status_code == 404
    _assert_no_markers(response)


@pytest.mark.parametrize("action", ["finding-accept", "finding-reject"])
def test_the_lab_is_refused_accept_and_reject_before_the_form_is_read(client, world, action):
    finding = world.submitted()
    response = _as(client, world.lab_user).post(reverse(action, args=[finding.reference]), {})
    assert response.status_code == 403  # not the 400 of an empty form
    finding.refresh_from_db()
    assert finding.state == Finding.State.SUBMITTED
