"""A software security key for tests: it answers WebAuthn registration and authentication
requests as a real key does (an ES256 key pair, "none" attestation), so the server's checks
(challenge, origin, RP ID, signature, sign count) run for real; and helpers to read the options
a page gives the browser.

Its RP ID and origin are the site's (OTP_WEBAUTHN_RP_ID, the first OTP_WEBAUTHN_ALLOWED_ORIGINS)
unless a test gives others.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django_otp_webauthn.models import WebAuthnCredential
from webauthn.helpers import bytes_to_base64url

from accounts.models import User

UP, UV, AT = 0x01, 0x04, 0x40  # authenticator data flags: user present, verified, attested key
OPTIONS_RE = re.compile(r'data-webauthn-options="([^"]*)"')


def _site_rp_id() -> str:
    return settings.OTP_WEBAUTHN_RP_ID


def _site_origin() -> str:
    return settings.OTP_WEBAUTHN_ALLOWED_ORIGINS[0]


@dataclass
class SoftKey:
    rp_id: str = field(default_factory=_site_rp_id)
    origin: str = field(default_factory=_site_origin)
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    sign_count: int = 0

    @property
    def cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        return json.dumps(data).encode()

    def _authenticator_data(self, flags: int, attested: bytes = b"") -> bytes:
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + attested

    def register(self, options: dict[str, Any]) -> dict[str, Any]:
        """The answer to navigator.credentials.create(options), as the page's script sends it."""
        attested = (
            bytes(16)  # AAGUID: none given
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self.cose_public_key
        )
        auth_data = self._authenticator_data(UP | UV | AT, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"])
        return {
            "id": bytes_to_base64url(self.credential_id),
            "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "cross-platform",
            "clientExtensionResults": {"credProps": {"rk": False}},
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["usb"],
            },
        }

    def assert_(self, options: dict[str, Any]) -> dict[str, Any]:
        """The answer to navigator.credentials.get(options): a signature over the challenge."""
        self.sign_count += 1
        auth_data = self._authenticator_data(UP | UV)
        client_data = self._client_data("webauthn.get", options["challenge"])
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": bytes_to_base64url(self.credential_id),
            "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "cross-platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
            },
        }

    def registered_to(self, user: User, *, name: str = "Test key") -> WebAuthnCredential:
        """Store this key as the user's, as if they had added it."""
        return WebAuthnCredential.objects.create(
            user=user,
            name=name,
            confirmed=True,
            credential_id=self.credential_id,
            public_key=self.cose_public_key,
            sign_count=self.sign_count,
            transports=["usb"],
        )


def options_in(response: Any) -> dict[str, Any]:
    """The WebAuthn options a page gives its script (data-webauthn-options)."""
    found = OPTIONS_RE.search(response.content.decode())
    assert found, "no data-webauthn-options on the page"
    return json.loads(html.unescape(found.group(1)))


def answer(credential: dict[str, Any]) -> str:
    """The form field's value, as static/js/webauthn.js fills it."""
    return json.dumps(credential)
