"""The attachments API: upload, list, download, remove; who gets a 404; audits; query budgets."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import api_token_create
from disclosure.api import attachments as attachments_api
from disclosure.models import Attachment, AuditEvent, Finding
from disclosure.services.attachments import attachment_add
from tests.factories import attachments as files

ROWS = [1, 50]


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path) -> Path:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


def _list_url(finding: Finding) -> str:
    return f"/api/findings/{finding.reference}/attachments/"


def _url(attachment: Attachment, suffix: str = "") -> str:
    return f"/api/findings/{attachment.finding.reference}/attachments/{attachment.pk}/{suffix}"


def _upload(client: APIClient, finding: Finding, name: str, content: bytes):
    return client.post(
        _list_url(finding), {"file": files.upload(name, content)}, format="multipart"
    )


def _attached(world, finding: Finding, name: str = "evidence.pdf", content: bytes = files.PDF):
    actor = world.lab_user
    return attachment_add(actor=actor, finding=finding, upload=files.upload(name, content))


def _released(world) -> tuple[Finding, Attachment]:
    finding = world.embargoed()
    attachment = _attached(world, finding)
    Finding.objects.filter(pk=finding.pk).update(
        state=Finding.State.RELEASED, released_at=timezone.now()
    )
    finding.refresh_from_db()
    return finding, attachment


# --- Upload and download


def test_upload_answers_201_with_the_metadata(world, api):
    finding = world.file()
    response = _upload(api(world.lab_user), finding, "evaluation.pdf", files.PDF)

    assert response.status_code == 201
    body = response.json()
    attachment = Attachment.objects.get()
    assert body == {
        "id": attachment.pk,
        "name": "evaluation.pdf",
        "content_type": "application/pdf",
        "size": len(files.PDF),
        "sha256": hashlib.sha256(files.PDF).hexdigest(),
        "uploaded_by": world.lab_user.email,
        "created_at": body["created_at"],
        "download_url": f"/api/findings/{finding.reference}/attachments/{attachment.pk}/download/",
    }


def test_the_downloaded_bytes_are_the_uploaded_bytes(world, api):
    client = api(world.lab_user)
    content = files.png()
    created = _upload(client, world.file(), "chart.png", content).json()

    response = client.get(created["download_url"])

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content


def test_a_download_carries_the_protective_headers(world, api):
    attachment = _attached(world, world.file())

    response = api(world.lab_user).get(_url(attachment, "download/"))

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"evidence.pdf\"; filename*=UTF-8''evidence.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Content-Length"] == str(len(files.PDF))


def test_a_unicode_name_is_encoded_in_the_content_disposition(world, api):
    attachment = _attached(world, world.file(), name="résumé «test».pdf")

    response = api(world.lab_user).get(_url(attachment, "download/"))

    assert response["Content-Disposition"] == (
        'attachment; filename="resume test.pdf"; '
        f"filename*=UTF-8''{quote('résumé «test».pdf', safe='')}"
    )


def test_text_is_served_as_utf8_text_whatever_the_accept_header(world, api):
    attachment = _attached(world, world.file(), name="notes.txt", content=files.TEXT)

    response = api(world.lab_user).get(_url(attachment, "download/"), HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_a_bearer_token_can_download(world):
    attachment = _attached(world, world.file())
    _, raw = api_token_create(user=world.lab_user, name="ci")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.get(_url(attachment, "download/"))

    assert b"".join(response.streaming_content) == files.PDF


def test_every_download_is_audited(world, api):
    finding = world.embargoed()
    attachment = _attached(world, finding)
    client = api(world.defender_user)

    client.get(_url(attachment, "download/"))
    client.get(_url(attachment, "download/"))

    events = AuditEvent.objects.filter(action="attachment.downloaded")
    assert events.count() == 2
    event = events.first()
    assert event.actor == world.defender_user
    assert event.finding == finding
    assert event.note == "evidence.pdf"  # encrypted at rest; never in data
    assert event.data == {
        "attachment": attachment.pk,
        "sha256": attachment.sha256,
        "via": "api",
    }


def test_downloads_of_released_findings_are_audited_too(world, api):
    _, attachment = _released(world)
    api(world.defender_user).get(_url(attachment, "download/"))
    assert AuditEvent.objects.filter(action="attachment.downloaded").count() == 1


def test_the_list_shows_the_findings_attachments(world, api):
    finding = world.embargoed()
    attachment = _attached(world, finding)
    _attached(world, world.embargoed(), name="another-findings.pdf")

    body = api(world.defender_user).get(_list_url(finding)).json()

    assert body["count"] == 1
    assert [row["id"] for row in body["results"]] == [attachment.pk]


def test_one_attachments_metadata(world, api):
    attachment = _attached(world, world.file())
    body = api(world.lab_user).get(_url(attachment)).json()
    assert body["sha256"] == attachment.sha256


# --- Bad input: a clear 400 and nothing stored


def test_an_oversized_upload_is_400_naming_the_limit(world, api, settings, private_root):
    settings.ATTACHMENT_MAX_BYTES = 2048
    response = _upload(api(world.lab_user), world.file(), "big.txt", b"a" * 5000)

    assert response.status_code == 400
    assert response.json() == {"detail": {"file": "File is larger than 2 KB."}}
    assert files.stored_files(private_root) == []
    assert not Attachment.objects.exists()


def test_an_oversized_upload_is_dropped_while_parsing_before_the_service_sees_it(
    world, api, settings, monkeypatch
):
    settings.ATTACHMENT_MAX_BYTES = 2048

    def unreachable(**kwargs):
        raise AssertionError("the oversized file reached the service")

    monkeypatch.setattr(attachments_api.service, "attachment_add", unreachable)
    response = _upload(api(world.lab_user), world.file(), "big.txt", b"a" * 100_000)

    assert response.status_code == 400
    assert response.json() == {"detail": {"file": "File is larger than 2 KB."}}


def test_an_executable_named_pdf_is_400_naming_the_detected_type(world, api, private_root):
    response = _upload(api(world.lab_user), world.file(), "report.pdf", files.ELF)

    assert response.status_code == 400
    assert "application/x-executable" in response.json()["detail"]["file"]
    assert files.stored_files(private_root) == []


def test_a_pdf_named_png_is_400(world, api):
    response = _upload(api(world.lab_user), world.file(), "chart.png", files.PDF)
    assert response.status_code == 400
    assert "Rename it to .pdf" in response.json()["detail"]["file"]


def test_an_upload_without_a_file_is_400(world, api):
    response = api(world.lab_user).post(_list_url(world.file()), {}, format="multipart")
    assert response.status_code == 400
    assert "multipart field `file`" in response.json()["detail"]["file"]


def test_a_json_body_is_415(world, api):
    response = api(world.lab_user).post(_list_url(world.file()), {"file": "x"}, format="json")
    assert response.status_code == 415


def test_a_traversal_name_is_sanitised(world, api, private_root):
    body = _upload(api(world.lab_user), world.file(), "../../etc/passwd.pdf", files.PDF).json()

    assert body["name"] == "passwd.pdf"
    (stored,) = files.stored_files(private_root)
    assert stored.resolve().is_relative_to(Path(private_root).resolve())


# --- Who may do what


def test_a_notified_defender_may_read_but_not_upload(world, api):
    finding = world.embargoed()
    response = _upload(api(world.defender_user), finding, "x.pdf", files.PDF)
    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_a_notified_defender_may_not_remove(world, api):
    attachment = _attached(world, world.embargoed())
    assert api(world.defender_user).delete(_url(attachment)).status_code == 403
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_the_lab_removes_an_attachment(world, api, django_capture_on_commit_callbacks):
    attachment = _attached(world, world.file())
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.lab_user).delete(_url(attachment))
    assert response.status_code == 204
    assert not Attachment.objects.exists()


def test_nothing_is_removed_after_release(world, api):
    _, attachment = _released(world)
    assert api(world.lab_user).delete(_url(attachment)).status_code == 403


OUTSIDERS = ["other_lab_user", "other_defender_user", None]


def _requests(client: APIClient, attachment: Attachment):
    return {
        "list": client.get(_list_url(attachment.finding)),
        "detail": client.get(_url(attachment)),
        "download": client.get(_url(attachment, "download/")),
        "upload": _upload(client, attachment.finding, "x.pdf", files.PDF),
        "remove": client.delete(_url(attachment)),
    }


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsiders_get_404_for_an_embargoed_findings_attachments(world, api, outsider):
    attachment = _attached(world, world.embargoed())
    client = api(getattr(world, outsider) if outsider else None)

    answers = {name: r.status_code for name, r in _requests(client, attachment).items()}

    assert answers == dict.fromkeys(answers, 404)
    assert Attachment.objects.count() == 1
    assert not AuditEvent.objects.filter(action="attachment.downloaded").exists()


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_attachments_stay_private_after_release(world, api, outsider):
    finding, attachment = _released(world)
    client = api(getattr(world, outsider) if outsider else None)
    assert client.get(f"/api/advisories/{finding.reference}/").status_code == 200

    answers = {name: r.status_code for name, r in _requests(client, attachment).items()}

    assert answers == dict.fromkeys(answers, 404)


def test_a_coordinator_gets_404_for_a_drafts_attachments(world, api):
    attachment = _attached(world, world.file())
    assert api(world.coordinator).get(_list_url(attachment.finding)).status_code == 404


def test_an_attachment_of_another_finding_is_404_under_this_one(world, api):
    mine = world.file()
    other = _attached(world, world.file())
    response = api(world.lab_user).get(f"/api/findings/{mine.reference}/attachments/{other.pk}/")
    assert response.status_code == 404


def test_a_missing_file_is_404_not_500(world, api):
    attachment = _attached(world, world.file())
    Path(attachment.file.path).unlink()
    assert api(world.lab_user).get(_url(attachment, "download/")).status_code == 404


# --- Query budgets: the same for 1 attachment and for 50


@pytest.mark.parametrize("rows", ROWS)
def test_the_list_for_the_lab(world, api, django_assert_max_num_queries, rows):
    finding = world.file()
    files.attachment_rows(finding, rows, by=world.lab_user)
    client = api(world.lab_user)

    # session, user, memberships, finding, count, page, audit of the read
    with django_assert_max_num_queries(7):
        response = client.get(_list_url(finding))

    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_the_list_for_a_notified_defender(world, api, django_assert_max_num_queries, rows):
    finding = world.embargoed()
    files.attachment_rows(finding, rows, by=world.lab_user)
    client = api(world.defender_user)

    # as for the lab, plus whether the defender's organization was notified
    with django_assert_max_num_queries(8):
        response = client.get(_list_url(finding))

    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_a_download_costs_the_same_however_many_attachments(
    world, api, django_assert_max_num_queries, rows
):
    finding = world.file()
    files.attachment_rows(finding, rows - 1, by=world.lab_user)
    attachment = _attached(world, finding)
    client = api(world.lab_user)

    # session, user, memberships, finding, attachment, audit of the download
    with django_assert_max_num_queries(6):
        response = client.get(_url(attachment, "download/"))

    assert response.status_code == 200
