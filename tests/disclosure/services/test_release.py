from datetime import timedelta

from django.utils import timezone

from disclosure.models import AuditEvent, Delivery, Finding
from disclosure.services.release import finding_release, release_run_due


def _make_due(finding: Finding) -> None:
    Finding.objects.filter(pk=finding.pk).update(
        embargo_ends_at=timezone.now() - timedelta(seconds=1)
    )


def test_release_before_the_embargo_end_does_nothing(world):
    finding = world.embargoed()
    assert finding_release(finding_id=finding.pk) is False
    finding.refresh_from_db()
    assert finding.state == Finding.State.EMBARGOED


def test_release_flips_state_once_and_enqueues_one_set_of_emails(world):
    finding = world.embargoed()
    _make_due(finding)
    assert finding_release(finding_id=finding.pk) is True
    assert finding_release(finding_id=finding.pk) is False
    finding.refresh_from_db()
    assert finding.state == Finding.State.RELEASED
    assert finding.released_at is not None
    released = Delivery.objects.filter(
        finding=finding, event=Delivery.Event.RELEASED, channel=Delivery.Channel.EMAIL
    )
    assert sorted(released.values_list("recipient__email", flat=True)) == [
        "analyst@grid.example",
        "dev@lab.example",
    ]
    assert AuditEvent.objects.filter(finding=finding, action="finding.released").count() == 1


def test_sweep_releases_only_what_is_due(world):
    due, later = world.embargoed(), world.embargoed()
    _make_due(due)
    assert release_run_due() == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.state, later.state) == (Finding.State.RELEASED, Finding.State.EMBARGOED)
