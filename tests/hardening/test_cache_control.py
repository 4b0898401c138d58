"""Nothing that may hold embargoed content is stored by a browser or a proxy.

config.middleware.SecurityHeadersMiddleware adds ``Cache-Control: no-store`` to every response
whose view did not choose its own caching; the public documents that may be cached (the Atom
feed, CSAF files, the site's OpenPGP key) say so themselves.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tokens import api_token_create
from disclosure.models import Delivery
from disclosure.services.attachments import attachment_add
from tests.factories import attachments as files


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.fixture
def finding(world):
    return world.embargoed()


@pytest.fixture
def attachment(world, finding):
    return attachment_add(
        actor=world.lab_user, finding=finding, upload=files.upload("evidence.pdf", files.PDF)
    )


@pytest.fixture
def api(world) -> APIClient:
    _, raw = api_token_create(user=world.defender_user, name="cache test")
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_finding_page(client, world, finding):
    client.force_login(world.defender_user)
    response = client.get(reverse("finding-detail", args=[finding.reference]))
    assert response.status_code == 200 and "EMBARGOED-DETAIL" in response.content.decode()
    assert _no_store(response)


def test_the_finding_api(api, finding):
    response = api.get(reverse("api:finding-detail", args=[finding.reference]))
    assert response.status_code == 200 and "EMBARGOED-DETAIL" in response.content.decode()
    assert _no_store(response)


def test_the_findings_list_api(api, finding):
    response = api.get(reverse("api:finding-list"))
    assert response.status_code == 200
    assert _no_store(response)


def test_an_attachment_download_by_page_and_api(client, api, world, finding, attachment):
    client.force_login(world.defender_user)
    page = client.get(reverse("finding-attachment", args=[finding.reference, attachment.pk]))
    by_api = api.get(
        reverse("api:finding-attachment-download", args=[finding.reference, attachment.pk])
    )
    for response in (page, by_api):
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"


def test_the_attachment_list_api(api, finding, attachment):
    response = api.get(reverse("api:finding-attachments", args=[finding.reference]))
    assert response.status_code == 200
    assert _no_store(response)


def test_the_inbox_page_and_api(client, api, world, finding):
    assert Delivery.objects.filter(channel=Delivery.Channel.INBOX).exists()
    client.force_login(world.defender_user)
    for response in (client.get(reverse("inbox")), api.get(reverse("api:inbox"))):
        assert response.status_code == 200
        assert _no_store(response)


def test_an_api_error_and_a_404(api, client, db):
    assert _no_store(api.get(reverse("api:finding-detail", args=["FW-1999-0001"])))
    assert _no_store(client.get("/no-such-page/"))


def test_anonymous_public_answers_are_not_stored_either_unless_they_say_so(client, world):
    world.released()
    assert _no_store(client.get(reverse("advisory-list")))
    assert _no_store(client.get(reverse("api:advisory-list")))
    # The feed chose its own caching: public, five minutes.
    feed = client.get(reverse("advisory-feed"))
    assert feed["Cache-Control"] == "public, max-age=300"


def test_static_files_keep_their_own_caching(client, db):
    response = client.get("/static/css/forewarn.css")
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]
