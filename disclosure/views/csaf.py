"""Forewarn as a CSAF 2.0 trusted provider (CSAF 2.0 section 7): released advisories only.

- ``/.well-known/csaf/provider-metadata.json``: who publishes, where, and the signing key.
- ``/.well-known/csaf/white/<year>/<reference>.json``: each advisory's CSAF document, with
  ``.sha256``, ``.sha512`` and ``.asc`` (a detached OpenPGP signature by the site key) beside it;
  ``<year>`` is the year of its initial release, ``<reference>`` its id in lower case.
- ``/.well-known/csaf/white/index.txt`` and ``changes.csv``: the directory-based distribution.
- ``/.well-known/csaf/white/forewarn-feed.json``: the ROLIE feed (JSON).

Everything is public (TLP:CLEAR, given as WHITE): anything not released is a 404, like a file
that does not exist. Each response is built from the database on request; the documents are
serialized deterministically (csaf.csaf_bytes), so their hashes always match what is served.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from ..csaf import (
    CSAF_SCHEMA_URL,
    CSAF_VERSION,
    PUBLISHED_TLP,
    absolute,
    csaf_datetime,
    csaf_filename,
    csaf_relative_path,
    csaf_render,
    csaf_tlp_label,
    csaf_url,
    csaf_year,
    publisher,
)
from ..models import Finding
from ..selectors_publication import advisories_published, advisory_published_get
from ..services.channels.site_key import site_key, site_key_sign_detached

CACHE = "public, max-age=300"
ROLIE_CATEGORY = "urn:ietf:params:rolie:category:information-type"
JSON = "application/json"
# The advisories whose latest version is newest first (``last_updated``: advisories_published).
NEWEST_CHANGE_FIRST = (F("last_updated").desc(), F("id").desc())


def _response(body: bytes | str, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = CACHE
    # Public files that browser-based CSAF tools (e.g. Secvisogram) fetch from other origins.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _json(data: Any) -> HttpResponse:
    body = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return _response(body.encode(), JSON)


def _listed() -> QuerySet[Finding]:
    """The advisories the listings name: only what they need of each."""
    return (
        advisories_published()
        .select_related(None)
        .only("reference", "title", "summary", "released_at", "state")
    )


def _last_updated(findings: Iterable[Finding]) -> str:
    times = [f.last_updated for f in findings]  # type: ignore[attr-defined]
    return csaf_datetime(max(times) if times else timezone.now())


def _site_key_or_none() -> Any:
    try:
        return site_key()
    except (ImproperlyConfigured, OSError):
        return None


@require_safe
def provider_metadata(request: HttpRequest) -> HttpResponse:
    latest = list(_listed().order_by(*NEWEST_CHANGE_FIRST)[:1])
    key = _site_key_or_none()
    label = csaf_tlp_label(PUBLISHED_TLP)
    metadata: dict[str, Any] = {
        "canonical_url": absolute(reverse("csaf-provider-metadata")),
        "distributions": [
            {
                "directory_url": absolute(reverse("csaf-index").removesuffix("index.txt")),
                "rolie": {
                    "feeds": [
                        {
                            "summary": "All public (TLP:CLEAR) advisories.",
                            "tlp_label": label,
                            "url": absolute(reverse("csaf-rolie-feed")),
                        }
                    ]
                },
            }
        ],
        "last_updated": _last_updated(latest),
        "list_on_CSAF_aggregators": True,
        "metadata_version": CSAF_VERSION,
        "mirror_on_CSAF_aggregators": True,
        "public_openpgp_keys": (
            [{"fingerprint": key.fingerprint, "url": absolute(reverse("site-openpgp-key"))}]
            if key is not None
            else []
        ),
        "publisher": publisher(),
        "role": "csaf_trusted_provider" if key is not None else "csaf_provider",
    }
    return _json(metadata)


# The files beside each document, by the suffix after ".json".
_COMPANIONS = (".sha256", ".sha512", ".asc", "")


def _split(filename: str) -> tuple[str, str]:
    """("fw-2026-0001.json", ".sha256") from "fw-2026-0001.json.sha256"; 404 for anything else."""
    for suffix in _COMPANIONS:
        if filename.endswith(".json" + suffix):
            return filename[: len(filename) - len(suffix)], suffix
    raise Http404("No such CSAF file.")


@require_safe
def csaf_file(request: HttpRequest, year: int, filename: str) -> HttpResponse:
    document, suffix = _split(filename)
    finding = advisory_published_get(reference=document.removesuffix(".json").upper())
    if csaf_filename(finding.reference) != document or csaf_year(finding) != year:
        raise Http404("No such CSAF file.")
    body = csaf_render(finding)
    if suffix == ".sha256":
        return _response(f"{hashlib.sha256(body).hexdigest()}  {document}\n", "text/plain")
    if suffix == ".sha512":
        return _response(f"{hashlib.sha512(body).hexdigest()}  {document}\n", "text/plain")
    if suffix == ".asc":
        if _site_key_or_none() is None:
            raise Http404("The site's OpenPGP key is not configured.")
        return _response(site_key_sign_detached(body), "application/pgp-signature")
    return _response(body, JSON)


@require_safe
def index_txt(request: HttpRequest) -> HttpResponse:
    """Every document's path below white/, one a line (CSAF 2.0 section 7.1.12)."""
    lines = [csaf_relative_path(f) + "\n" for f in _listed()]
    return _response("".join(lines), "text/plain; charset=utf-8")


@require_safe
def changes_csv(request: HttpRequest) -> HttpResponse:
    """Each document's path and its current release date, newest first (section 7.1.13)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for finding in _listed().order_by(*NEWEST_CHANGE_FIRST):
        writer.writerow([csaf_relative_path(finding), csaf_datetime(finding.last_updated)])  # type: ignore[attr-defined]
    return _response(out.getvalue(), "text/csv; charset=utf-8")


def _rolie_entry(finding: Finding) -> dict[str, Any]:
    url = csaf_url(finding)
    return {
        "id": finding.reference,
        "title": finding.title,
        "link": [
            {"rel": "self", "href": url},
            {"rel": "hash", "href": f"{url}.sha256"},
            {"rel": "hash", "href": f"{url}.sha512"},
            {"rel": "signature", "href": f"{url}.asc"},
        ],
        "published": csaf_datetime(finding.released_at),  # type: ignore[arg-type]
        "updated": csaf_datetime(finding.last_updated),  # type: ignore[attr-defined]
        "summary": {"content": finding.summary},
        "content": {"type": JSON, "src": url},
        "format": {"schema": CSAF_SCHEMA_URL, "version": CSAF_VERSION},
    }


@require_safe
def rolie_feed(request: HttpRequest) -> HttpResponse:
    """The ROLIE feed of every public advisory, most recently changed first (section 7.1.15)."""
    findings = list(_listed().order_by(*NEWEST_CHANGE_FIRST))
    label = csaf_tlp_label(PUBLISHED_TLP)
    feed = {
        "feed": {
            "id": f"forewarn-csaf-feed-tlp-{label.lower()}",
            "title": f"{publisher()['name']} CSAF feed (TLP:{label})",
            "link": [{"rel": "self", "href": absolute(reverse("csaf-rolie-feed"))}],
            "category": [{"scheme": ROLIE_CATEGORY, "term": "csaf"}],
            "updated": _last_updated(findings[:1]),
            "entry": [_rolie_entry(f) for f in findings],
        }
    }
    return _json(feed)
