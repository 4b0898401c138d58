"""The input limits (config.bad_input, config.parsers): what is refused, with which status and
message, and that each refusal is logged. test_bad_payloads sends every such case to every
endpoint; these pin down the answers themselves."""

from __future__ import annotations

import html
import json
import logging

import pytest
from django.conf import settings
from django.test import Client

from config.parsers import MAX_JSON_DEPTH
from disclosure.models import AuditEvent, Finding
from tests.disclosure.api.conftest import FINDING_BODY


@pytest.fixture
def lab(world) -> Client:
    client = Client()
    client.force_login(world.lab_user)
    return client


def _post_json(client: Client, path: str, body: str | bytes):
    return client.post(path, body, content_type="application/json")


def test_a_json_body_over_the_limit_is_a_413_naming_the_limit(lab, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = json.dumps({**FINDING_BODY, "details": "x" * 1_000})
    response = _post_json(lab, "/api/findings/", body)
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "The request body is larger than the 1,000 bytes this site accepts."
    )
    assert not Finding.objects.exists()


def test_form_fields_over_the_limit_are_a_413_page(lab, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = lab.post("/findings/new/", {"title": "x" * 1_000})
    assert response.status_code == 413
    page = response.content.decode()
    assert "<h1>Request too large</h1>" in page
    assert "1,000 bytes" in page


def test_an_upload_may_be_larger_than_the_form_limit_up_to_the_attachment_limit(settings):
    from config.bad_input import body_limit

    assert body_limit("multipart/form-data") == (
        settings.ATTACHMENT_MAX_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )
    assert body_limit("application/json") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@pytest.mark.parametrize("field", ["title", "evaluations"])
def test_a_nul_in_json_is_a_400_naming_the_field(lab, field):
    value = "a\x00b" if field == "title" else [{"name": "a\x00b"}]
    response = _post_json(lab, "/api/findings/", json.dumps({**FINDING_BODY, field: value}))
    assert response.status_code == 400
    assert response.json()["detail"] == (f"Null characters (\\u0000) are not allowed (in {field}).")


def test_a_nul_in_a_form_is_a_400_naming_the_field(lab):
    response = lab.post(
        "/findings/new/", "title=a%00b", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "are not allowed (in title)" in response.content.decode()


@pytest.mark.parametrize("path", ["/findings/FW-2026-0001%00/", "/findings/?q=a%00b"])
def test_a_nul_in_the_url_is_a_400(lab, path):
    response = lab.get(path)
    assert response.status_code == 400
    assert "are not allowed in the URL" in response.content.decode()


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 10_000])
def test_json_nested_too_deeply_is_a_400(lab, depth):
    body = '{"a":' * depth + "1" + "}" * depth
    response = _post_json(lab, "/api/findings/", body)
    assert response.status_code == 400
    assert response.json()["detail"] == f"JSON nested more than {MAX_JSON_DEPTH} levels deep."


def test_json_as_deep_as_the_limit_is_read(lab):
    body = '{"a":' * (MAX_JSON_DEPTH - 1) + "1" + "}" * (MAX_JSON_DEPTH - 1)
    response = _post_json(lab, "/api/findings/", body)
    assert response.status_code == 400
    assert "a" in response.json()["detail"]  # the serializer's answer: no such field


@pytest.mark.parametrize("body", ["[]", '"text"', "12", "null"])
def test_json_that_is_not_an_object_is_a_400_even_where_no_body_is_read(lab, body):
    response = _post_json(lab, "/api/inbox/read-all/", body)
    assert response.status_code == 400
    assert response.json()["detail"] == "The request body must be a JSON object."
    assert not AuditEvent.objects.filter(action="inbox.read_all").exists()


def test_a_form_that_is_not_utf8_is_a_400(lab):
    response = lab.post(
        "/inbox/read-all/", b"x=%FF%FE", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "not valid UTF-8" in response.content.decode()


@pytest.mark.parametrize(
    ("path", "takes"), [("/api/inbox/read-all/", "JSON or a form"), ("/inbox/read-all/", "a form")]
)
def test_a_content_type_no_view_takes_is_a_415_naming_it(lab, path, takes):
    response = lab.post(path, b"<a/>", content_type="application/xml")
    assert response.status_code == 415
    text = html.unescape(response.content.decode())
    assert "'application/xml'" in text
    assert takes in text


def test_too_many_form_fields_is_a_400_naming_the_limit(lab):
    fields = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = lab.post(
        "/inbox/read-all/", fields, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields" in (
        response.content.decode()
    )


def test_a_refusal_is_logged_by_django_request_at_warning(lab, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        _post_json(lab, "/api/findings/", "[1]")
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.WARNING, "Bad Request: /api/findings/")
    ]


def test_the_logging_settings_keep_warnings_of_refusals():
    config = settings.LOGGING
    assert logging.getLevelName(config["root"]["level"]) <= logging.WARNING
    assert config["root"]["handlers"]
    for name in ("django", "django.request", "django.security", "accounts"):
        assert config.get("loggers", {}).get(name, {}).get("propagate", True), name
        level = config.get("loggers", {}).get(name, {}).get("level", "NOTSET")
        assert logging.getLevelName(level) <= logging.WARNING, name
    assert not config.get("disable_existing_loggers", False)
