"""MuxRedis over TLS (``rediss://``) against a real redis-server serving only TLS on throw-away
certificates (tests/support/tls.py); and the mux reads a URL's TLS options as redis-py does: for
each, the mux, redis-py's asyncio client (the API's) and its sync one (the workers', the
relay's, the scheduler's, the broker's) connect, or are refused, alike.
"""

from __future__ import annotations

import asyncio
import operator
import ssl
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.retry import Retry

from core.board.runner import MUX_COMMANDS
from core.redis.mux import MuxRedis
from core.redis.tls import ssl_context
from tests.support.tls import Certificates, TlsRedis, make_certificates, start_tls_server, tls_url

pytestmark = pytest.mark.anyio

PASSWORD = "tls pass"  # noqa: S105 - a throw-away server's


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),  # what the API runs on
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, TlsRedis]]:
    """Three TLS-only servers of one CA (short paths: the data directories hold the logs):

    - ``secured``: a password on top (the mux's AUTH and SELECT go over TLS too);
    - ``renamed``: its certificate names ``redis.example`` only, not 127.0.0.1;
    - ``mutual``: it asks every client for a certificate of the CA (``--tls-auth-clients yes``).
    """
    with tempfile.TemporaryDirectory(prefix="tls") as directory:
        root = Path(directory)
        certs = make_certificates(root / "certs")
        renamed = make_certificates(root / "renamed", dns_names=["redis.example"], ip_addresses=[])
        specs = {
            "secured": (certs, certs.server_tls()),
            "renamed": (renamed, renamed.server_tls()),
            "mutual": (certs, certs.server_tls(auth_clients="yes")),
        }
        started: dict[str, TlsRedis] = {}
        try:
            for name, (files, tls) in specs.items():
                server = start_tls_server(root / name, tls)
                started[name] = TlsRedis(server, files)
            setup = redis.Redis.from_url(started["secured"].url)
            setup.config_set("requirepass", PASSWORD)
            setup.close()
            yield started
        finally:
            for running in started.values():
                running.server.stop()


@pytest.fixture
async def secured_mux(servers: dict[str, TlsRedis]) -> AsyncIterator[MuxRedis]:
    secured = servers["secured"]
    mux = MuxRedis(tls_url(secured.port, 2, password=PASSWORD, ssl_ca_certs=secured.certs.ca))
    await mux.execute([("FLUSHDB",)])
    try:
        yield mux
    finally:
        await mux.aclose()


async def test_scripts_and_the_mux_commands_round_trip_over_tls(secured_mux: MuxRedis) -> None:
    script = "redis.call('HSET', KEYS[1], 'n', ARGV[1]); return {ARGV[1], 'é'}"
    [sha] = await secured_mux.execute([("SCRIPT", "LOAD", script)])
    assert {"EVALSHA", "HGET", "HMGET", "ZADD", "ZREM"} == MUX_COMMANDS  # what follows covers
    replies = await secured_mux.execute(
        [
            ("EVALSHA", sha, 1, "h", 7),
            ("HGET", "h", "n"),
            ("HMGET", "h", "n", "missing"),
            ("ZADD", "z", 1, "a", 2, "b"),
            ("ZREM", "z", "a"),
            ("EVALSHA", "0" * 40, 0),
            ("SELECT", 2),  # the handshake's database, still
            ("CLIENT", "INFO"),
        ]
    )
    assert replies[:5] == [["7", "é"], "7", ["7", None], 2, 1]
    assert isinstance(replies[5], NoScriptError)
    assert replies[6] == "OK"
    assert " db=2 " in replies[7]
    # A reply far larger than a TLS record (16 kB) comes back whole.
    big = "x" * 1_000_000
    assert await secured_mux.execute([("SET", "big", big), ("GET", "big")]) == ["OK", big]


