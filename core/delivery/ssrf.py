"""Which webhook targets Ruche may call: the guard against server-side request forgery.

A webhook URL is the NGO's to choose, so it must not be a way into our own network: the target
has to be ``https://`` on a public address. Addresses are judged after every spelling trick a
URL parser or ``inet_aton`` accepts (``0``, ``2130706433``, ``0x7f000001``, ``127.1``,
``0177.0.0.1``, ``[::ffff:127.0.0.1]``, 6to4 / NAT64 / Teredo wrappers of a private IPv4), and a
host name is judged by every address it resolves to. The delivery worker runs the same checks
again on the addresses it is about to connect to (DNS may answer differently by then).

``allow_private`` (``RUCHE_WEBHOOK_ALLOW_PRIVATE``, development and tests) also lets plain
``http://`` and private, loopback, link-local and shared (CGNAT) addresses through; multicast,
unspecified and reserved addresses stay refused.

Everything here is pure except :func:`system_resolver`, which asks the system's resolver and is
passed in by the caller, so tests never touch the network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "MAX_URL_LENGTH",
    "Resolver",
    "Target",
    "TargetRefused",
    "address_refusal",
    "check_addresses",
    "check_url",
    "parse_host",
    "parse_ipv4_literal",
    "system_resolver",
]

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: host, port -> every address the host resolves to (as text). Raises OSError when it fails.
Resolver = Callable[[str, int], Iterable[str]]

_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052)
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215)
_NUMERIC_LABEL = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


class TargetRefused(ValueError):
    """A URL Ruche will not deliver to; the message says why (never echoing credentials)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked target: the URL, its host and port, and the addresses it was judged by."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def parse_ipv4_literal(text: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in any form ``inet_aton`` accepts, or None when ``text`` is not one.

    One to four dot-separated parts, each decimal, ``0x`` hexadecimal or ``0``-prefixed octal;
    the last part fills all remaining bytes (``127.1`` is ``127.0.0.1``, ``2130706433`` and
    ``0x7f000001`` are too). A trailing dot is allowed, as in host names.
    """
    parts = text.removesuffix(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        if not part:
            return None
        lowered = part.lower()
        try:
            if lowered.startswith("0x"):
                number = int(lowered[2:], 16) if len(lowered) > 2 else 0
            elif len(lowered) > 1 and lowered.startswith("0"):
                number = int(lowered[1:], 8)
            else:
                if not lowered.isdigit():
                    return None
                number = int(lowered, 10)
        except ValueError:
            return None
        numbers.append(number)
    *head, last = numbers
    if any(n > 0xFF for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for n in head:
        value = value << 8 | n
    value = value << 8 * (4 - len(head)) | last
    return ipaddress.IPv4Address(value)


def parse_host(host: str) -> IPAddress | str:
    """The host of a URL as an address when it is an IP literal, else as a host name.

    Raises :class:`TargetRefused` for something that is neither (an IPv4-looking host that does
    not parse, a zone id, characters no host name has).
    """
    if host.startswith("[") and host.endswith("]"):
        inner = host[1:-1]
        if "%" in inner:
            raise TargetRefused("IPv6 zone identifiers are not allowed")
        try:
            return ipaddress.IPv6Address(inner)
        except ValueError:
            raise TargetRefused("the host is not a valid IPv6 address") from None
    name = host.lower().removesuffix(".")
    if not name:
        raise TargetRefused("the URL has no host")
    labels = name.split(".")
    # As in the WHATWG URL standard: a host whose last label is numeric is an IPv4 address.
    if _NUMERIC_LABEL.match(labels[-1]):
        address = parse_ipv4_literal(name)
        if address is None:
            raise TargetRefused("the host is not a valid IPv4 address")
        return address
    if len(name) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise TargetRefused("the host is not a valid host name")
    return name


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why ``address`` is not a fit webhook target, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = address_refusal(embedded, allow_private=allow_private)
            return None if reason is None else f"{reason} (inside an IPv6 address)"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_loopback:  # before is_reserved: IPv6's ::/8 holds ::1
        return None if allow_private else "a loopback address"
    if address.is_link_local:
        return None if allow_private else "a link-local address"
    if address.is_reserved:
        return "a reserved address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return None if allow_private else "a shared (carrier-grade NAT) address"
    if address.is_private:
        return None if allow_private else "a private address"
    if not address.is_global:
        return None if allow_private else "a non-public address"
    return None


def check_addresses(
    addresses: Iterable[IPAddress], *, allow_private: bool = False
) -> tuple[IPAddress, ...]:
    """All of ``addresses`` when every one is acceptable; refuses on the first that is not."""
    checked = tuple(addresses)
    if not checked:
        raise TargetRefused("the host has no address")
    for address in checked:
        reason = address_refusal(address, allow_private=allow_private)
        if reason is not None:
            raise TargetRefused(f"the target resolves to {reason}")
    return checked


def check_url(url: str, *, allow_private: bool, resolve: Resolver | None) -> Target:
    """Check a webhook URL and every address it leads to.

    ``resolve`` looks a host name up (see :func:`system_resolver`); IP literals never need it.
    With ``resolve=None`` a host name is refused, which keeps a caller from skipping the check
    by accident.
    """
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise TargetRefused("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port_given = parts.port
    except ValueError:
        raise TargetRefused("the URL cannot be parsed (check the host and port)") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_private else ("https",)
    if scheme not in allowed:
        raise TargetRefused("the URL must use " + " or ".join(f"{s}://" for s in allowed))
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("credentials in the URL are not allowed")
    if parts.fragment:
        raise TargetRefused("the URL must not have a fragment")
    # The host as written (urlsplit's ``hostname`` drops the brackets that mark IPv6).
    host_and_port = parts.netloc.rpartition("@")[2]
    if host_and_port.startswith("["):
        raw_host = host_and_port[: host_and_port.find("]") + 1]
    else:
        raw_host = host_and_port.partition(":")[0]
    host = parse_host(raw_host)
    port = port_given if port_given is not None else (443 if scheme == "https" else 80)
    if port == 0:
        raise TargetRefused("port 0 is not a valid target")
    if isinstance(host, str):
        if resolve is None:
            raise TargetRefused("host names cannot be checked here")
        try:
            found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
        except (OSError, UnicodeError, ValueError):
            raise TargetRefused("the host name does not resolve") from None
        addresses = check_addresses(found, allow_private=allow_private)
        return Target(url, scheme, host, port, addresses)
    addresses = check_addresses([host], allow_private=allow_private)
    return Target(url, scheme, str(host), port, addresses)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (blocking; run it in a thread)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})
