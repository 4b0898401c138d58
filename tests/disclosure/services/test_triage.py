from datetime import timedelta

import pytest
from django.utils import timezone

from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Delivery, Finding, FindingRecipient
from disclosure.services.triage import finding_accept, finding_reject
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


def _accept(world, finding, *, orgs=None, ends_at=None, actor=None):
    return finding_accept(
        actor=actor or world.coordinator,
        finding=finding,
        organizations=orgs if orgs is not None else [world.defender],
        embargo_ends_at=ends_at or timezone.now() + timedelta(days=3),
    )


def test_accept_starts_the_embargo_and_writes_one_delivery_per_member(world):
    second = UserFactory(email="second@grid.example")
    MembershipFactory(user=second, organization=world.defender)
    finding = _accept(world, world.submitted())
    assert finding.state == Finding.State.EMBARGOED
    assert list(finding.recipients.values_list("organization", flat=True)) == [world.defender.pk]
    emails = Delivery.objects.filter(
        finding=finding, event=Delivery.Event.NOTIFIED, channel=Delivery.Channel.EMAIL
    )
    assert sorted(emails.values_list("recipient__email", flat=True)) == [
        "analyst@grid.example",
        "second@grid.example",
    ]


def test_accept_audits_both_transitions_with_the_actor(world):
    finding = _accept(world, world.submitted())
    events = AuditEvent.objects.filter(
        finding=finding, action__in=["finding.accepted", "finding.embargoed"]
    )
    assert [(e.from_state, e.to_state, e.actor) for e in events] == [
        ("submitted", "accepted", world.coordinator),
        ("accepted", "embargoed", world.coordinator),
    ]


def test_accepting_twice_is_a_conflict_and_writes_nothing_more(world):
    finding = _accept(world, world.submitted())
    deliveries = Delivery.objects.count()
    with pytest.raises(Conflict):
        _accept(world, finding)
    assert Delivery.objects.count() == deliveries


@pytest.mark.parametrize(
    "ends_in", [timedelta(seconds=-1), timedelta(days=366)], ids=["past", "too-far"]
)
def test_accept_refuses_an_embargo_end_out_of_range_and_writes_nothing(world, ends_in):
    finding = world.submitted()
    with pytest.raises(ValidationFailed) as exc:
        _accept(world, finding, ends_at=timezone.now() + ends_in)
    assert "embargo_ends_at" in exc.value.detail
    finding.refresh_from_db()
    assert finding.state == Finding.State.SUBMITTED
    assert not FindingRecipient.objects.exists()
    assert not Delivery.objects.exists()


def test_accept_refuses_a_naive_datetime(world):
    with pytest.raises(ValidationFailed):
        _accept(
            world,
            world.submitted(),
            ends_at=timezone.now().replace(tzinfo=None) + timedelta(days=1),
        )


def test_accept_refuses_an_empty_audience(world):
    with pytest.raises(ValidationFailed):
        _accept(world, world.submitted(), orgs=[])


def test_accept_refuses_a_non_defender_in_the_audience(world):
    with pytest.raises(ValidationFailed) as exc:
        _accept(world, world.submitted(), orgs=[world.defender, world.other_lab])
    assert "other-lab" in str(exc.value.detail)
    assert not FindingRecipient.objects.exists()


def test_only_coordinators_accept(world):
    with pytest.raises(NotAllowed):
        _accept(world, world.submitted(), actor=world.defender_user)


def test_a_draft_cannot_be_accepted(world):
    with pytest.raises(Conflict):
        _accept(world, world.file())


def test_reject_needs_a_reason_and_records_it(world):
    finding = world.submitted()
    with pytest.raises(ValidationFailed):
        finding_reject(actor=world.coordinator, finding=finding, reason=" ")
    finding = finding_reject(actor=world.coordinator, finding=finding, reason="Not a capability")
    assert finding.state == Finding.State.REJECTED
    assert (
        AuditEvent.objects.get(finding=finding, action="finding.rejected").note
        == "Not a capability"
    )


def test_inactive_members_get_no_delivery(world):
    gone = UserFactory(email="gone@grid.example", is_active=False)
    MembershipFactory(user=gone, organization=world.defender)
    finding = _accept(world, world.submitted())
    assert not Delivery.objects.filter(finding=finding, recipient=gone).exists()


def test_an_unrelated_defender_org_gets_nothing(world):
    OrganizationFactory(name="Unrelated", slug="unrelated")
    finding = _accept(world, world.submitted())
    assert not Delivery.objects.filter(finding=finding, organization=world.other_defender).exists()
