"""Webhook URLs must not reach inside our own network (server-side request forgery).

A URL is checked when an endpoint is saved (a clear 400) and again before every send, because
its DNS may have changed since (DNS rebinding). The check resolves every A/AAAA record and
refuses the URL if any of them is private, loopback, link-local, multicast, reserved,
unspecified, shared (carrier-grade NAT) or a cloud-metadata address, also when wrapped in an
IPv6 form (IPv4-mapped, 6to4, Teredo, NAT64). The sender then connects to an address it checked,
never to the name again.

``settings.WEBHOOK_ALLOWED_NETWORKS`` (CIDRs) lets chosen networks through, e.g. loopback for the
tests; a metadata address passes only if it is listed on its own (a /32 or /128).
``settings.WEBHOOK_ALLOW_HTTP`` allows plain http:// (never in production).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2000
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Instance-metadata services hand out cloud credentials: refused even inside an allowed network.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer (a public address, reachable from inside Azure)
    )
)
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data.ec2.internal"}
)


class WebhookURLError(Exception):
    """The URL cannot be used. ``permanent``: it will not get better by waiting."""

    permanent = True


class AddressRefused(WebhookURLError):
    """The URL is malformed, not https, or reaches an address webhooks may not reach."""


class ResolutionFailed(WebhookURLError):
    """The host name did not resolve (now): at send time a temporary failure."""

    permanent = False


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``addresses``, all checked) and what to ask for."""

    scheme: str
    host: str  # the name (or literal address) from the URL, for Host, SNI and the certificate
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class _Parsed:
    scheme: str
    host: str
    port: int
    path: str


def _parse(url: str) -> _Parsed:
    if not isinstance(url, str) or not url.strip():
        raise AddressRefused("Enter a URL.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        raise AddressRefused("The URL contains spaces or control characters.")
    schemes = ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise AddressRefused(f"This is not a valid URL ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise AddressRefused(
            "Only https:// URLs are accepted."
            if not settings.WEBHOOK_ALLOW_HTTP
            else "Only http:// and https:// URLs are accepted."
        )
    if "@" in parts.netloc:
        raise AddressRefused(
            "The URL must not contain a user name or password; authenticate the requests "
            "by their webhook-signature instead."
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise AddressRefused("The URL has no host name.")
    if _literal(host) is None:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise AddressRefused("The host name is not valid.") from None
    if port == 0:
        raise AddressRefused("The URL's port is not valid.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return _Parsed(scheme, host, port or (443 if scheme == "https" else 80), path)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in allowed)


def _allowed() -> tuple[Network, ...]:
    return _networks(tuple(settings.WEBHOOK_ALLOWED_NETWORKS))


def _unwrapped(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(address.packed[-4:])
    return address


def _kind(address: IPAddress) -> str | None:
    """What makes the address unreachable for webhooks, or None for a public address."""
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("shared (carrier-grade NAT)", address in CGNAT),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def address_refusal(address: IPAddress) -> str | None:
    """Why webhooks may not connect to ``address``, or None when they may."""
    allowed = _allowed()
    candidates = {address, _unwrapped(address)}
    if candidates & METADATA_ADDRESSES:
        listed = any(
            network.num_addresses == 1 and candidate in network
            for network in allowed
            for candidate in candidates
        )
        return None if listed else "cloud-metadata"
    inner = _unwrapped(address)
    if any(inner in network or address in network for network in allowed):
        return None
    return _kind(inner) or (_kind(address) if inner != address else None)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionFailed(f"The host name {host} does not resolve ({exc}).") from None
    # getaddrinfo's order (RFC 6724), without repeats.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def url_check(url: str) -> Target:
    """Parse, resolve and check a webhook URL; raise a WebhookURLError naming what is wrong."""
    parsed = _parse(url)
    if parsed.host in METADATA_HOSTS:
        raise AddressRefused(
            f"{parsed.host} is a cloud-metadata service; webhooks may not reach it."
        )
    literal = _literal(parsed.host)
    addresses = [parsed.host] if literal is not None else _resolve(parsed.host, parsed.port)
    if not addresses:
        raise ResolutionFailed(f"The host name {parsed.host} has no addresses.")
    for text in addresses:
        address = ipaddress.ip_address(text)
        kind = address_refusal(address)
        if kind is not None:
            where = "is" if literal is not None else f"resolves to {address}, which is"
            article = "an" if kind[0] in "aeiou" else "a"
            raise AddressRefused(
                f"{parsed.host} {where} {article} {kind} address; webhooks may not reach it."
            )
    return Target(parsed.scheme, parsed.host, parsed.port, parsed.path, tuple(addresses))
