"""The list's fast row builder gives exactly what the summary serializer gives."""

from __future__ import annotations

from django.utils import timezone

from disclosure.api.rows import rows_data
from disclosure.api.serializers import FindingSummarySerializer
from disclosure.models import Finding
from tests.factories import FindingFactory


def test_rows_data_equals_the_summary_serializer_for_findings_in_every_state(world):
    world.file()
    world.submitted()
    world.embargoed()
    world.rejected()
    world.released()
    FindingFactory(
        developer=world.lab,
        created_by=world.lab_user,
        residual_risk_level="medium",
        tlp=Finding.Tlp.RED,
        submitted_at=timezone.now(),
    )
    findings = list(
        Finding.objects.select_related("developer", "category__taxonomy").order_by("id")
    )
    assert len(findings) == 6
    expected = FindingSummarySerializer(findings, many=True).data
    assert rows_data(FindingSummarySerializer, findings) == expected


def test_the_list_serves_the_summary_serializers_rows(world, api):
    world.embargoed()
    world.file()
    listed = api(world.lab_user).get("/api/findings/").json()["results"]
    findings = Finding.objects.order_by("-created_at", "-id")
    assert listed == FindingSummarySerializer(findings, many=True).data
