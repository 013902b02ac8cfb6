"""The client's address: the peer's, or X-Forwarded-For's when the peer is a trusted proxy."""

from __future__ import annotations

import pytest

from api.client_address import client_address
from core.settings import Settings, parse_networks

PROXIES = parse_networks("10.0.0.0/8, 127.0.0.1, ::1")


def scope(peer: str | None, *forwarded: str) -> dict[str, object]:
    return {
        "client": (peer, 5000) if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


@pytest.mark.parametrize(
    ("peer", "forwarded", "seen"),
    [
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # an untrusted peer: header ignored
        ("127.0.0.1", [], "127.0.0.1"),  # a proxy that passed nothing on
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("10.1.2.3", ["6.6.6.6, 198.51.100.1, 10.9.9.9"], "198.51.100.1"),  # forged 6.6.6.6
        ("10.1.2.3", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # two header lines
        ("10.1.2.3", ["10.0.0.7, 10.0.0.9"], "10.0.0.7"),  # trusted hops only: the leftmost
        ("10.1.2.3", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("10.1.2.3", ["198.51.100.1:8080"], "198.51.100.1"),
        ("10.1.2.3", ["not-an-address"], "10.1.2.3"),  # a proxy's garbage: the peer
        ("::1", ["2001:db8::7"], "2001:db8::7"),
        (None, ["198.51.100.1"], "unknown"),
    ],
)
def test_the_address_counted_is_the_first_untrusted_hop_from_the_right(
    peer: str | None, forwarded: list[str], seen: str
) -> None:
    assert client_address(scope(peer, *forwarded), PROXIES) == seen


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address(scope("127.0.0.1", "198.51.100.1"), ()) == "127.0.0.1"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("trusted_proxies", "10.0.0.0/33"),
        ("trusted_proxies", "proxy.example.org"),
        ("rate_limit_signup", "lots"),
        ("rate_limit_claims", "0/minute"),
        ("embedded_redis_maxmemory", "1 GB"),
    ],
)
def test_settings_refuse_a_bad_limit_or_proxy(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        Settings.model_validate({field: value})


def test_the_live_assignment_cap_grows_with_accepted_answers_up_to_the_maximum() -> None:
    settings = Settings(
        live_assignments_start=1, accepted_answers_per_extra_assignment=5, max_live_assignments=4
    )
    caps = [settings.live_assignment_cap(accepted) for accepted in (0, 4, 5, 10, 14, 15, 500)]
    assert caps == [1, 1, 2, 3, 3, 4, 4]
