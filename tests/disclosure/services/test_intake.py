import pytest

from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Finding
from disclosure.services.intake import finding_submit, finding_update, reference_next
from tests.conftest import FINDING_FIELDS


def test_filing_assigns_sequential_references_per_year(world):
    first, second = world.file(), world.file()
    year, number = first.reference.split("-")[1:]
    assert second.reference == f"FW-{year}-{int(number) + 1:04d}"


def test_reference_counter_starts_at_one_for_a_new_year(db):
    assert reference_next(year=2031) == "FW-2031-0001"
    assert reference_next(year=2031) == "FW-2031-0002"


def test_filing_records_an_audit_event(world):
    finding = world.file()
    event = AuditEvent.objects.get(finding=finding)
    assert (event.action, event.actor, event.to_state) == (
        "finding.created",
        world.lab_user,
        "draft",
    )


def test_only_members_of_the_lab_can_file_for_it(world):
    from disclosure.services.intake import finding_create

    with pytest.raises(NotAllowed):
        finding_create(actor=world.other_lab_user, developer=world.lab, **FINDING_FIELDS)
    assert not Finding.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "bioweapons"),
        ("category", "openai-pf-v2:no-such-code"),
        ("risk_level", "extreme"),
        ("title", "   "),
        ("tlp", "PURPLE"),
        ("deployment_surfaces", ["carrier-pigeon"]),
        ("affected_sectors", ["no-such-sector"]),
        ("planned_availability", "next tuesday"),
    ],
)
def test_filing_refuses_bad_values_and_names_the_field(world, field, value):
    with pytest.raises(ValidationFailed) as exc:
        world.file(**{field: value})
    assert field in exc.value.detail
    assert not Finding.objects.exists()


def test_filing_names_every_missing_required_field(world):
    from disclosure.services.intake import finding_create

    with pytest.raises(ValidationFailed) as exc:
        finding_create(actor=world.lab_user, developer=world.lab, model_name="M")
    assert set(exc.value.detail) == {"title", "summary", "details", "category", "risk_level"}


def test_draft_edit_is_audited_with_the_changed_fields_and_revision(world):
    finding = finding_update(actor=world.lab_user, finding=world.file(), title="New title")
    assert finding.title == "New title"
    event = AuditEvent.objects.get(finding=finding, action="finding.updated")
    assert event.data == {"fields": ["title"], "revision": 2}


def test_an_edit_that_changes_nothing_makes_no_revision(world):
    finding = world.file()
    finding_update(actor=world.lab_user, finding=finding, title=finding.title)
    assert finding.revisions.count() == 1
    assert not AuditEvent.objects.filter(finding=finding, action="finding.updated").exists()


def test_coordinators_edit_submitted_findings_but_not_drafts(world):
    submitted = world.submitted()
    finding_update(actor=world.coordinator, finding=submitted, summary="Clarified summary.")
    with pytest.raises(NotAllowed):
        finding_update(actor=world.coordinator, finding=world.file(), summary="x")


@pytest.mark.parametrize("state", ["released", "rejected"])
def test_closed_findings_can_no_longer_be_edited(world, state):
    with pytest.raises(NotAllowed):
        finding_update(actor=world.lab_user, finding=world.in_state(state), title="Sneaky")


def test_other_labs_and_defenders_cannot_edit(world):
    finding = world.embargoed()
    for outsider in (world.other_lab_user, world.defender_user):
        with pytest.raises(NotAllowed):
            finding_update(actor=outsider, finding=finding, title="Sneaky")


def test_submitting_twice_is_a_conflict(world):
    finding = world.submitted()
    with pytest.raises(Conflict):
        finding_submit(actor=world.lab_user, finding=finding)


def test_another_lab_cannot_submit(world):
    with pytest.raises(NotAllowed):
        finding_submit(actor=world.other_lab_user, finding=world.file())


def test_residual_risk_above_the_risk_before_mitigation_is_refused(world):
    with pytest.raises(ValidationFailed) as exc:
        world.file(risk_level="medium", residual_risk_level="high")
    assert "residual_risk_level" in exc.value.detail
    assert not Finding.objects.exists()


def test_tlp_accepts_the_standard_spelling(world):
    assert world.file(tlp="TLP:AMBER+STRICT").tlp == Finding.Tlp.AMBER_STRICT
    assert world.file(tlp="green").tlp == Finding.Tlp.GREEN


def test_a_complete_finding_keeps_evidence_mitigations_and_sectors_in_order(world):
    finding = world.file(
        deployment_surfaces=["api", "open_weights", "api"],
        planned_availability="2027-01-15",
        affected_sectors=["energy", "water"],
        evaluations=[
            {
                "name": "Range A",
                "method": "Agentic",
                "checkpoint": "base",
                "modifications": ["fine_tuning", "tool_access"],
                "metric": "success",
                "result": "31%",
                "evaluated_on": "2026-10-01",
            },
            {
                "name": "Range B",
                "method": "Manual red team",
                "checkpoint": "deployed",
                "metric": "success",
                "result": "4%",
                "evaluated_on": "2026-10-02",
            },
        ],
        mitigations=[{"description": "Refusal training", "status": "deployed"}],
    )
    assert finding.deployment_surfaces == ["api", "open_weights"]
    assert [e.name for e in finding.evaluations.all()] == ["Range A", "Range B"]
    assert finding.mitigations.get().status == "deployed"
    assert sorted(s.slug for s in finding.affected_sectors.all()) == ["energy", "water"]
    assert finding.revisions.get().number == 1


@pytest.mark.parametrize(
    "evaluation",
    [
        {"name": "x"},
        {
            "name": "x",
            "method": "m",
            "checkpoint": "halfway",
            "metric": "m",
            "result": "r",
            "evaluated_on": "2026-10-01",
        },
        {
            "name": "x",
            "method": "m",
            "checkpoint": "base",
            "metric": "m",
            "result": "r",
            "evaluated_on": "2026-10-01",
            "modifications": ["none", "jailbreaks"],
        },
    ],
    ids=["missing-fields", "bad-checkpoint", "none-with-others"],
)
def test_bad_evaluations_are_refused_and_nothing_is_written(world, evaluation):
    with pytest.raises(ValidationFailed):
        world.file(evaluations=[evaluation])
    assert not Finding.objects.exists()
