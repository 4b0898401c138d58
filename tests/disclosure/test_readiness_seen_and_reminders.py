""" "Seen" when a defender first opens the embargoed details; reminders to organizations that
have not acknowledged, once per threshold however often the sweep runs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from disclosure.models import AuditEvent, Delivery, Finding, FindingRecipient
from disclosure.services.audience import audience_add
from disclosure.services.channels.email import message_build
from disclosure.services.readiness import finding_acknowledge, readiness_report, reminders_send
from disclosure.tasks import send_readiness_reminders
from tests.factories import MembershipFactory

from .api.conftest import MARKERS


def _row(world, finding: Finding, org=None) -> FindingRecipient:
    return FindingRecipient.objects.get(finding=finding, organization=org or world.defender)


def _detail(finding: Finding) -> str:
    return reverse("finding-detail", args=[finding.reference])


# --- Seen.


def test_opening_the_page_records_the_first_seen_once_per_organization(client, world):
    finding = world.embargoed()
    colleague = MembershipFactory(organization=world.defender).user
    client.force_login(world.defender_user)
    client.get(_detail(finding))
    first = _row(world, finding)
    assert first.first_seen_by == world.defender_user
    assert first.first_seen_at is not None
    client.force_login(colleague)
    client.get(_detail(finding))
    client.get(_detail(finding))
    again = _row(world, finding)
    assert (again.first_seen_at, again.first_seen_by) == (first.first_seen_at, first.first_seen_by)
    (seen,) = AuditEvent.objects.filter(finding=finding, action="finding.seen")
    assert seen.actor == world.defender_user
    assert seen.data == {"organization": world.defender.pk}
    assert AuditEvent.objects.filter(finding=finding, action="finding.read").count() == 3


def test_the_api_detail_records_seen_too(world):
    from rest_framework.test import APIClient

    finding = world.embargoed()
    client = APIClient()
    client.force_login(world.defender_user)
    assert client.get(f"/api/findings/{finding.reference}/").status_code == 200
    assert _row(world, finding).first_seen_by == world.defender_user
    assert AuditEvent.objects.filter(finding=finding, action="finding.seen").count() == 1


@pytest.mark.parametrize("who", ["coordinator", "lab_user"])
def test_reads_by_coordinators_and_the_lab_are_not_seen(client, world, who):
    finding = world.embargoed()
    client.force_login(getattr(world, who))
    client.get(_detail(finding))
    assert _row(world, finding).first_seen_at is None
    assert not AuditEvent.objects.filter(action="finding.seen").exists()


def test_reading_a_released_finding_is_not_seen(client, world):
    finding = world.released()
    client.force_login(world.defender_user)
    client.get(_detail(finding))
    assert _row(world, finding).first_seen_at is None


def test_a_later_read_costs_one_conditional_update_and_nothing_else(client, world):
    finding = world.embargoed()
    client.force_login(world.defender_user)
    client.get(_detail(finding))
    with CaptureQueriesContext(connection) as queries:
        client.get(_detail(finding))
    touching = [q["sql"] for q in queries if "first_seen" in q["sql"] and "UPDATE" in q["sql"]]
    assert len(touching) == 1
    assert "IS NULL" in touching[0]
    assert not [q for q in queries if "SAVEPOINT" in q["sql"]]


# --- Reminders.


def _age(finding: Finding, hours: float) -> None:
    FindingRecipient.objects.filter(finding=finding).update(
        added_at=timezone.now() - timedelta(hours=hours)
    )


def _reminders(finding: Finding, org=None) -> list[Delivery]:
    rows = Delivery.objects.filter(finding=finding, event=Delivery.Event.REMINDER)
    return list(rows.filter(organization=org) if org else rows)


def _causes(finding: Finding) -> int:
    return AuditEvent.objects.filter(finding=finding, action="finding.reminded").count()


def test_the_default_thresholds_are_24_and_72_hours():
    assert settings.READINESS_REMINDER_HOURS == [24, 72]
    schedule = settings.CELERY_BEAT_SCHEDULE["send-readiness-reminders"]
    assert schedule["task"] == send_readiness_reminders.name


def test_no_reminder_before_the_first_threshold(world):
    finding = world.embargoed()
    _age(finding, 23.9)
    assert reminders_send() == 0
    assert _reminders(finding) == []


def test_reminders_at_24_and_72_hours_exactly_once_each_across_runs(world):
    finding = world.embargoed()
    _age(finding, 24.01)
    assert reminders_send() == 1
    assert reminders_send() == 0
    row = _row(world, finding)
    assert (row.reminders_sent, row.last_reminded_at is not None) == (1, True)
    first = len(_reminders(finding))
    assert first > 0
    assert _causes(finding) == 1
    _age(finding, 71.9)
    assert reminders_send() == 0
    _age(finding, 72.01)
    assert send_readiness_reminders.apply().get() == 1
    assert reminders_send() == 0
    _age(finding, 500)
    assert reminders_send() == 0
    assert _row(world, finding).reminders_sent == 2
    assert _causes(finding) == 2
    assert len(_reminders(finding)) == 2 * first


def test_a_reminder_goes_to_that_organization_only(world):
    finding = world.embargoed()
    audience_add(actor=world.coordinator, finding=finding, organizations=[world.other_defender])
    finding_acknowledge(actor=world.other_defender_user, finding=finding)
    _age(finding, 30)
    assert reminders_send() == 1
    assert {d.organization_id for d in _reminders(finding)} == {world.defender.pk}
    (cause,) = AuditEvent.objects.filter(finding=finding, action="finding.reminded")
    assert cause.actor is None
    assert cause.data == {"organization": world.defender.pk, "reminder": 1}
    assert {d.cause_id for d in _reminders(finding)} == {cause.pk}


def test_no_reminder_once_acknowledged_or_a_readiness_is_reported(world):
    acknowledged = world.embargoed()
    finding_acknowledge(actor=world.defender_user, finding=acknowledged)
    reported = world.embargoed()
    readiness_report(actor=world.defender_user, finding=reported, readiness="not_affected")
    _age(acknowledged, 100)
    _age(reported, 100)
    assert reminders_send() == 0


def test_no_reminder_for_a_released_finding(world):
    finding = world.released()
    _age(finding, 100)
    assert reminders_send() == 0
    assert _reminders(finding) == []


def test_a_late_sweep_sends_one_reminder_for_all_the_thresholds_passed(world):
    finding = world.embargoed()
    _age(finding, 100)
    assert reminders_send() == 1
    assert reminders_send() == 0
    assert _row(world, finding).reminders_sent == 2
    assert _causes(finding) == 1


def test_the_reminder_email_is_thin(world):
    finding = world.embargoed()
    _age(finding, 25)
    reminders_send()
    delivery = next(d for d in _reminders(finding) if d.channel == Delivery.Channel.EMAIL)
    message = message_build(delivery, key=None, now=timezone.now())
    text = message.subject + message.body
    assert finding.reference in message.subject
    assert "reminder" in message.subject.lower()
    assert "TLP:AMBER+STRICT" in text
    assert "UTC" in message.body
    assert f"/findings/{finding.reference}/" in message.body
    for secret in (*MARKERS, finding.title):
        assert secret not in text


def test_overdue_organizations_are_flagged_to_coordinators(client, world):
    finding = world.embargoed()
    _age(finding, 25)
    client.force_login(world.coordinator)
    page = client.get(_detail(finding))
    (row,) = page.context["audience"]["rows"]
    assert row.overdue is True
    assert page.context["audience"]["summary"]["overdue"] == 1
    home = client.get(reverse("home"))
    (listed,) = [f for f in home.context["embargoed"] if f.pk == finding.pk]
    assert listed.overdue_count == 1
    assert "1 after reminders" in home.content.decode()
    finding_acknowledge(actor=world.defender_user, finding=finding)
    page = client.get(_detail(finding))
    assert page.context["audience"]["rows"][0].overdue is False


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_send_each_reminder_once(world):
    """Several workers sweeping at the same moment: the row lock and the count decide."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the row lock matters on PostgreSQL")
    finding = world.embargoed()
    _age(finding, 25)
    start = threading.Barrier(4)

    def sweep(_: int) -> int:
        try:
            start.wait()
            return reminders_send()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(sweep, range(4)))
    assert sum(sent) == 1
    assert _causes(finding) == 1
    assert _row(world, finding).reminders_sent == 1
