"""A lab attaches evidence to its finding in Chromium, is refused a disguised executable, and
downloads the file back."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.login import log_in
from tests.factories import attachments as files


@pytest.mark.browser
def test_a_lab_attaches_evidence_and_downloads_it(
    live_server, world, password, page, screenshot, settings, tmp_path
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    finding = world.file()

    log_in(page, live_server, world.lab_user, password)
    page.goto(live_server.url + reverse("finding-detail", args=[finding.reference]))

    section = page.get_by_role("region", name="Evidence attachments")
    expect(section.get_by_text("No attachments.")).to_be_visible()
    section.get_by_label("Add a file").set_input_files(
        {"name": "cyber-range-results.pdf", "mimeType": "application/pdf", "buffer": files.PDF}
    )
    section.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("status")).to_contain_text("Attached cyber-range-results.pdf")
    row = section.get_by_role("row", name="cyber-range-results.pdf")
    expect(row).to_contain_text("application/pdf")
    expect(row).to_contain_text(world.lab_user.email)
    screenshot("attachments")

    section.get_by_label("Add a file").set_input_files(
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": files.ELF}
    )
    section.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text("application/x-executable")
    screenshot("attachments-refused")

    with page.expect_download() as download_info:
        section.get_by_role("link", name="cyber-range-results.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "cyber-range-results.pdf"
    assert Path(download.path()).read_bytes() == files.PDF
