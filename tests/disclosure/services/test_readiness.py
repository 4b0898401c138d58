import pytest

from disclosure.errors import NotAllowed
from disclosure.models import AuditEvent, FindingRecipient
from disclosure.services.readiness import finding_acknowledge


def test_acknowledging_records_who_and_when_once(world):
    finding = world.embargoed()
    finding_acknowledge(actor=world.defender_user, finding=finding)
    first = FindingRecipient.objects.get(finding=finding)
    finding_acknowledge(actor=world.defender_user, finding=finding)
    again = FindingRecipient.objects.get(finding=finding)
    assert first.acknowledged_by == world.defender_user
    assert again.acknowledged_at == first.acknowledged_at
    assert AuditEvent.objects.filter(finding=finding, action="finding.acknowledged").count() == 1


def test_a_defender_that_was_not_notified_cannot_acknowledge(world):
    with pytest.raises(NotAllowed):
        finding_acknowledge(actor=world.other_defender_user, finding=world.embargoed())