async def test_concurrent_callers_share_one_tls_connection(secured_mux: MuxRedis) -> None:
    async def caller(n: int) -> int:
        ids = set()
        for call in range(20):
            echoed, client_id = await secured_mux.execute(
                [("ECHO", f"{n}:{call}"), ("CLIENT", "ID")]
            )
            assert echoed == f"{n}:{call}"
            ids.add(client_id)
        return ids.pop() if len(ids) == 1 else -1

    ids = await asyncio.gather(*(caller(n) for n in range(50)))
    assert len(set(ids)) == 1 and ids[0] != -1


async def test_a_killed_tls_connection_is_opened_again(
    secured_mux: MuxRedis, servers: dict[str, TlsRedis]
) -> None:
    [client_id] = await secured_mux.execute([("CLIENT", "ID")])
    admin = redis.Redis.from_url(servers["secured"].url, password=PASSWORD)
    try:
        assert admin.client_kill_filter(_id=client_id) == 1
    finally:
        admin.close()
    with pytest.raises(RedisConnectionError):
        for _ in range(50):  # the kill reaches the mux's socket after a moment
            await secured_mux.execute([("PING",)])
            await asyncio.sleep(0.01)
    [new_id] = await secured_mux.execute([("CLIENT", "ID")])
    assert new_id != client_id


async def test_a_server_certificate_of_another_ca_is_refused_clearly(
    tls_redis: TlsRedis,
) -> None:
    mux = MuxRedis(tls_url(tls_redis.port, ssl_ca_certs=tls_redis.certs.other_ca))
    try:
        with pytest.raises(RedisConnectionError) as refused:
            await mux.execute([("PING",)])
    finally:
        await mux.aclose()
    message = str(refused.value)
    assert f"Error connecting to Redis at 127.0.0.1:{tls_redis.port}" in message
    assert "CERTIFICATE_VERIFY_FAILED" in message


async def mux_outcome(url: str) -> str:
    mux = MuxRedis(url)
    try:
        assert await mux.execute([("PING",)]) == ["PONG"]
    except RedisConnectionError:
        return "refused"
    finally:
        await mux.aclose()
    return "connected"


async def async_redis_py_outcome(url: str) -> str:
    client = redis.asyncio.Redis.from_url(url, retry=AsyncRetry(NoBackoff(), 0))
    try:
        assert await client.ping()
    except RedisConnectionError:
        return "refused"
    finally:
        await client.aclose()
    return "connected"


def sync_redis_py_outcome(url: str) -> str:
    client = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0))
    try:
        assert client.ping()
    except RedisConnectionError:
        return "refused"
    finally:
        client.close()
    return "connected"


# (case, server, URL query built from that server's certificates, expected outcome)
CASES: list[tuple[str, str, dict[str, str], str]] = [
    ("our CA", "default", {"ssl_ca_certs": "ca"}, "connected"),
    ("our CA as data", "default", {"ssl_ca_data": "ca:pem"}, "connected"),
    ("another CA", "default", {"ssl_ca_certs": "other_ca"}, "refused"),
    ("the system's CAs", "default", {}, "refused"),
    ("another CA, optional", "default",
     {"ssl_ca_certs": "other_ca", "ssl_cert_reqs": "optional"}, "refused"),
    ("another CA, not checked", "default",
     {"ssl_ca_certs": "other_ca", "ssl_cert_reqs": "none"}, "connected"),
    ("TLS 1.3 at least", "default", {"ssl_ca_certs": "ca", "ssl_min_version": "772"}, "connected"),
    ("a name that is not the host's", "renamed", {"ssl_ca_certs": "ca"}, "refused"),
    ("a name that is not the host's, unchecked", "renamed",
     {"ssl_ca_certs": "ca", "ssl_check_hostname": "false"}, "connected"),
    ("no client certificate", "mutual", {"ssl_ca_certs": "ca"}, "refused"),
    ("a client certificate", "mutual",
     {"ssl_ca_certs": "ca", "ssl_certfile": "client_cert", "ssl_keyfile": "client_key"},
     "connected"),
]  # fmt: skip


def query_of(certs: Certificates, spec: dict[str, str]) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for name, value in spec.items():
        if value.endswith(":pem"):
            query[name] = getattr(certs, value.removesuffix(":pem")).read_text()
        elif hasattr(certs, value):
            query[name] = getattr(certs, value)
        else:
            query[name] = value
    return query


