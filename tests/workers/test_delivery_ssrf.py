"""The delivery worker's SSRF guard, on real sockets: refused targets get no connection, the
connection goes to the address that was checked, and redirects are never followed.

A listener on loopback stands in for the internal service an attacker would aim at: it counts
every connection it accepts, so "refused" means "not even a TCP handshake".
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from standardwebhooks import Webhook

from core.delivery.records import DeliveryStore
from core.delivery.signing import delivery_id, signed_headers
from core.delivery.ssrf import system_resolver
from core.delivery.webhooks import new_secret
from core.redis.keys import Keys
from tests.support.delivery import (
    TEST_LIMITS,
    Answer,
    Clock,
    Receiver,
    deliverer,
    headers_of,
    publish,
    receiving,
)
from workers.delivery.webhook_client import post

SECRET = new_secret()
BODY = b'{"type":"result.ready"}'

# Issue 4's list, each spelled as an attacker would; the port is the listener's.
REFUSED_HOSTS = [
    "127.0.0.1",
    "localhost",
    "0",
    "2130706433",
    "0x7f000001",
    "127.1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[fe80::1]",
    "[fc00::1]",
]


Resolve = Callable[[str, int], list[str]]


def resolver_of(table: dict[str, list[list[str]]]) -> tuple[Resolve, list[str]]:
    """A resolver answering from ``table`` (successive answers per name), and its call log."""
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        answers = table[host]
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return resolve, calls


def headers() -> dict[str, str]:
    return signed_headers(SECRET, "msg_test", int(Clock()()), BODY)


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_internal_targets_are_refused_before_any_connection(host: str) -> None:
    with receiving() as listener:
        url = f"https://{host}:{listener.port}/hook"
        reply = post(url, BODY, headers(), allow_private=False, resolver=system_resolver)
    assert reply.status is None
    assert reply.error is not None and reply.error.startswith("target refused: ")
    assert listener.connections == 0


def test_a_name_is_refused_when_any_of_its_addresses_is_internal() -> None:
    resolve, _ = resolver_of({"mixed.example": [["93.184.216.34", "127.0.0.1"]]})
    url = "https://mixed.example/hook"
    reply = post(url, BODY, headers(), allow_private=False, resolver=resolve)
    assert reply.error == "target refused: the target resolves to a loopback address"


def test_the_worker_refuses_an_endpoint_that_turned_internal_and_retries_later(
    redis_client: redis.Redis,
) -> None:
    """The API checked the URL when it was set; DNS may answer otherwise by delivery time."""
    org = "org_ssrf"
    with receiving() as listener:
        redis_client.hset(
            Keys().org_webhook(org),
            mapping={"url": f"https://hook.example:{listener.port}/h", "secret": SECRET},
        )
        published = publish(redis_client, org)
        resolve, _ = resolver_of({"hook.example": [["127.0.0.1"]]})
        worker = deliverer(redis_client, Clock(), allow_private=False, resolver=resolve)
        worker.on_result(published.project_id, published.result_id)
    assert listener.connections == 0
    did = delivery_id(org, published.project_id, published.result_id)
    waiting = DeliveryStore(redis_client, Keys()).record(org, did)
    assert waiting is not None and waiting.status == "pending"
    assert waiting.last_error == "target refused: the target resolves to a loopback address"


def test_the_connection_goes_to_the_checked_address_with_the_original_host() -> None:
    # The name resolves once to loopback, then (a rebinding resolver) to an unroutable address.
    resolve, calls = resolver_of({"hook.test": [["127.0.0.1"], ["10.255.255.1"]]})
    with receiving() as receiver:
        url = f"http://hook.test:{receiver.port}/hook?x=1"
        reply = post(url, BODY, headers(), allow_private=True, resolver=resolve, limits=TEST_LIMITS)
    assert reply.delivered and reply.address == "127.0.0.1"
    assert calls == ["hook.test"]  # resolved once: the connection used the checked address
    [request] = receiver.requests
    assert headers_of(request)["host"] == f"hook.test:{receiver.port}"
    assert request.path == "/hook?x=1"
    assert Webhook(SECRET).verify(request.body, headers_of(request)) == {"type": "result.ready"}


def test_a_redirect_is_never_followed_even_to_an_allowed_target() -> None:
    with receiving() as second:
        for location in (second.url, f"http://localhost:{second.port}/hook"):
            with receiving(Answer(302, headers={"location": location})) as first:
                reply = post(
                    first.url, BODY, headers(), allow_private=True, resolver=system_resolver
                )
            assert reply.status == 302
            assert reply.error == "HTTP 302: redirects are not followed"
            assert len(first.requests) == 1
    assert second.connections == 0


# -- TLS: pinned to the address, verified for the name ----------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throw-away CA and a certificate for ``hook.test`` signed by it."""
    where = tmp_path_factory.mktemp("tls")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Ruche test CA",
        cwd=where,
    )
    _openssl(
        "req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=hook.test", cwd=where
    )
    (where / "ext.cnf").write_text("subjectAltName=DNS:hook.test\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        cwd=where,
    )
    yield where


