"""Webhook URLs cannot reach private, loopback, link-local or metadata addresses (SSRF)."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from disclosure.services.channels.ssrf import AddressRefused, ResolutionFailed, url_check

NOTHING_ALLOWED = override_settings(WEBHOOK_ALLOWED_NETWORKS=[])


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://10.0.0.1/hook", "private"),
        ("https://192.168.1.20/hook", "private"),
        ("https://172.16.5.4/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "cloud-metadata"),
        ("https://[fd00:ec2::254]/", "cloud-metadata"),
        ("http://[::1]:8080/", "loopback"),
        ("http://127.0.0.1/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("https://100.64.0.1/", "shared (carrier-grade NAT)"),
        ("https://[fe80::1]/", "link-local"),
        ("https://224.0.0.1/", "multicast"),
        ("https://240.0.0.1/", "reserved"),
        # The same addresses in other clothes.
        ("https://[::ffff:127.0.0.1]/", "loopback"),
        ("https://[::ffff:10.0.0.1]/", "private"),
        ("https://[2002:a9fe:a9fe::]/", "cloud-metadata"),  # 6to4 of 169.254.169.254
        ("https://[2002:c0a8:0101::]/", "private"),  # 6to4 of 192.168.1.1
        ("https://[64:ff9b::a00:1]/", "private"),  # NAT64 of 10.0.0.1
        ("http://2130706433/", "loopback"),  # 127.0.0.1 as one decimal number
        ("http://127.1/", "loopback"),
    ],
)
@NOTHING_ALLOWED
def test_private_and_special_addresses_are_refused(url, kind):
    with pytest.raises(AddressRefused, match=rf"\b{re.escape(kind)} address"):
        url_check(url)


@NOTHING_ALLOWED
def test_a_name_resolving_to_loopback_is_refused():
    with pytest.raises(AddressRefused, match=r"localhost resolves to .* loopback"):
        url_check("http://localhost:8080/hook")


def test_a_name_with_any_private_address_is_refused(dns):
    dns["mixed.example"] = ["93.184.215.14", "10.1.2.3"]
    with pytest.raises(AddressRefused, match=r"mixed.example resolves to 10.1.2.3"):
        url_check("https://mixed.example/hook")


def test_metadata_host_names_are_refused_without_asking_dns():
    with pytest.raises(AddressRefused, match="cloud-metadata service"):
        url_check("http://metadata.google.internal/computeMetadata/v1/")


@override_settings(WEBHOOK_ALLOWED_NETWORKS=["169.254.0.0/16", "fd00::/8"])
def test_an_allowed_network_does_not_let_a_metadata_address_through():
    for url in ("http://169.254.169.254/", "https://[fd00:ec2::254]/"):
        with pytest.raises(AddressRefused, match="cloud-metadata"):
            url_check(url)
    assert url_check("http://169.254.1.1/").addresses == ("169.254.1.1",)


@override_settings(WEBHOOK_ALLOWED_NETWORKS=["169.254.169.254/32"])
def test_a_metadata_address_listed_on_its_own_is_allowed():
    assert url_check("http://169.254.169.254/").addresses == ("169.254.169.254",)


def test_loopback_is_allowed_when_the_settings_allow_it():
    # The test settings allow 127.0.0.0/8 and ::1, as a receiver on loopback needs.
    target = url_check("http://127.0.0.1:8089/hook?x=1")
    assert (target.host, target.port, target.path, target.addresses) == (
        "127.0.0.1",
        8089,
        "/hook?x=1",
        ("127.0.0.1",),
    )
    assert url_check("http://[::1]/").addresses == ("::1",)


def test_a_public_address_passes():
    target = url_check("https://93.184.215.14/hooks/forewarn#frag")
    assert (target.scheme, target.port, target.path) == ("https", 443, "/hooks/forewarn")
    assert target.host_header == "93.184.215.14"


@override_settings(WEBHOOK_ALLOW_HTTP=False)
def test_plain_http_is_refused_when_https_is_required():
    with pytest.raises(AddressRefused, match=r"Only https:// URLs"):
        url_check("http://93.184.215.14/hook")
    assert url_check("https://93.184.215.14/hook").scheme == "https"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter a URL"),
        ("not a url", "spaces or control characters"),
        ("hooks.example.org/path", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("ftp://93.184.215.14/", "Only http:// and https://"),
        ("https://", "no host name"),
        ("https://93.184.215.14:99999/", "not a valid URL"),
        ("https://93.184.215.14/\r\nX-Injected: 1", "control characters"),
        ("https://user:secret@93.184.215.14/", "must not contain a user name or password"),
        ("https://" + "a" * 2001, "longer than 2000"),
    ],
)
def test_garbage_is_refused_with_a_reason(url, message):
    with pytest.raises(AddressRefused, match=message):
        url_check(url)


def test_a_name_that_does_not_resolve_is_a_resolution_failure():
    with pytest.raises(ResolutionFailed, match="does not resolve") as caught:
        url_check("https://no-such-host.invalid/hook")
    assert not caught.value.permanent
