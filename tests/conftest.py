"""Shared fixtures: a real, throw-away ``redis-server`` for the whole session.

Every test gets a clean database (FLUSHALL before each test that asks for ``redis_client``).
Set ``RUCHE_TEST_REDIS_URL`` to point the suite at an existing server instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from core.redis.server import RedisServer
from tests.tls import TlsRedis, make_certificates


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("RUCHE_TEST_REDIS_URL")
    if external:
        yield external
        return
    server = RedisServer(Path(tmp_path_factory.mktemp("redis")), appendonly=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushall()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    """A throw-away redis-server speaking only TLS (its plain port closed), on a certificate of
    a throw-away CA (tests/tls.py); started on first use. Tests flush what they use."""
    directory = tmp_path_factory.mktemp("tls-redis")
    certs = make_certificates(directory / "certs")
    with RedisServer(directory / "data", appendonly=False, tls=certs.server_tls()) as server:
        yield TlsRedis(server, certs)
