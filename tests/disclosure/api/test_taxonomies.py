"""Taxonomies and sectors by API: everyone logged in reads them, coordinators add their own."""

import pytest

from disclosure.models import AuditEvent, CapabilityCategory, Taxonomy

NEW_TAXONOMY = {
    "framework": "Example Center Frontier Policy",
    "version": "v1 (2026)",
    "slug": "example-center-v1",
    "source_url": "https://cc.example/policy",
}


def _taxonomy(api, world, body=None):
    return api(world.coordinator).post("/api/taxonomies/", body or NEW_TAXONOMY, format="json")


def test_the_shipped_taxonomies_are_listed_with_their_categories(world, api):
    body = api(world.defender_user).get("/api/taxonomies/").json()
    by_slug = {t["slug"]: t for t in body["results"]}
    assert set(by_slug) == {"openai-pf-v1", "openai-pf-v2", "anthropic-rsp", "gdm-fsf"}
    v2 = by_slug["openai-pf-v2"]
    assert v2["shipped"] is True
    assert v2["categories"][0] == {
        "key": "openai-pf-v2:biological-chemical",
        "code": "biological-chemical",
        "label": "Biological and Chemical",
        "kind": "tracked",
        "description": "",
    }
    assert [c["code"] for c in by_slug["gdm-fsf"]["categories"]][:2] == [
        "cbrn-uplift-1",
        "cyber-uplift-1",
    ]


def test_one_taxonomy_is_read_by_its_slug(world, api):
    body = api(world.lab_user).get("/api/taxonomies/anthropic-rsp/").json()
    assert [c["label"] for c in body["categories"]] == [
        "CBRN-3",
        "CBRN-4",
        "AI R&D-4",
        "AI R&D-5",
        "Cyber operations",
    ]


def test_an_unknown_taxonomy_is_a_404(world, api):
    assert api(world.lab_user).get("/api/taxonomies/nope/").status_code == 404


def test_sectors_are_listed_for_any_logged_in_user(world, api):
    body = api(world.other_defender_user).get("/api/sectors/").json()
    slugs = [s["slug"] for s in body["results"]]
    assert "energy" in slugs and "nucleic-acid-synthesis" in slugs
    assert body["results"][0] == {"slug": "chemical", "name": "Chemical"}


@pytest.mark.parametrize("url", ["/api/taxonomies/", "/api/sectors/"])
def test_reference_data_needs_a_login(db, api, url):
    assert api(None).get(url).status_code == 401


def test_a_coordinator_adds_a_taxonomy_and_a_category_to_it(world, api):
    response = _taxonomy(api, world)
    assert response.status_code == 201, response.content
    assert (response.json()["shipped"], response.json()["categories"]) == (False, [])
    response = api(world.coordinator).post(
        "/api/taxonomies/example-center-v1/categories/",
        {"code": "grid-ops", "label": "Grid operations uplift", "kind": "threshold"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["key"] == "example-center-v1:grid-ops"
    taxonomy = Taxonomy.objects.get(slug="example-center-v1")
    assert taxonomy.created_by == world.coordinator
    actions = list(AuditEvent.objects.values_list("action", "actor__email"))
    assert actions == [
        ("taxonomy.created", "coord@cc.example"),
        ("taxonomy.category_created", "coord@cc.example"),
    ]


def test_a_finding_can_name_a_category_a_coordinator_added(world, api):
    _taxonomy(api, world)
    api(world.coordinator).post(
        "/api/taxonomies/example-center-v1/categories/",
        {"code": "grid-ops", "label": "Grid operations uplift"},
        format="json",
    )
    finding = world.file(category="example-center-v1:grid-ops")
    assert finding.category.label == "Grid operations uplift"


@pytest.mark.parametrize("who", ["lab_user", "defender_user"])
def test_only_coordinators_add_taxonomies(world, api, who):
    response = api(getattr(world, who)).post("/api/taxonomies/", NEW_TAXONOMY, format="json")
    assert response.status_code == 403
    assert not Taxonomy.objects.filter(slug="example-center-v1").exists()


def test_a_shipped_taxonomy_is_read_only(world, api):
    response = api(world.coordinator).post(
        "/api/taxonomies/openai-pf-v2/categories/",
        {"code": "weather", "label": "Weather control"},
        format="json",
    )
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert not CapabilityCategory.objects.filter(code="weather").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "openai-pf-v2"}, "slug"),
        ({"framework": "OpenAI Preparedness Framework", "version": "v2 (2025)"}, "version"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"framework": ""}, "framework"),
        ({"source_url": "javascript:alert(1)"}, "source_url"),
    ],
)
def test_a_bad_taxonomy_is_a_400_naming_the_field(world, api, change, field):
    before = Taxonomy.objects.count()
    response = _taxonomy(api, world, {**NEW_TAXONOMY, **change})
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert Taxonomy.objects.count() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "grid-ops", "label": "Again"}, "code"),
        ({"code": "Grid Ops", "label": "X"}, "code"),
        ({"code": "x", "label": ""}, "label"),
        ({"code": "x", "label": "X", "kind": "vibes"}, "kind"),
        ({"code": "x", "label": "X", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_category_is_a_400_naming_the_field(world, api, body, field):
    _taxonomy(api, world)
    url = "/api/taxonomies/example-center-v1/categories/"
    api(world.coordinator).post(url, {"code": "grid-ops", "label": "Grid"}, format="json")
    response = api(world.coordinator).post(url, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert CapabilityCategory.objects.filter(taxonomy__slug="example-center-v1").count() == 1
