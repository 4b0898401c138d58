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
    [("category", "bioweapons"), ("risk_level", "extreme"), ("title", "   ")],
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


def test_draft_edit_is_audited_with_the_changed_fields(world):
    finding = finding_update(actor=world.lab_user, finding=world.file(), title="New title")
    assert finding.title == "New title"
    event = AuditEvent.objects.get(finding=finding, action="finding.updated")
    assert event.data == {"fields": ["title"]}


def test_submitted_finding_can_no_longer_be_edited(world):
    with pytest.raises(NotAllowed):
        finding_update(actor=world.lab_user, finding=world.submitted(), title="Sneaky")


def test_submitting_twice_is_a_conflict(world):
    finding = world.submitted()
    with pytest.raises(Conflict):
        finding_submit(actor=world.lab_user, finding=finding)


def test_another_lab_cannot_submit(world):
    with pytest.raises(NotAllowed):
        finding_submit(actor=world.other_lab_user, finding=world.file())
