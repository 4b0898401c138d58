"""Each released advisory is a CSAF 2.0 document that passes the ``csaf`` package's validator
(JSON schema and mandatory tests), before and after updates, with the TLP label mapped."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from disclosure.csaf import TLP_V1, csaf_bytes, csaf_document, csaf_render, csaf_tlp_label
from disclosure.models import CapabilityCategory, Finding
from disclosure.selectors_publication import advisory_versions
from disclosure.services.advisories import advisory_update
from tests.disclosure.publication import (
    csaf_path,
    csaf_problems,
    ran_tests,
    released_factory,
    served_csaf,
)

pytestmark = pytest.mark.django_db

MANDATORY = {f"6.1.{n}" for n in range(1, 34)}


def test_a_released_factory_finding_with_everything_passes_schema_and_mandatory_tests(client):
    finding = released_factory()
    document = served_csaf(client, finding)
    assert csaf_problems(document) == []
    assert {"schema", *MANDATORY} <= ran_tests(document)  # the tests did run
    vulnerability = document["vulnerabilities"][0]
    assert document["document"]["category"] == "csaf_security_advisory"
    assert vulnerability["product_status"] == {"known_affected": ["CSAFPID-0001"]}
    titles = [note["title"] for note in vulnerability["notes"]]
    assert titles == [
        "Details",
        "Capability category",
        "Evaluations",
        "Affected sectors",
        "Deployment",
    ]
    assert "Cyber range" in vulnerability["notes"][2]["text"]
    assert [r["category"] for r in vulnerability["remediations"]] == [
        "mitigation",  # the recommended defender actions
        "none_available",  # planned
        "none_available",  # in progress
        "vendor_fix",  # deployed
        "no_fix_planned",
    ]
    assert vulnerability["threats"][0]["details"] == (
        "Risk before mitigations: High. Risk after mitigations: Medium."
    )


def test_a_bare_released_finding_passes_too():
    finding = released_factory(rich=False, model_version="", recommended_actions="")
    document = json.loads(csaf_render(finding))
    assert csaf_problems(document) == []
    assert "remediations" not in document["vulnerabilities"][0]
    model = document["product_tree"]["branches"][0]["branches"][0]
    assert model == {
        "category": "product_name",
        "name": "Frontier-1",
        "product": {"name": f"{finding.developer.name} Frontier-1", "product_id": "CSAFPID-0001"},
    }


def test_findings_of_every_shipped_category_pass():
    categories = CapabilityCategory.objects.select_related("taxonomy")
    assert categories.count() > 10
    for category in categories:
        finding = released_factory(category=category.key)
        assert csaf_problems(json.loads(csaf_render(finding))) == [], category.key


@pytest.mark.parametrize(
    "version", ["checkpoint before RLHF", "< 2026-10", "all", "v3.x", "prior to launch"]
)
def test_a_checkpoint_name_that_reads_as_a_range_goes_into_the_product_name(version):
    finding = released_factory(model_version=version)
    document = json.loads(csaf_render(finding))
    assert csaf_problems(document) == []  # 6.1.31 would refuse it as a product_version
    model = document["product_tree"]["branches"][0]["branches"][0]
    assert model["name"] == f"Frontier-1 ({version})"


def test_updates_grow_the_revision_history_and_the_version(world, client):
    finding = world.released()
    first = served_csaf(client, finding)
    assert first["document"]["tracking"]["version"] == "1"
    advisory_update(
        actor=world.coordinator,
        finding=finding,
        changes={"mitigations": [{"description": "Refusal training", "status": "deployed"}]},
        note="The lab deployed refusal training.",
    )
    advisory_update(
        actor=world.coordinator,
        finding=finding,
        changes={"residual_risk_level": "medium"},
        note="Residual risk assessed.",
    )
    document = served_csaf(client, finding)
    assert csaf_problems(document) == []
    tracking = document["document"]["tracking"]
    assert tracking["version"] == "3"
    assert [(r["number"], r["summary"]) for r in tracking["revision_history"]] == [
        ("1", "Initial public release."),
        ("2", "The lab deployed refusal training."),
        ("3", "Residual risk assessed."),
    ]
    assert tracking["initial_release_date"] == first["document"]["tracking"]["initial_release_date"]
    assert tracking["current_release_date"] == tracking["revision_history"][-1]["date"]
    assert tracking["current_release_date"] > tracking["initial_release_date"]
    assert (
        "Risk after mitigations: Medium." in document["vulnerabilities"][0]["threats"][0]["details"]
    )


def test_an_update_recorded_before_the_release_time_by_a_lagging_clock_keeps_dates_in_order(
    world,
):
    finding = world.released()
    advisory_update(actor=world.coordinator, finding=finding, changes={"title": "New"}, note="x")
    # The release's worker ran ahead: its time is after the update's.
    Finding.objects.filter(pk=finding.pk).update(
        released_at=timezone.now() + dt.timedelta(minutes=5)
    )
    finding.refresh_from_db()
    versions = advisory_versions(finding)
    assert versions[1].date == versions[0].date
    assert csaf_problems(json.loads(csaf_render(finding))) == []


def test_the_document_is_deterministic_with_sorted_keys(world):
    finding = world.released()
    body = csaf_render(finding)
    assert body == csaf_render(Finding.objects.get(pk=finding.pk))
    assert body == csaf_bytes(json.loads(body))  # one serialization: sorted keys, UTF-8


@pytest.mark.parametrize(
    ("tlp2", "tlp1"),
    [
        ("CLEAR", "WHITE"),
        ("GREEN", "GREEN"),
        ("AMBER", "AMBER"),
        ("AMBER+STRICT", "AMBER"),
        ("RED", "RED"),
    ],
)
def test_tlp_2_labels_map_to_the_tlp_1_labels_csaf_2_knows(tlp2, tlp1):
    assert csaf_tlp_label(tlp2) == tlp1
    assert set(TLP_V1) == set(Finding.Tlp.values)


def test_a_released_advisory_is_white_whatever_its_label_under_embargo_and_says_so():
    finding = released_factory(tlp=Finding.Tlp.RED)
    document = json.loads(csaf_render(finding))["document"]
    assert document["distribution"]["tlp"] == {
        "label": "WHITE",
        "url": "https://www.first.org/tlp/",
    }
    assert "TLP:CLEAR" in document["distribution"]["text"]
    tlp_note = next(n for n in document["notes"] if n["title"] == "Traffic Light Protocol")
    assert "CLEAR" in tlp_note["text"] and "WHITE" in tlp_note["text"]


def test_an_unreleased_finding_has_no_document(world):
    finding = world.embargoed()
    with pytest.raises(ValueError, match="not released"):
        csaf_document(finding, advisory_versions(finding))


def test_the_api_serves_the_same_bytes_as_the_provider_directory(world, client):
    finding = world.released()
    api = client.get(f"/api/advisories/{finding.reference}/csaf/")
    assert api.status_code == 200
    assert api["Content-Type"] == "application/json"
    self_url = api.json()["document"]["references"][0]["url"]
    assert urlsplit(self_url).path == csaf_path(finding)
    assert client.get(csaf_path(finding)).content == api.content
    advisory = client.get(f"/api/advisories/{finding.reference}/").json()
    assert advisory["csaf_url"] == self_url


def test_the_validator_used_here_does_refuse_a_broken_document(world):
    document = json.loads(csaf_render(world.released()))
    document["document"]["tracking"]["version"] = "2"  # no revision 2 in the history
    del document["vulnerabilities"][0]["product_status"]
    problems = csaf_problems(document)
    assert any(p.startswith("6.1.16") for p in problems)
    assert any(p.startswith("6.1.27") for p in problems)
