"""The pages for what a finding records: the full filing form, the edit page, the detail
page's content sections, credits, revisions and the TLP label."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from disclosure.models import Credit, Evaluation, Finding, FindingRevision, Mitigation, Sector
from disclosure.services.intake import finding_update
from tests.conftest import FINDING_FIELDS
from tests.factories import UserFactory

State = Finding.State


def _as(client, user):
    client.force_login(user)
    return client


def _body(response) -> str:
    return response.content.decode()


def _detail(finding: Finding) -> str:
    return reverse("finding-detail", args=[finding.reference])


def _edit(finding: Finding) -> str:
    return reverse("finding-edit", args=[finding.reference])


def _rows(prefix: str, rows: list[dict[str, object]], *, initial: int = 0, extra: int = 0):
    """POST data of a formset: its management form and its rows (``extra`` blank ones)."""
    data: dict[str, object] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows) + extra),
        f"{prefix}-INITIAL_FORMS": str(initial),
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
    return data


EVALUATION = {
    "name": "Cyber range",
    "method": "Agentic runs on 20 targets",
    "checkpoint": "deployed",
    "modifications": ["tool_access"],
    "metric": "Targets compromised",
    "result": "7 of 20",
    "baseline": "1 of 20",
    "uplift": "+30 pp",
    "evaluated_on": "2026-10-02",
}
MITIGATION = {"description": "Exploit classifier", "status": "in_progress"}


def _complete(world, **overrides) -> dict[str, object]:
    return {
        **FINDING_FIELDS,
        "developer": world.lab.pk,
        "residual_risk_level": "medium",
        "tlp": "AMBER",
        "deployment_surfaces": ["api", "consumer"],
        "planned_availability": "2026-12-01",
        "affected_sectors": ["energy", "water"],
        **_rows("evaluations", [EVALUATION, {**EVALUATION, "name": "Second run"}], extra=2),
        **_rows("mitigations", [MITIGATION], extra=2),
        "draft": "1",
        **overrides,
    }


# --- Filing


def test_the_filing_form_groups_categories_by_taxonomy_and_offers_every_field(client, world):
    body = _body(_as(client, world.lab_user).get(reverse("finding-new")))
    assert '<optgroup label="OpenAI Preparedness Framework v2 (2025)">' in body
    assert '<option value="gdm-fsf:cbrn-uplift-1">CBRN Uplift 1</option>' in body
    for name in (
        "residual_risk_level",
        "tlp",
        "deployment_surfaces",
        "planned_availability",
        "affected_sectors",
        "evaluations-0-name",
        "evaluations-1-evaluated_on",
        "mitigations-1-status",
        "recommended_actions",
    ):
        assert f'name="{name}"' in body
    assert "<script" not in body.lower()


def test_a_complete_finding_is_filed_from_the_page_and_blank_rows_are_ignored(client, world):
    response = _as(client, world.lab_user).post(reverse("finding-new"), _complete(world))
    assert response.status_code == 302, _body(response)
    finding = Finding.objects.get()
    assert (finding.tlp, finding.residual_risk_level) == ("AMBER", "medium")
    assert finding.deployment_surfaces == ["api", "consumer"]
    assert finding.planned_availability == dt.date(2026, 12, 1)
    assert sorted(s.slug for s in finding.affected_sectors.all()) == ["energy", "water"]
    assert [e.name for e in finding.evaluations.all()] == ["Cyber range", "Second run"]
    assert finding.evaluations.first().modifications == ["tool_access"]
    assert [(m.description, m.status) for m in finding.mitigations.all()] == [
        ("Exploit classifier", "in_progress")
    ]


def test_a_half_filled_evaluation_row_is_shown_again_with_its_errors(client, world):
    data = _complete(world, **{"evaluations-1-metric": "", "evaluations-1-result": ""})
    response = _as(client, world.lab_user).post(reverse("finding-new"), data)
    assert response.status_code == 400
    assert "This field is required." in _body(response)
    assert 'value="Second run"' in _body(response)
    assert not Finding.objects.exists()


def test_a_service_refusal_lands_on_the_evaluation_row(client, world):
    data = _complete(world, **{"evaluations-0-modifications": ["none", "jailbreaks"]})
    response = _as(client, world.lab_user).post(reverse("finding-new"), data)
    assert response.status_code == 400
    assert "excludes the others" in _body(response)
    assert not Finding.objects.exists()


def test_a_residual_risk_above_the_risk_is_refused_on_its_field(client, world):
    data = _complete(world, risk_level="low", residual_risk_level="critical")
    response = _as(client, world.lab_user).post(reverse("finding-new"), data)
    assert response.status_code == 400
    assert "cannot exceed" in _body(response)
    assert not Finding.objects.exists()


def test_missing_formset_management_data_is_a_400_not_a_500(client, world):
    data = {k: v for k, v in _complete(world).items() if not k.startswith("evaluations-")}
    response = _as(client, world.lab_user).post(reverse("finding-new"), data)
    assert response.status_code == 400
    assert not Finding.objects.exists()


# --- Editing


def _filed(client, world) -> Finding:
    _as(client, world.lab_user).post(reverse("finding-new"), _complete(world))
    return Finding.objects.get()


def _edit_data(finding: Finding, **overrides) -> dict[str, object]:
    """The edit form as it comes prefilled, with ``overrides``."""
    # Formset rows are matched by position; the evaluations were filed from EVALUATION.
    rows = [{**EVALUATION, "name": e.name} for e in finding.evaluations.all()]
    return {
        **FINDING_FIELDS,
        "category": finding.category.key,
        "residual_risk_level": finding.residual_risk_level,
        "tlp": finding.tlp,
        "deployment_surfaces": list(finding.deployment_surfaces),
        "planned_availability": finding.planned_availability.isoformat(),
        "affected_sectors": sorted(s.slug for s in finding.affected_sectors.all()),
        **_rows("evaluations", rows, initial=len(rows), extra=2),
        **_rows("mitigations", [MITIGATION], initial=1, extra=2),
        **overrides,
    }


def test_the_edit_page_comes_prefilled(client, world):
    finding = _filed(client, world)
    body = _body(client.get(_edit(finding)))
    assert 'value="Second run"' in body
    assert '<option value="AMBER" selected>TLP:AMBER</option>' in body
    assert 'value="2026-12-01"' in body
    assert "Remove this evaluation" in body


def test_an_edit_makes_a_revision_and_can_remove_a_row(client, world):
    finding = _filed(client, world)
    data = _edit_data(finding, title="Sharper title", **{"evaluations-1-DELETE": "on"})
    response = client.post(_edit(finding), data)
    assert response.status_code == 302, _body(response)
    finding.refresh_from_db()
    assert finding.title == "Sharper title"
    assert [e.name for e in finding.evaluations.all()] == ["Cyber range"]
    revision = FindingRevision.objects.get(finding=finding, number=2)
    assert revision.changed_fields == ["title", "evaluations"]


def test_saving_an_unchanged_edit_makes_no_revision(client, world):
    finding = _filed(client, world)
    response = client.post(_edit(finding), _edit_data(finding), follow=True)
    assert "Nothing changed." in _body(response)
    assert finding.revisions.count() == 1


def test_a_coordinator_may_edit_a_submitted_finding_but_a_defender_may_not(client, world):
    finding = world.embargoed()
    assert _as(client, world.coordinator).get(_edit(finding)).status_code == 200
    assert _as(client, world.defender_user).get(_edit(finding)).status_code == 403
    assert "Edit finding" not in _body(client.get(_detail(finding)))


@pytest.mark.parametrize("outsider", ["other_lab_user", "other_defender_user"])
def test_outsiders_get_a_404_from_the_edit_page(client, world, outsider):
    finding = world.embargoed()
    response = _as(client, getattr(world, outsider)).get(_edit(finding))
    assert response.status_code == 404
    assert finding.title not in _body(response)


def test_a_closed_finding_has_no_edit_page(client, world):
    finding = world.rejected()
    assert _as(client, world.lab_user).get(_edit(finding)).status_code == 403


# --- The detail page


def test_the_detail_page_shows_every_part_of_the_finding(client, world):
    finding = _filed(client, world)
    body = _body(client.get(_detail(finding)))
    assert body.count('<span class="tlp tlp--amber">TLP:AMBER</span>') >= 3  # top, facts, foot
    assert "Cybersecurity" in body and "OpenAI Preparedness Framework" in body
    assert "Medium risk" in body and "High risk" in body
    assert "Energy" in body and "Water and Wastewater Systems" in body
    assert "API, Consumer product" in body and "2026-12-01" in body
    assert "Second run" in body and "Tool access" in body and "+30 pp" in body
    assert "Exploit classifier" in body and "In progress" in body
    assert "Revision history" in body
    assert reverse("finding-edit", args=[finding.reference]) in body


def test_revision_diffs_are_escaped(client, world):
    finding = world.file()
    finding_update(actor=world.lab_user, finding=finding, title="<b>bold</b> claim")
    body = _body(_as(client, world.lab_user).get(_detail(finding)))
    assert "+&lt;b&gt;bold&lt;/b&gt; claim" in body
    assert "<b>bold</b>" not in body


def test_a_defender_sees_what_changed_since_it_was_notified(client, world):
    finding = world.embargoed()
    finding_update(actor=world.coordinator, finding=finding, recommended_actions="Patch now.")
    body = _body(_as(client, world.defender_user).get(_detail(finding)))
    assert "Changes since you were notified" in body
    assert "notified of revision 1" in body
    assert "+Patch now." in body


def test_the_lab_gets_no_changes_since_notified_section(client, world):
    finding = world.embargoed()
    body = _body(_as(client, world.lab_user).get(_detail(finding)))
    assert "Changes since you were notified" not in body


@pytest.mark.parametrize(
    ("tlp", "css"),
    [("RED", "tlp--red"), ("AMBER+STRICT", "tlp--amberstrict"), ("GREEN", "tlp--green")],
)
def test_home_rows_carry_the_tlp_label_in_its_colour(client, world, tlp, css):
    world.file(tlp=tlp)
    body = _body(_as(client, world.lab_user).get(reverse("home")))
    assert f'<span class="tlp {css}">TLP:{tlp}</span>' in body


# --- Credits


def test_the_lab_credits_someone_from_the_page(client, world):
    finding = world.submitted()
    response = _as(client, world.lab_user).post(
        reverse("finding-credit-add", args=[finding.reference]),
        {"email": world.coordinator.email, "type": "coordinator"},
    )
    assert response.status_code == 302
    assert Credit.objects.get().user == world.coordinator


def test_a_bad_credit_is_shown_again_with_its_error(client, world):
    finding = world.submitted()
    response = _as(client, world.lab_user).post(
        reverse("finding-credit-add", args=[finding.reference]),
        {"email": world.defender_user.email, "type": "finder"},
    )
    assert response.status_code == 400
    assert "may not see this finding" in _body(response)
    assert not Credit.objects.exists()


def test_a_defender_has_no_credit_form(client, world):
    finding = world.embargoed()
    body = _body(_as(client, world.defender_user).get(_detail(finding)))
    assert "Credit someone" not in body
    response = client.post(
        reverse("finding-credit-add", args=[finding.reference]),
        {"email": world.defender_user.email, "type": "finder"},
    )
    assert response.status_code == 403
    assert not Credit.objects.exists()


def test_a_credit_from_someone_who_may_not_credit_is_refused_before_its_form_is_read(client, world):
    finding = world.embargoed()
    response = _as(client, world.defender_user).post(
        reverse("finding-credit-add", args=[finding.reference]), {}
    )
    assert response.status_code == 403  # not the 400 of an empty form


def test_a_credited_user_answers_from_the_home_page(client, world):
    finding = world.submitted()
    credit = Credit.objects.create(
        finding=finding, user=world.coordinator, type="coordinator", created_by=world.lab_user
    )
    home = _body(_as(client, world.coordinator).get(reverse("home")))
    assert "Credits waiting for your answer" in home and finding.reference in home
    response = client.post(reverse("credit-accept", args=[credit.pk]), {"next": "home"})
    assert response.url == reverse("home")
    credit.refresh_from_db()
    assert credit.status == "accepted"
    assert "Credits waiting for your answer" not in _body(client.get(reverse("home")))


def test_someone_else_cannot_answer_a_credit(client, world):
    finding = world.submitted()
    credit = Credit.objects.create(
        finding=finding, user=world.coordinator, type="coordinator", created_by=world.lab_user
    )
    response = _as(client, world.lab_user).post(reverse("credit-decline", args=[credit.pk]))
    assert response.status_code == 302
    credit.refresh_from_db()
    assert credit.status == "pending"
    response = _as(client, world.other_lab_user).post(reverse("credit-decline", args=[credit.pk]))
    assert response.status_code == 404


# --- Advisories


def test_the_advisory_is_tlp_clear_in_full_and_names_accepted_credits_only(client, world):
    finding = world.released()
    Finding.objects.filter(pk=finding.pk).update(tlp="RED")
    Evaluation.objects.create(
        finding=finding,
        name="Public eval",
        method="m",
        checkpoint="base",
        metric="x",
        result="y",
        evaluated_on=dt.date(2026, 1, 1),
    )
    Mitigation.objects.create(finding=finding, description="Public mitigation", status="deployed")
    finding.affected_sectors.set(Sector.objects.filter(slug="energy"))
    Credit.objects.create(
        finding=finding,
        user=world.lab_user,
        type="finder",
        status="accepted",
        created_by=world.lab_user,
    )
    Credit.objects.create(
        finding=finding, user=world.coordinator, type="coordinator", created_by=world.lab_user
    )
    body = _body(client.get(reverse("advisory-detail", args=[finding.reference])))
    assert body.count('<span class="tlp tlp--clear">TLP:CLEAR</span>') >= 3
    assert "TLP:RED" not in body
    assert "Public eval" in body and "Public mitigation" in body and "Energy" in body
    assert world.lab_user.full_name in body
    assert world.coordinator.full_name not in body
    assert world.lab_user.email not in body
    assert "<script" not in body.lower() and " style=" not in body


# --- Query budgets: the same for 1 row and for 50.


def _lots(finding: Finding, world, rows: int) -> None:
    Evaluation.objects.bulk_create(
        Evaluation(
            finding=finding,
            position=i,
            name=f"Eval {i}",
            method="m",
            checkpoint="base",
            metric="x",
            result="y",
            evaluated_on=dt.date(2026, 1, 1),
        )
        for i in range(rows)
    )
    Mitigation.objects.bulk_create(
        Mitigation(finding=finding, position=i, description=f"M {i}", status="planned")
        for i in range(rows)
    )
    finding.affected_sectors.set(Sector.objects.all()[:rows])
    for user in UserFactory.create_batch(rows):
        Credit.objects.create(finding=finding, user=user, type="finder", created_by=world.lab_user)
    content = finding.revisions.get(number=1).content
    FindingRevision.objects.bulk_create(
        FindingRevision(
            finding=finding, number=n, author=world.lab_user, content=content, changed_fields=[]
        )
        for n in range(2, rows + 2)
    )


@pytest.mark.parametrize("rows", [1, 50])
def test_detail_page_budget_with_content(client, world, django_assert_max_num_queries, rows):
    finding = world.embargoed()
    _lots(finding, world, rows)
    client = _as(client, world.defender_user)
    # +2 on the organization's first read: "seen" (its UPDATE and finding.seen audit row);
    # +2 for the embargo panel (the embargo, its extension requests); +2 for the release plan
    # (its stages, their organizations).
    with django_assert_max_num_queries(24):
        assert client.get(_detail(finding)).status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_edit_page_budget(client, world, django_assert_max_num_queries, rows):
    finding = world.file()
    _lots(finding, world, rows)
    client = _as(client, world.lab_user)
    with django_assert_max_num_queries(12):
        assert client.get(_edit(finding)).status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_home_budget_with_pending_credits(client, world, django_assert_max_num_queries, rows):
    for _ in range(rows):
        Credit.objects.create(
            finding=world.submitted(),
            user=world.coordinator,
            type="coordinator",
            created_by=world.lab_user,
        )
    client = _as(client, world.coordinator)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("home")).status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_advisory_page_budget(client, world, django_assert_max_num_queries, rows):
    finding = world.released()
    _lots(finding, world, rows)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("advisory-detail", args=[finding.reference])).status_code == 200


def test_pending_credits_on_findings_one_may_not_see_stay_off_the_home_page(client, world):
    finding = world.embargoed()
    # Written straight to the row: the service refuses to credit someone who may not see it.
    Credit.objects.create(
        finding=finding, user=world.other_defender_user, type="analyst", created_by=world.lab_user
    )
    body = _body(_as(client, world.other_defender_user).get(reverse("home")))
    assert finding.reference not in body
    assert "Credits waiting for your answer" not in body


@pytest.mark.parametrize("page", ["new", "edit", "detail", "home"])
def test_the_content_pages_have_no_inline_script_or_style(client, world, page):
    finding = _filed(client, world)
    Credit.objects.create(
        finding=finding, user=world.lab_user, type="finder", created_by=world.lab_user
    )
    finding_update(actor=world.lab_user, finding=finding, title="Edited")
    url = {
        "new": reverse("finding-new"),
        "edit": _edit(finding),
        "detail": _detail(finding),
        "home": reverse("home"),
    }[page]
    body = _body(client.get(url)).lower()
    assert "<script" not in body and " style=" not in body and "<style" not in body
