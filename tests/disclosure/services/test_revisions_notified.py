"""Defenders are told which revision they were notified of (embargo_start records it)."""

from datetime import timedelta

from django.utils import timezone

from disclosure.models import FindingRecipient
from disclosure.services.intake import finding_update
from disclosure.services.triage import finding_accept


def test_the_audience_is_told_the_revision_current_at_acceptance(world):
    finding = world.submitted()
    finding_update(actor=world.coordinator, finding=finding, title="Clarified by the center")
    finding_accept(
        actor=world.coordinator,
        finding=finding,
        organizations=[world.defender],
        embargo_ends_at=timezone.now() + timedelta(days=3),
    )
    assert FindingRecipient.objects.get(finding=finding).notified_revision == 2
