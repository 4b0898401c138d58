"""Webhook tests: a real receiver on loopback, a stand-in DNS, an admin, an endpoint, deliveries."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Membership, Organization, User
from disclosure.models import Delivery, Finding, WebhookEndpoint
from disclosure.services.audit import audit_record
from disclosure.services.channels import http
from disclosure.services.webhooks import endpoint_create
from tests.factories import FindingFactory, MembershipFactory, UserFactory
from tests.webhook_receiver import Receiver

# Embargoed content on every embargoed field, each value recognisable in a body.
EMBARGOED_CONTENT = {
    "details": "EMBARGOED-DETAIL: 12 of 20 protocols completed.",
    "recommended_actions": "EMBARGOED-ACTION: screen orders.",
    "model_version": "EMBARGOED-VERSION",
    "deployment_surfaces": ["open_weights"],
    "planned_availability": dt.date(2031, 7, 4),
}


@pytest.fixture(autouse=True)
def _fresh_pools() -> Iterator[None]:
    """No pooled connection outlives its test (receivers and ports change)."""
    yield
    http.pools_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names this test resolves itself: ``dns["hooks.example"] = ["127.0.0.1"]``.

    Every other name and every address goes to the real resolver, so urllib3 connecting to a
    literal address is untouched.
    """
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(host, str) and host.lower() in names:
            rows = []
            for address in names[host.lower()]:
                if ":" in address:
                    rows.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
                else:
                    rows.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
            return rows
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.fixture
def admin(world) -> User:  # type: ignore[no-untyped-def]
    """An admin of world.defender (world.defender_user is a plain member)."""
    user = UserFactory(email="admin@grid.example")
    MembershipFactory(user=user, organization=world.defender, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def finding(world) -> Finding:  # type: ignore[no-untyped-def]
    """An embargoed finding with embargoed content in every embargoed field."""
    return FindingFactory(
        developer=world.lab,
        created_by=world.lab_user,
        state=Finding.State.EMBARGOED,
        tlp=Finding.Tlp.AMBER,
        submitted_at=timezone.now(),
        embargo_ends_at=timezone.now() + timedelta(days=7),
        **EMBARGOED_CONTENT,
    )


def add_endpoint(admin: User, organization: Organization, url: str) -> tuple[WebhookEndpoint, str]:
    return endpoint_create(actor=admin, organization=organization, url=url, description="SOC")


def delivery_for(
    endpoint: WebhookEndpoint, finding: Finding, event: str = Delivery.Event.NOTIFIED
) -> Delivery:
    """An outbox row as the dispatcher hands it to the channel (its relations loaded)."""
    cause = audit_record(actor=None, action="test.cause", finding=finding)
    row = Delivery.objects.create(
        event=event,
        cause=cause,
        finding=finding,
        endpoint=endpoint,
        organization=endpoint.organization,
        channel=Delivery.Channel.WEBHOOK,
        next_attempt_at=timezone.now(),
    )
    return loaded(row.pk)


def loaded(pk: int) -> Delivery:
    return Delivery.objects.select_related("finding", "organization", "endpoint").get(pk=pk)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA and a certificate for hooks.example signed by it, made by the openssl tool."""
    where = tmp_path_factory.mktemp("tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=where, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Forewarn test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
    )  # fmt: skip
    openssl("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=hooks.example")
    (where / "leaf.cnf").write_text(
        "subjectAltName=DNS:hooks.example\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    openssl(
        "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.cnf",
    )  # fmt: skip
    return {name: where / f"{name}.pem" for name in ("ca", "leaf")} | {"key": where / "leaf.key"}
