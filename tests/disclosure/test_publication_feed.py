"""The Atom feed at /advisories/feed/ and the links to it and to each advisory's CSAF document
from the pages."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from disclosure.models import Finding
from disclosure.selectors_publication import advisory_versions
from disclosure.services.advisories import advisory_update
from tests.disclosure.publication import csaf_path, released_factory

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"
FEED = "/advisories/feed/"


def _feed(client) -> ET.Element:
    response = client.get(FEED)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content)  # noqa: S314 (our own feed)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_the_feed_has_an_entry_per_advisory_newest_release_first(world, client):
    first = world.released()
    second = world.released()
    advisory_update(
        actor=world.coordinator,
        finding=first,
        changes={"summary": "A corrected public summary."},
        note="Summary corrected.",
    )
    root = _feed(client)
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        f"{second.reference}: {second.title}",
        f"{first.reference}: {first.title}",
    ]
    entry = entries[1]
    first.refresh_from_db()
    assert entry.find(f"{ATOM}link").get("href").endswith(f"/advisories/{first.reference}/")
    assert entry.findtext(f"{ATOM}summary") == "A corrected public summary."
    assert _time(entry.findtext(f"{ATOM}published")) == first.released_at
    assert _time(entry.findtext(f"{ATOM}updated")) == advisory_versions(first)[-1].date
    assert _time(entry.findtext(f"{ATOM}updated")) > first.released_at
    categories = {c.get("term") for c in entry.findall(f"{ATOM}category")}
    assert {"TLP:CLEAR", "Cybersecurity", "Risk: High"} <= categories
    # The feed is as recent as its latest change.
    assert _time(root.findtext(f"{ATOM}updated")) == advisory_versions(first)[-1].date
    assert root.findtext(f"{ATOM}rights") == "TLP:CLEAR"


@pytest.mark.parametrize(
    "state",
    [Finding.State.DRAFT, Finding.State.SUBMITTED, Finding.State.EMBARGOED, Finding.State.REJECTED],
)
def test_nothing_unreleased_is_in_the_feed(world, client, state):
    hidden = world.in_state(state)
    shown = world.released()
    references = [
        e.findtext(f"{ATOM}title").split(":")[0] for e in _feed(client).iter(f"{ATOM}entry")
    ]
    assert references == [shown.reference]
    assert hidden.reference not in client.get(FEED).content.decode()


def test_an_empty_feed_is_still_a_feed(client):
    root = _feed(client)
    assert root.tag == f"{ATOM}feed"
    assert root.findall(f"{ATOM}entry") == []


def test_the_advisory_list_links_to_the_feed_in_its_head_and_its_body(client, world):
    world.released()
    body = client.get("/advisories/").content.decode()
    head = body.split("</head>")[0]
    assert '<link rel="alternate" type="application/atom+xml"' in head
    assert f'href="{FEED}"' in head
    assert f'<a href="{FEED}" type="application/atom+xml">Atom feed</a>' in body
    assert 'href="/.well-known/csaf/provider-metadata.json"' in body


def test_the_advisory_page_shows_its_revision_history_and_links_its_csaf_document(world, client):
    finding = world.released()
    advisory_update(
        actor=world.coordinator,
        finding=finding,
        changes={"recommended_actions": "Rate-limit exploit-shaped tool calls; log them."},
        note="Added logging to the recommended actions.",
    )
    response = client.get(f"/advisories/{finding.reference}/")
    body = response.content.decode()
    assert "Revision history" in body
    assert "Added logging to the recommended actions." in body
    assert "Initial public release." in body
    assert body.index("Added logging") < body.index("Initial public release.")  # newest first
    assert f'href="{csaf_path(finding)}"' in body
    assert f'href="{csaf_path(finding)}.asc"' in body
    assert client.get(csaf_path(finding)).status_code == 200
    head = body.split("</head>")[0]
    assert (
        f'<link rel="alternate" type="application/json" title="{finding.reference} (CSAF 2.0)"'
        in head
    )
    for forbidden in ("<script", " style=", "<style"):
        assert forbidden not in body.lower()


@pytest.mark.parametrize("rows", [1, 30])
def test_feed_query_budget(client, django_assert_max_num_queries, rows):
    for i in range(rows):
        released_factory(rich=False, released_at=timezone.now() - dt.timedelta(minutes=i + 1))
    with django_assert_max_num_queries(1):
        assert client.get(FEED).status_code == 200


@pytest.mark.parametrize("updates", [0, 10])
def test_advisory_page_query_budget(world, client, django_assert_max_num_queries, updates):
    finding = released_factory()
    for n in range(updates):
        advisory_update(
            actor=world.coordinator, finding=finding, changes={"title": f"T{n}"}, note=f"{n}"
        )
    with django_assert_max_num_queries(7):
        assert client.get(f"/advisories/{finding.reference}/").status_code == 200
