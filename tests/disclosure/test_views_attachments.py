"""Attachments on the finding page: the section, upload, download, remove, and who sees what."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from disclosure.models import Attachment, AuditEvent, Finding
from disclosure.services.attachments import attachment_add
from tests.factories import attachments as files

ROWS = [1, 50]


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path) -> Path:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


def _as(client: Client, user) -> Client:
    client.force_login(user)
    return client


def _detail(finding: Finding) -> str:
    return reverse("finding-detail", args=[finding.reference])


def _add_url(finding: Finding) -> str:
    return reverse("finding-attachment-add", args=[finding.reference])


def _download(attachment: Attachment) -> str:
    return reverse("finding-attachment", args=[attachment.finding.reference, attachment.pk])


def _remove(attachment: Attachment) -> str:
    return reverse("finding-attachment-remove", args=[attachment.finding.reference, attachment.pk])


def _attached(world, finding: Finding, name: str = "evidence.pdf") -> Attachment:
    return attachment_add(
        actor=world.lab_user, finding=finding, upload=files.upload(name, files.PDF)
    )


def _release(finding: Finding) -> None:
    Finding.objects.filter(pk=finding.pk).update(
        state=Finding.State.RELEASED, released_at=timezone.now()
    )


# --- The section


def test_the_lab_sees_name_type_size_hash_uploader_and_the_upload_form(client, world):
    attachment = _attached(world, world.file())

    body = _as(client, world.lab_user).get(_detail(attachment.finding)).content.decode()

    assert "Evidence attachments" in body
    assert "evidence.pdf" in body
    assert "application/pdf" in body
    assert attachment.sha256[:12] in body
    assert world.lab_user.email in body
    assert _download(attachment) in body
    assert 'enctype="multipart/form-data"' in body
    assert _remove(attachment) in body


def test_a_notified_defender_sees_the_list_but_no_upload_or_remove(client, world):
    attachment = _attached(world, world.embargoed())

    body = _as(client, world.defender_user).get(_detail(attachment.finding)).content.decode()

    assert _download(attachment) in body
    assert f'action="{_add_url(attachment.finding)}"' not in body
    assert _remove(attachment) not in body


def test_the_public_page_of_a_released_finding_shows_no_attachments(client, world):
    finding = world.embargoed()
    _attached(world, finding, name="secret-evidence.pdf")
    _release(finding)

    for viewer in (world.other_lab_user, world.other_defender_user):
        body = _as(Client(), viewer).get(_detail(finding)).content.decode()
        assert "secret-evidence" not in body
        assert "Evidence attachments" not in body
    public = client.get(reverse("advisory-detail", args=[finding.reference])).content.decode()
    assert "secret-evidence" not in public


def test_a_name_with_markup_loses_its_angle_brackets(client, world):
    attachment = _attached(world, world.file(), name="<img src=x onerror=alert(1)>.pdf")

    body = _as(client, world.lab_user).get(_detail(attachment.finding)).content.decode()

    assert "<img src=x" not in body
    assert "_img src=x onerror=alert(1)_.pdf" in body


def test_a_name_is_html_escaped(client, world):
    attachment = _attached(world, world.file(), name="Tom & Jerry's.pdf")

    body = _as(client, world.lab_user).get(_detail(attachment.finding)).content.decode()

    assert "Tom &amp; Jerry&#x27;s.pdf" in body


# --- Upload


def test_uploading_through_the_page_attaches_the_file(client, world):
    finding = world.file()
    response = _as(client, world.lab_user).post(
        _add_url(finding), {"file": files.upload("scores.csv", files.CSV)}
    )

    assert response.status_code == 302
    assert response["Location"] == _detail(finding) + "#attachments"
    attachment = Attachment.objects.get()
    assert attachment.content_type == "text/csv"
    with attachment.file.open("rb") as handle:
        assert handle.read() == files.CSV


def test_the_upload_form_checks_the_csrf_token(world):
    finding = world.file()
    client = _as(Client(enforce_csrf_checks=True), world.lab_user)

    refused = client.post(_add_url(finding), {"file": files.upload("x.pdf", files.PDF)})
    assert refused.status_code == 403
    assert not Attachment.objects.exists()

    page = client.get(_detail(finding)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    accepted = client.post(
        _add_url(finding),
        {"csrfmiddlewaretoken": token, "file": files.upload("x.pdf", files.PDF)},
    )
    assert accepted.status_code == 302
    assert Attachment.objects.count() == 1


def test_an_oversized_upload_is_400_with_the_message_on_the_page(
    client, world, settings, private_root
):
    settings.ATTACHMENT_MAX_BYTES = 1024
    finding = world.file()

    response = _as(client, world.lab_user).post(
        _add_url(finding), {"file": files.upload("big.txt", b"a" * 50_000)}
    )

    assert response.status_code == 400
    assert "File is larger than 1 KB." in response.content.decode()
    assert files.stored_files(private_root) == []


def test_an_executable_named_pdf_is_400_naming_the_type_on_the_page(client, world):
    response = _as(client, world.lab_user).post(
        _add_url(world.file()), {"file": files.upload("report.pdf", files.ELF)}
    )
    assert response.status_code == 400
    assert "application/x-executable" in response.content.decode()
    assert not Attachment.objects.exists()


def test_posting_without_a_file_is_400(client, world):
    response = _as(client, world.lab_user).post(_add_url(world.file()), {})
    assert response.status_code == 400
    assert "Choose a file to attach" in response.content.decode()


def test_a_notified_defender_cannot_upload(client, world):
    finding = world.embargoed()
    response = _as(client, world.defender_user).post(
        _add_url(finding), {"file": files.upload("x.pdf", files.PDF)}
    )
    assert response.status_code == 403
    assert not Attachment.objects.exists()


# --- Download


def test_downloading_through_the_page_gives_the_bytes_as_a_safe_download(client, world):
    attachment = _attached(world, world.embargoed())

    response = _as(client, world.defender_user).get(_download(attachment))

    assert b"".join(response.streaming_content) == files.PDF
    assert response["Content-Disposition"].startswith("attachment; ")
    assert "filename*=UTF-8''evidence.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    event = AuditEvent.objects.get(action="attachment.downloaded")
    assert (event.actor, event.data["attachment"], event.data["via"]) == (
        world.defender_user,
        attachment.pk,
        "page",
    )


OUTSIDERS = ["other_lab_user", "other_defender_user", None]


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_outsiders_get_404_for_downloads_uploads_and_removals(client, world, outsider):
    attachment = _attached(world, world.embargoed())
    if outsider:
        _as(client, getattr(world, outsider))

    answers = [
        client.get(_download(attachment)).status_code,
        client.post(
            _add_url(attachment.finding), {"file": files.upload("x.pdf", files.PDF)}
        ).status_code,
        client.post(_remove(attachment)).status_code,
    ]

    assert answers == [404, 404, 404]
    assert Attachment.objects.count() == 1
    assert not AuditEvent.objects.filter(action="attachment.downloaded").exists()


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_downloads_stay_private_after_release(client, world, outsider):
    finding = world.embargoed()
    attachment = _attached(world, finding)
    _release(finding)
    if outsider:
        _as(client, getattr(world, outsider))

    assert client.get(_download(attachment)).status_code == 404


# --- Remove


def test_the_lab_removes_an_attachment_from_the_page(
    client, world, private_root, django_capture_on_commit_callbacks
):
    attachment = _attached(world, world.file())

    with django_capture_on_commit_callbacks(execute=True):
        response = _as(client, world.lab_user).post(_remove(attachment))

    assert response.status_code == 302
    assert not Attachment.objects.exists()
    assert files.stored_files(private_root) == []
    assert AuditEvent.objects.filter(action="attachment.removed").count() == 1


def test_removing_is_a_post_only(client, world):
    attachment = _attached(world, world.file())
    assert _as(client, world.lab_user).get(_remove(attachment)).status_code == 405


# --- Query budgets: the finding page and a download cost the same for 1 attachment and 50


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("viewer", ["lab_user", "coordinator", "defender_user"])
def test_attachments_add_no_query_per_row_to_the_finding_page(
    client, world, django_assert_max_num_queries, rows, viewer
):
    finding = world.embargoed()
    _as(client, getattr(world, viewer))
    client.get(_detail(finding))  # warm the session
    # The page belongs to many features; the budget is what it costs without attachments.
    with CaptureQueriesContext(connection) as without:
        client.get(_detail(finding))
    files.attachment_rows(finding, rows, by=world.lab_user)

    with django_assert_max_num_queries(len(without)):
        response = client.get(_detail(finding))

    assert response.content.decode().count("download>evidence-") == rows


@pytest.mark.parametrize("rows", ROWS)
def test_a_page_download(client, world, django_assert_max_num_queries, rows):
    finding = world.file()
    files.attachment_rows(finding, rows - 1, by=world.lab_user)
    attachment = _attached(world, finding)
    _as(client, world.lab_user)

    # session, user, memberships, finding, attachment, audit of the download
    with django_assert_max_num_queries(6):
        response = client.get(_download(attachment))

    assert response.status_code == 200
