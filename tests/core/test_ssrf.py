"""The webhook target guard: every spelling of an internal address is refused, without DNS."""

from __future__ import annotations

import ipaddress

import pytest

from core.delivery.ssrf import (
    TargetRefused,
    address_refusal,
    check_url,
    parse_host,
    parse_ipv4_literal,
)

ANY = "0.0.0.0"  # noqa: S104 - an address to refuse, not one to bind
REFUSED_HOSTS = [
    "0",
    ANY,
    "2130706433",
    "0x7f000001",
    "0x7F.0.0.1",
    "127.1",
    "127.0.1",
    "0177.0.0.1",
    "127.0.0.1",
    "127.255.255.254",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::]",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.254",
    "[fe80::1]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "224.0.0.1",
    "[ff02::1]",
    "240.0.0.1",
    "255.255.255.255",
    "[2002:7f00:1::]",
    "[2002:a00:1::]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::a9fe:a9fe]",
    "[::ffff:10.0.0.1]",
    "167772161",
    "0xa9fea9fe",
    "192.0.2.1",
    "198.18.0.1",
]
ACCEPTED_HOSTS = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "[2606:4700:4700::1111]",
    "1572395042",
    "[2002:5db8:d822::1]",
    "[64:ff9b::5db8:d822]",
]


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"an IP literal must not be resolved ({host})")


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_internal_addresses_are_refused_however_spelled(host: str) -> None:
    with pytest.raises(TargetRefused):
        check_url(f"https://{host}/hook", allow_private=False, resolve=no_dns)


@pytest.mark.parametrize("host", ACCEPTED_HOSTS)
def test_public_addresses_are_accepted_without_any_lookup(host: str) -> None:
    target = check_url(f"https://{host}:8443/hook?x=1", allow_private=False, resolve=no_dns)
    assert target.port == 8443
    # Not `address.is_global`: Python 3.11 before 3.11.4 counts all of 2002::/16 (6to4) as
    # private; the guard judges the embedded IPv4 address instead.
    assert target.addresses
    assert all(address_refusal(address) is None for address in target.addresses)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", ANY),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("10.1.2", "10.1.0.2"),
        ("93.184.216.34.", "93.184.216.34"),
        ("0x", ANY),
    ],
)
def test_ipv4_literals_are_read_as_inet_aton_reads_them(text: str, expected: str) -> None:
    assert parse_ipv4_literal(text) == ipaddress.IPv4Address(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1.2.3.4.5",
        "256.0.0.1",
        "1.2.3.256",
        "1.2.65536",
        "4294967296",
        "08",
        "1..2",
        "0xg",
        "1.2.3.-4",
    ],
)
def test_impossible_ipv4_literals_are_not_addresses(text: str) -> None:
    assert parse_ipv4_literal(text) is None


@pytest.mark.parametrize(
    "host",
    [
        "1.2.3.4.5",
        "256.1.1.1",
        "99999999999",
        "example.08",
        "[::1%25eth0]",
        "bad_host!",
        "-lead.example",
        "",
    ],
)
def test_hosts_that_are_neither_addresses_nor_names_are_refused(host: str) -> None:
    with pytest.raises(TargetRefused):
        parse_host(host)


def test_host_names_are_judged_by_every_address_they_resolve_to() -> None:
    answers = {
        "hooks.example.org": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        "mixed.example.org": ["93.184.216.34", "10.0.0.7"],
        "rebind.example.org": ["127.0.0.1"],
    }

    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    target = check_url("https://hooks.example.org/in", allow_private=False, resolve=resolve)
    assert target.host == "hooks.example.org" and len(target.addresses) == 2
    for host in ("mixed.example.org", "rebind.example.org", "missing.example.org"):
        with pytest.raises(TargetRefused):
            check_url(f"https://{host}/in", allow_private=False, resolve=resolve)
    with pytest.raises(TargetRefused):  # no resolver: a name cannot be checked, so refused
        check_url("https://hooks.example.org/in", allow_private=False, resolve=None)


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/",
        "ftp://93.184.216.34/",
        "https://user:pw@93.184.216.34/",
        "https://93.184.216.34/#frag",
        "https://93.184.216.34:0/",
        "https://93.184.216.34:99999/",
        "https:///nohost",
        "https://93.184.216.34/a b",
        "https://" + "a" * 2050 + ".org/",
        "//93.184.216.34/",
        "https://93.184.216.34\\@127.0.0.1/",
    ],
)
def test_malformed_or_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_url(url, allow_private=False, resolve=no_dns)


def test_development_mode_allows_http_and_private_targets_but_not_everything() -> None:
    for url in (
        "http://127.0.0.1:8080/hook",
        "http://[::1]/",
        "https://10.0.0.2/",
        "http://169.254.1.1/",
        "http://100.64.0.1/",
    ):
        check_url(url, allow_private=True, resolve=no_dns)
    for url in ("http://0.0.0.0/", "http://224.0.0.1/", "http://240.0.0.1/", "ftp://127.0.0.1/"):
        with pytest.raises(TargetRefused):
            check_url(url, allow_private=True, resolve=no_dns)


def test_refusal_reasons_name_the_kind_of_address() -> None:
    assert address_refusal(ipaddress.ip_address("127.0.0.1")) == "a loopback address"
    assert address_refusal(ipaddress.ip_address("100.64.0.1")) == (
        "a shared (carrier-grade NAT) address"
    )
    assert "inside an IPv6 address" in str(address_refusal(ipaddress.ip_address("::ffff:10.0.0.1")))
    assert address_refusal(ipaddress.ip_address("93.184.216.34")) is None
