"""The discussion API beyond the scope matrix: shapes, bad input, sanitised Markdown."""

from __future__ import annotations

import pytest

from disclosure.models import Thread
from disclosure.services.discussion import thread_open

Scope = Thread.Scope


def _threads_url(finding) -> str:
    return f"/api/findings/{finding.reference}/threads/"


def test_a_coordinator_opens_a_thread_and_gets_it_back(world, api):
    finding = world.submitted()
    response = api(world.coordinator).post(
        _threads_url(finding),
        {"scope": "lab", "subject": "Checkpoint", "body": "Which *checkpoint*?"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["scope"] == "lab"
    assert body["organization"] is None
    assert body["finding"] == finding.reference
    assert body["created_by"] == "coord@cc.example"
    assert body["comment_count"] == 1
    comments = api(world.lab_user).get(f"/api/threads/{body['id']}/comments/").json()
    assert comments["results"][0]["body_html"] == "<p>Which <em>checkpoint</em>?</p>"


def test_a_thread_for_one_organization_names_it_by_slug(world, api):
    finding = world.embargoed()
    response = api(world.coordinator).post(
        _threads_url(finding),
        {"scope": "organization", "organization": "grid-isac", "subject": "s", "body": "b"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["organization"] == "grid-isac"


def test_a_comment_is_returned_sanitised(world, api):
    thread = thread_open(
        actor=world.coordinator, finding=world.submitted(), scope=Scope.LAB, subject="s", body="b"
    )
    response = api(world.lab_user).post(
        f"/api/threads/{thread.pk}/comments/",
        {"body": "<script>alert(1)</script> [x](javascript:alert(1)) ![p](https://e.example/p)"},
        format="json",
    )
    assert response.status_code == 201
    html = response.json()["body_html"]
    assert "<script" not in html
    assert "javascript:" not in html
    assert "<img" not in html


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "world", "subject": "s", "body": "b"}, "scope"),
        ({"scope": "lab", "body": "b"}, "subject"),
        ({"scope": "lab", "subject": "s", "body": ""}, "body"),
        ({"scope": "lab", "subject": "s" * 201, "body": "b"}, "subject"),
        ({"scope": "organization", "subject": "s", "body": "b"}, "organization"),
        (
            {"scope": "organization", "organization": "nope", "subject": "s", "body": "b"},
            "organization",
        ),
        ({"scope": "lab", "subject": "s", "body": "b", "author": "x"}, "author"),
    ],
)
def test_bad_thread_input_is_a_400_naming_the_field(world, api, body, field):
    response = api(world.coordinator).post(_threads_url(world.embargoed()), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["detail"]
    assert not Thread.objects.exists()


def test_an_empty_comment_is_a_400(world, api):
    thread = thread_open(
        actor=world.coordinator, finding=world.submitted(), scope=Scope.LAB, subject="s", body="b"
    )
    response = api(world.lab_user).post(
        f"/api/threads/{thread.pk}/comments/", {"body": " "}, format="json"
    )
    assert response.status_code == 400
    assert "body" in response.json()["detail"]


def test_no_thread_on_a_draft_is_a_409(world, api):
    response = api(world.lab_user).post(
        _threads_url(world.file()), {"scope": "lab", "subject": "s", "body": "b"}, format="json"
    )
    assert response.status_code == 409


def test_a_thread_from_someone_who_may_open_none_is_refused_before_its_body_is_read(world, api):
    response = api(world.other_defender_user).post(_threads_url(world.released()), {})
    assert response.status_code == 403  # not the 400 of a missing scope
    assert not Thread.objects.exists()


def test_a_thread_that_does_not_exist_is_a_404(world, api):
    assert api(world.coordinator).get("/api/threads/999999/comments/").status_code == 404


def test_comments_come_oldest_first(world, api):
    thread = thread_open(
        actor=world.coordinator, finding=world.submitted(), scope=Scope.LAB, subject="s", body="1"
    )
    client = api(world.lab_user)
    for text in ("2", "3"):
        client.post(f"/api/threads/{thread.pk}/comments/", {"body": text}, format="json")
    bodies = [
        c["body"] for c in client.get(f"/api/threads/{thread.pk}/comments/").json()["results"]
    ]
    assert bodies == ["1", "2", "3"]
