"""Who is calling, as an address: what the per-address limits count (sign-up, failed tokens).

The peer's address is the client's, unless the peer is one of ``Settings.trusted_proxies``: then
``X-Forwarded-For`` is read from right to left (each proxy appends the address it saw), skipping
the addresses of trusted proxies, and the first other one is the client. Entries further left
were written by the client itself and are never believed. A header naming only trusted hops
gives its leftmost; one with an entry that is not an address gives the peer (a proxy
misconfigured, not a client to trust). uvicorn's own handling of the header is off
(``ruche.cli``: ``proxy_headers=False``), so this setting is the only one that counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import Scope

__all__ = ["client_address"]

Network = IPv4Network | IPv6Network
UNKNOWN = "unknown"


def _parse(value: str) -> IPv4Address | IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[::1]:1234"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "1.2.3.4:1234"
        value = value.split(":", 1)[0]
    try:
        return ip_address(value)
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(scope: Scope, proxies: Sequence[Network]) -> str:
    """The client's address for this request (``"unknown"`` when the server was told none)."""
    peer = scope.get("client")
    if not peer:
        return UNKNOWN
    peer_host = str(peer[0])
    if not proxies:
        return peer_host
    peer_address = _parse(peer_host)
    if peer_address is None or not _trusted(peer_address, proxies):
        return peer_host
    hops: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            hops += value.decode("latin-1").split(",")
    if not hops:
        return peer_host
    leftmost = peer_host
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            return peer_host
        if not _trusted(address, proxies):
            return str(address)
        leftmost = str(address)
    return leftmost
