"""The release plan card on the finding page: coordinators edit it, others read it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from disclosure.models import Finding, ReleaseStage
from disclosure.services.stages import plan_set, stage_fire
from tests.conftest import World


def _page(finding: Finding) -> str:
    return f"/findings/{finding.reference}/"


def _post_url(finding: Finding) -> str:
    return f"/findings/{finding.reference}/release-plan/"


def _local(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _form(rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "stage-TOTAL_FORMS": str(len(rows)),
        "stage-INITIAL_FORMS": "0",
        "stage-MIN_NUM_FORMS": "0",
        "stage-MAX_NUM_FORMS": "10",
        "time_zone": "UTC",
        "reason": "",
        **extra,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"stage-{i}-{key}"] = value
    return data


def _staged(world: World) -> Finding:
    """water-cert brought in by a fired stage 2 at TLP:GREEN."""
    finding = world.embargoed()
    plan_set(
        actor=world.coordinator,
        finding=finding,
        stages=[
            {},
            {
                "audience": "organizations",
                "organizations": ["water-cert"],
                "tlp": "GREEN",
                "scheduled_at": timezone.now() + timedelta(hours=1),
            },
            {"audience": "public", "scheduled_at": finding.embargo_ends_at},
        ],
    )
    second = ReleaseStage.objects.get(finding=finding, position=2)
    ReleaseStage.objects.filter(pk=second.pk).update(scheduled_at=timezone.now())
    assert stage_fire(second.pk)
    return finding


def test_the_coordinator_sees_the_plan_and_its_form(client, world: World):
    finding = world.embargoed()
    client.force_login(world.coordinator)

    page = client.get(_page(finding)).content.decode()

    assert "Release plan" in page
    assert f'action="{_post_url(finding)}"' in page
    assert "Grid ISAC" in page  # stage 1's organization


def test_the_coordinator_adds_a_stage_from_the_page(client, world: World):
    finding = world.embargoed()
    client.force_login(world.coordinator)
    at = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)

    response = client.post(
        _post_url(finding),
        _form(
            [
                {"audience": "public", "scheduled_at": _local(finding.embargo_ends_at)},
                {"audience": "community", "tlp": "GREEN", "scheduled_at": _local(at)},
            ]
        ),
    )

    assert response.status_code == 302
    stages = ReleaseStage.objects.filter(finding=finding).order_by("position")
    assert [(s.audience, s.tlp) for s in stages] == [
        ("organizations", "AMBER+STRICT"),
        ("community", "GREEN"),
        ("public", "CLEAR"),
    ]
    assert stages[1].scheduled_at == at
    # The release row still showed its time: it keeps it to the second, nothing is moved.
    finding.refresh_from_db()
    assert stages[2].scheduled_at == finding.embargo_ends_at


def test_a_refused_plan_shows_the_error_on_its_row_with_a_400(client, world: World):
    finding = world.embargoed()
    client.force_login(world.coordinator)

    response = client.post(
        _post_url(finding),
        _form(
            [
                {"audience": "public", "scheduled_at": _local(finding.embargo_ends_at)},
                {
                    "audience": "community",
                    "tlp": "RED",
                    "scheduled_at": _local(finding.embargo_ends_at - timedelta(days=1)),
                },
            ]
        ),
    )

    assert response.status_code == 400
    assert "Must not be stricter than stages[0]" in response.content.decode()
    assert ReleaseStage.objects.filter(finding=finding).count() == 2


def test_a_notified_defender_reads_the_plan_without_other_organizations(client, world: World):
    finding = _staged(world)
    client.force_login(world.defender_user)

    page = client.get(_page(finding)).content.decode()

    assert "Release plan" in page
    assert "Water CERT" not in page
    assert 'action="' + _post_url(finding) not in page


def test_a_stage_newcomer_sees_the_stages_label(client, world: World):
    finding = _staged(world)
    client.force_login(world.other_defender_user)

    page = client.get(_page(finding)).content.decode()

    assert '<span class="tlp tlp--green">TLP:GREEN</span>' in page
    assert "TLP:AMBER+STRICT</span>" not in page.split("Release plan")[0]


def test_the_lab_reads_it_and_cannot_change_it(client, world: World):
    finding = _staged(world)
    client.force_login(world.lab_user)

    page = client.get(_page(finding)).content.decode()
    assert "Water CERT" in page and 'action="' + _post_url(finding) not in page

    response = client.post(_post_url(finding), _form([]))
    assert response.status_code == 403


def test_someone_who_may_not_see_the_finding_gets_a_404(client, world: World):
    finding = world.embargoed()
    client.force_login(world.other_defender_user)
    assert client.post(_post_url(finding), _form([])).status_code == 404


def test_the_form_shows_times_in_the_coordinators_zone_and_saving_them_moves_nothing(
    client, world: World
):
    world.coordinator.time_zone = "Europe/Berlin"
    world.coordinator.save(update_fields=["time_zone"])
    finding = world.embargoed()
    client.force_login(world.coordinator)
    page = client.get(_page(finding)).content.decode()
    berlin = finding.embargo_ends_at.astimezone(ZoneInfo("Europe/Berlin"))
    shown = re.search(r'name="stage-0-scheduled_at" value="([^"]+)"', page)
    assert shown is not None and shown.group(1) == _local(berlin)

    response = client.post(
        _post_url(finding),
        _form(
            [{"audience": "public", "tlp": "CLEAR", "scheduled_at": shown.group(1)}],
            time_zone="Europe/Berlin",
        ),
    )

    assert response.status_code == 302
    before = finding.embargo_ends_at
    finding.refresh_from_db()
    assert finding.embargo_ends_at == before
