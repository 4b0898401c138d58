"""Released findings are public at /api/advisories/, in full; nothing else is there."""

from disclosure.models import AuditEvent


def test_anyone_lists_released_findings_with_every_field(world, api):
    released = world.released()
    world.embargoed()
    body = api(None).get("/api/advisories/").json()
    assert body["count"] == 1
    advisory = body["results"][0]
    assert advisory["reference"] == released.reference
    assert advisory["details"].startswith("EMBARGOED-DETAIL")
    assert advisory["recommended_actions"].startswith("EMBARGOED-ACTION")
    assert advisory["model_version"] == "ckpt-2026-10"
    assert advisory["released_at"] is not None


def test_anyone_reads_one_advisory_without_an_audit_row(world, api):
    released = world.released()
    before = AuditEvent.objects.count()
    response = api(None).get(f"/api/advisories/{released.reference}/")
    assert response.status_code == 200
    assert response.json()["developer"] == {"slug": "example-lab", "name": "Example Lab"}
    assert AuditEvent.objects.count() == before


def test_an_embargoed_finding_is_not_an_advisory_even_for_its_lab(world, api):
    finding = world.embargoed()
    response = api(world.lab_user).get(f"/api/advisories/{finding.reference}/")
    assert response.status_code == 404


def test_advisories_are_newest_release_first(world, api):
    first, second = world.released(), world.released()
    body = api(None).get("/api/advisories/").json()
    assert [a["reference"] for a in body["results"]] == [second.reference, first.reference]
