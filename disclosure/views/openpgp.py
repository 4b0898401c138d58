"""The site's OpenPGP public key, published so recipients can verify signed email.

- ``/openpgp-key.asc``: the ASCII-armored key, for people.
- Web Key Directory, direct method (draft-koch-openpgp-webkey-service):
  ``/.well-known/openpgpkey/hu/<z-base-32 SHA-1 of the local part>`` answers the binary key for
  the address mail comes from (DEFAULT_FROM_EMAIL), so ``gpg --locate-keys`` and mail clients
  find it when Forewarn is served at that address's domain.
"""

from __future__ import annotations

import hashlib
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..services.channels.site_key import SiteKey, site_key

ZBASE32 = "ybndrfg8ejkmcpqxot1uwisza345h769"
CACHE = "public, max-age=3600"


def zbase32(data: bytes) -> str:
    bits = "".join(f"{byte:08b}" for byte in data)
    bits += "0" * (-len(bits) % 5)
    return "".join(ZBASE32[int(bits[i : i + 5], 2)] for i in range(0, len(bits), 5))


def wkd_hash(local_part: str) -> str:
    return zbase32(hashlib.sha1(local_part.lower().encode()).digest())  # noqa: S324 (WKD's hash)


def _key() -> SiteKey:
    try:
        return site_key()
    except (ImproperlyConfigured, OSError) as exc:
        raise Http404("The site's OpenPGP key is not configured.") from exc


@require_GET
def site_key_armored(request: HttpRequest) -> HttpResponse:
    key = _key()
    response = HttpResponse(key.armored_public, content_type="application/pgp-keys; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="forewarn-openpgp-key.asc"'
    response["Cache-Control"] = CACHE
    return response


@require_GET
def wkd_key(request: HttpRequest, digest: str) -> HttpResponse:
    local_part = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].partition("@")[0]
    if not local_part or digest != wkd_hash(local_part):
        raise Http404("No key for that address.")
    response = HttpResponse(bytes(_key().public), content_type="application/octet-stream")
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = CACHE
    return response


@require_GET
def wkd_policy(request: HttpRequest) -> HttpResponse:
    """WKD clients look for this (empty) file before asking for keys."""
    response = HttpResponse(b"", content_type="text/plain")
    response["Access-Control-Allow-Origin"] = "*"
    return response