def tls_receiver(certificates: Path, server_names: list[str | None]) -> Receiver:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")

    def note_sni(sock: object, name: str | None, ctx: object) -> None:
        server_names.append(name)

    context.sni_callback = note_sni
    return Receiver(tls=context)


def test_tls_uses_the_host_name_for_sni_and_the_certificate_while_pinned(
    certificates: Path,
) -> None:
    trust = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    names: list[str | None] = []
    resolve, calls = resolver_of({"hook.test": [["127.0.0.1"]]})
    with tls_receiver(certificates, names) as receiver:
        url = f"https://hook.test:{receiver.port}/hook"
        reply = post(url, BODY, headers(), allow_private=True, resolver=resolve, verify=trust)
    assert reply.delivered, reply.error
    assert names == ["hook.test"]
    assert calls == ["hook.test"]
    assert headers_of(receiver.requests[0])["host"] == f"hook.test:{receiver.port}"


def test_tls_refuses_a_certificate_for_another_name_at_the_same_address(
    certificates: Path,
) -> None:
    trust = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    names: list[str | None] = []
    resolve, _ = resolver_of({"other.test": [["127.0.0.1"]]})
    with tls_receiver(certificates, names) as receiver:
        url = f"https://other.test:{receiver.port}/hook"
        reply = post(url, BODY, headers(), allow_private=True, resolver=resolve, verify=trust)
    assert not reply.delivered
    assert reply.error is not None and "certificate" in reply.error.lower()
    assert names == ["other.test"]
    assert receiver.requests == []


def test_the_next_checked_address_is_tried_only_when_no_connection_opened() -> None:
    # 127.0.0.2 is loopback too, but nothing listens there on this port: connection refused.
    resolve, calls = resolver_of({"hook.test": [["127.0.0.2", "127.0.0.1"]]})
    with receiving() as receiver:
        url = f"http://hook.test:{receiver.port}/hook"
        reply = post(url, BODY, headers(), allow_private=True, resolver=resolve, limits=TEST_LIMITS)
    assert reply.delivered and reply.address == "127.0.0.1"
    assert calls == ["hook.test"]
    assert len(receiver.requests) == 1


def test_a_request_that_reached_the_receiver_is_not_repeated_at_another_address() -> None:
    resolve, _ = resolver_of({"hook.test": [["127.0.0.1", "127.0.0.1"]]})
    with receiving(Answer(200, delay_s=1.5)) as receiver:
        url = f"http://hook.test:{receiver.port}/hook"
        reply = post(url, BODY, headers(), allow_private=True, resolver=resolve, limits=TEST_LIMITS)
    assert reply.error == "timed out (ReadTimeout)"
    assert len(receiver.requests) == 1
