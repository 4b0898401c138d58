"""Forewarn as a CSAF trusted provider: provider metadata, documents with hashes and OpenPGP
signatures that verify with real gpg, index.txt, changes.csv and the ROLIE feed; nothing that
is not released is ever there."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from urllib.parse import urlsplit

import pytest

from disclosure.models import Finding
from disclosure.services.advisories import advisory_update
from disclosure.services.channels.site_key import site_key
from tests.disclosure.api.conftest import CONTENT_MARKERS, MARKERS, content_markers_add
from tests.disclosure.publication import csaf_path, released_factory

pytestmark = pytest.mark.django_db
State = Finding.State
METADATA = "/.well-known/csaf/provider-metadata.json"
INDEX = "/.well-known/csaf/white/index.txt"
CHANGES = "/.well-known/csaf/white/changes.csv"
ROLIE = "/.well-known/csaf/white/forewarn-feed.json"


def _path(url: str) -> str:
    return urlsplit(url).path


def test_provider_metadata_names_the_feed_the_publisher_and_the_site_key(client):
    response = client.get(METADATA)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    metadata = response.json()
    assert metadata["metadata_version"] == "2.0"
    assert metadata["role"] == "csaf_trusted_provider"
    assert _path(metadata["canonical_url"]) == METADATA
    assert metadata["publisher"]["category"] == "coordinator"
    assert metadata["publisher"]["namespace"].startswith("http")
    (distribution,) = metadata["distributions"]
    assert _path(distribution["directory_url"]) == "/.well-known/csaf/white/"
    (feed,) = distribution["rolie"]["feeds"]
    assert feed["tlp_label"] == "WHITE"
    assert _path(feed["url"]) == ROLIE
    (key,) = metadata["public_openpgp_keys"]
    assert key["fingerprint"] == site_key().fingerprint
    assert client.get(_path(key["url"])).content.decode() == site_key().armored_public
    for name in ("last_updated", "list_on_CSAF_aggregators", "mirror_on_CSAF_aggregators"):
        assert name in metadata


def test_the_hash_files_match_the_bytes_served(client):
    finding = released_factory()
    body = client.get(csaf_path(finding)).content
    name = csaf_path(finding).rsplit("/", 1)[1]
    for suffix, algorithm in ((".sha256", hashlib.sha256), (".sha512", hashlib.sha512)):
        response = client.get(csaf_path(finding, suffix))
        assert response.status_code == 200
        digest, filename = response.content.decode().split()
        assert digest == algorithm(body).hexdigest()
        assert filename == name


def test_the_signature_verifies_with_gpg_against_the_published_key(client, gnupg, tmp_path):
    finding = released_factory()
    key = client.get(_path(client.get(METADATA).json()["public_openpgp_keys"][0]["url"]))
    gnupg.import_key(key.content)
    document = tmp_path / "advisory.json"
    document.write_bytes(client.get(csaf_path(finding)).content)
    signature = tmp_path / "advisory.json.asc"
    response = client.get(csaf_path(finding, ".asc"))
    assert response["Content-Type"] == "application/pgp-signature"
    signature.write_bytes(response.content)
    result = gnupg.run("--status-fd", "1", "--verify", str(signature), str(document))
    status = result.stdout.decode(errors="replace").splitlines()
    assert any(line.startswith("[GNUPG:] GOODSIG") for line in status)
    validsig = next(line.split() for line in status if line.startswith("[GNUPG:] VALIDSIG"))
    assert validsig[-1] == site_key().fingerprint  # made by the site key (its primary key)
    # A changed byte fails.
    document.write_bytes(document.read_bytes().replace(b"Frontier", b"Frontiex"))
    bad = gnupg.run("--status-fd", "1", "--verify", str(signature), str(document), check=False)
    assert bad.returncode != 0
    assert "[GNUPG:] BADSIG" in bad.stdout.decode(errors="replace")


def test_index_changes_and_rolie_list_every_released_advisory(world, client):
    older = world.released()
    newer = world.released()
    advisory_update(actor=world.coordinator, finding=older, changes={"title": "New"}, note="x")
    relative = {f: csaf_path(f).removeprefix("/.well-known/csaf/white/") for f in (older, newer)}

    index = client.get(INDEX)
    assert index["Content-Type"].startswith("text/plain")
    assert sorted(index.content.decode().splitlines()) == sorted(relative.values())

    rows = list(csv.reader(io.StringIO(client.get(CHANGES).content.decode())))
    # Newest change first: the update of the older one came after the newer one's release.
    assert [row[0] for row in rows] == [relative[older], relative[newer]]
    assert rows[0][1] > rows[1][1]

    feed = client.get(ROLIE)
    assert feed["Content-Type"] == "application/json"
    body = feed.json()["feed"]
    assert body["category"] == [
        {"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}
    ]
    assert [entry["id"] for entry in body["entry"]] == [older.reference, newer.reference]
    entry = body["entry"][0]
    assert entry["title"] == "New"
    assert entry["updated"] == rows[0][1]
    assert entry["format"] == {
        "schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json",
        "version": "2.0",
    }
    links = {(link["rel"], _path(link["href"])) for link in entry["link"]}
    assert links == {
        ("self", csaf_path(older)),
        ("hash", csaf_path(older, ".sha256")),
        ("hash", csaf_path(older, ".sha512")),
        ("signature", csaf_path(older, ".asc")),
    }
    for _, path in links:
        assert client.get(path).status_code == 200
    assert _path(entry["content"]["src"]) == csaf_path(older)


@pytest.mark.parametrize("state", [State.DRAFT, State.SUBMITTED, State.EMBARGOED, State.REJECTED])
def test_nothing_unreleased_is_ever_published(world, client, state):
    finding = world.in_state(state)
    content_markers_add(finding, world.lab_user)
    Finding.objects.filter(pk=finding.pk).update(
        title="UNRELEASED-TITLE", summary="UNRELEASED-SUMMARY"
    )
    released = world.released()
    path = csaf_path(finding)
    for suffix in ("", ".sha256", ".sha512", ".asc"):
        assert client.get(path + suffix).status_code == 404
    assert client.get(f"/api/advisories/{finding.reference}/csaf/").status_code == 404
    for url in (METADATA, INDEX, CHANGES, ROLIE, "/advisories/feed/"):
        body = client.get(url).content.decode()
        assert finding.reference not in body
        assert finding.reference.lower() not in body
        for marker in (*MARKERS, *CONTENT_MARKERS, "UNRELEASED-"):
            assert marker not in body, (url, marker)
        if url != METADATA:
            assert released.reference.lower() in body.lower()  # the listing is not just empty


@pytest.mark.parametrize(
    "wrong",
    [
        "/.well-known/csaf/white/1999/{name}.json",  # another year
        "/.well-known/csaf/white/{year}/{upper}.json",  # not the CSAF file name
        "/.well-known/csaf/white/{year}/{name}.json.md5",
        "/.well-known/csaf/white/{year}/{name}.txt",
        "/.well-known/csaf/white/{year}/{name}",
    ],
)
def test_other_names_of_a_released_document_are_404(client, wrong):
    finding = released_factory()
    url = wrong.format(
        year=finding.released_at.year, name=finding.reference.lower(), upper=finding.reference
    )
    assert client.get(url).status_code == 404


def test_a_head_request_finds_each_file(client):
    finding = released_factory()
    for suffix in ("", ".sha256", ".sha512", ".asc"):
        assert client.head(csaf_path(finding, suffix)).status_code == 200
    for url in (METADATA, INDEX, CHANGES, ROLIE):
        assert client.head(url).status_code == 200


def test_the_files_are_public_and_shareable_across_origins(client):
    finding = released_factory()
    for url in (METADATA, ROLIE, csaf_path(finding), csaf_path(finding, ".asc")):
        response = client.get(url)
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "public" in response["Cache-Control"]


def test_listings_are_empty_but_valid_with_no_advisories(client):
    assert client.get(INDEX).content == b""
    assert client.get(CHANGES).content == b""
    assert client.get(ROLIE).json()["feed"]["entry"] == []
    assert json.loads(client.get(METADATA).content)["role"] == "csaf_trusted_provider"


@pytest.mark.parametrize("rows", [1, 30])
@pytest.mark.parametrize("url", [INDEX, CHANGES, ROLIE, METADATA])
def test_listing_query_budget(client, django_assert_max_num_queries, rows, url):
    for _ in range(rows):
        released_factory(rich=False)
    with django_assert_max_num_queries(1):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("updates", [0, 20])
def test_document_query_budget(world, client, django_assert_max_num_queries, updates):
    finding = released_factory()
    for n in range(updates):
        advisory_update(
            actor=world.coordinator, finding=finding, changes={"title": f"T{n}"}, note=f"{n}"
        )
    # The finding with its lab and category, its updates, sectors, evaluations, mitigations.
    with django_assert_max_num_queries(5):
        assert client.get(csaf_path(finding)).status_code == 200
