"""The OpenAPI schema is served, valid and free of warnings; the interactive docs load."""

from django.core.management import call_command


def test_the_schema_endpoint_answers(db, api):
    response = api(None).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/findings/{reference}/accept/" in response.content


def test_the_schema_validates_without_warnings(db, tmp_path):
    # --fail-on-warn turns any drf-spectacular warning (an unresolved type, a missing
    # serializer) into a failure.
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "bearerAuth" in out.read_text()


def test_the_docs_page_loads(db, api):
    response = api(None).get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