@pytest.mark.parametrize(("case", "server", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_the_mux_connects_or_is_refused_as_redis_py_is_for_the_same_url(
    case: str,
    server: str,
    spec: dict[str, str],
    expected: str,
    tls_redis: TlsRedis,
    servers: dict[str, TlsRedis],
) -> None:
    target = tls_redis if server == "default" else servers[server]
    url = tls_url(target.port, **query_of(target.certs, spec))
    outcomes = {
        "mux": await mux_outcome(url),
        "redis-py asyncio": await async_redis_py_outcome(url),
        "redis-py": await asyncio.to_thread(sync_redis_py_outcome, url),
    }
    assert outcomes == dict.fromkeys(outcomes, expected)


CONTEXT_QUERIES = [
    "",
    "ssl_cert_reqs=none",
    "ssl_cert_reqs=optional",
    "ssl_cert_reqs=none&ssl_check_hostname=true",
    "ssl_check_hostname=false",
    "ssl_ca_certs={ca}",
    "ssl_include_verify_flags=VERIFY_X509_STRICT,VERIFY_CRL_CHECK_LEAF",
    "ssl_exclude_verify_flags=VERIFY_X509_TRUSTED_FIRST",
    "ssl_min_version=772",
    "ssl_ciphers=ECDHE%2BAESGCM",
    "ssl_certfile={client_cert}&ssl_keyfile={client_key}&ssl_ca_certs={other_ca}",
]


def redis_py_context(url: str) -> ssl.SSLContext:
    """The context redis-py's asyncio client makes of ``url``."""
    pool = redis.asyncio.ConnectionPool.from_url(url)
    connection: Any = pool.make_connection()  # type: ignore[no-untyped-call]
    context: ssl.SSLContext = connection.ssl_context.get()
    return context


@pytest.mark.parametrize("query", CONTEXT_QUERIES)
def test_the_tls_context_of_a_url_is_the_one_redis_py_builds(
    query: str, tls_redis: TlsRedis
) -> None:
    certs = tls_redis.certs
    query = query.format(**{name: str(getattr(certs, name)) for name in vars(certs)})
    url = f"rediss://127.0.0.1:6380/0?{query}"
    ours = ssl_context(redis.connection.parse_url(url))  # type: ignore[no-untyped-call]
    theirs = redis_py_context(url)
    for attribute in ("verify_mode", "check_hostname", "verify_flags", "minimum_version"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert ours.cert_store_stats() == theirs.cert_store_stats()
    # The same trusted CAs; their order follows when each was loaded (the system's default
    # store among them), which is no part of what a context trusts.
    by_serial = operator.itemgetter("serialNumber")
    assert sorted(ours.get_ca_certs(), key=by_serial) == sorted(
        theirs.get_ca_certs(), key=by_serial
    )
    assert [c["name"] for c in ours.get_ciphers()] == [c["name"] for c in theirs.get_ciphers()]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("ssl_cert_reqs=sometimes", ValueError),
        ("ssl_validate_ocsp=true", ValueError),  # redis-py's asyncio client has no OCSP
        ("ssl_keyfile={client_key}", ValueError),
        ("ssl_ca_certs={missing}", FileNotFoundError),
    ],
)
def test_a_tls_option_that_cannot_work_fails_when_the_mux_is_made(
    query: str, error: type[Exception], tls_redis: TlsRedis
) -> None:
    files = {name: str(getattr(tls_redis.certs, name)) for name in vars(tls_redis.certs)}
    url = "rediss://127.0.0.1:6380/0?" + query.format(**files, missing="/nonexistent/ca.pem")
    with pytest.raises(error):
        MuxRedis(url)


def test_redis_py_refuses_what_the_mux_refuses_at_start() -> None:
    # The one value check both make: redis-py when it connects, the mux when it is made.
    url = "rediss://127.0.0.1:6380/0?ssl_cert_reqs=sometimes"
    with (
        redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0)) as client,
        pytest.raises(RedisError, match="sometimes"),
    ):
        client.ping()
