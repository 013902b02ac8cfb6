"""Shared fixtures: a real, throw-away ``redis-server`` for the whole session.

Every test gets a clean database (FLUSHALL before each test that asks for ``redis_client``).
The suite runs in parallel (pytest-xdist): each worker is a session of its own, so it starts a
server of its own on a free port, in a temporary directory of its own. Set
``RUCHE_TEST_REDIS_URL`` to point the suite at an existing server instead: it is flushed before
every test, so it can serve one worker only (``-n auto`` then starts one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from tests.support.limits import GENEROUS_LIMITS
from tests.support.logs import without_ruche_logging
from tests.support.own_redis import own_redis_server
from tests.support.processes import default_signal_handling
from tests.support.tls import TlsRedis, make_certificates, start_tls_server

EXTERNAL_REDIS = "RUCHE_TEST_REDIS_URL"


def pytest_configure(config: pytest.Config) -> None:
    # Before xdist starts its workers, and in each worker: see the function's docstring.
    default_signal_handling()
    # Generous limits for the whole run (tests/support/limits.py); the limits' tests set theirs.
    for name, value in GENEROUS_LIMITS.items():
        os.environ.setdefault(name, value)
    workers = getattr(config.option, "numprocesses", None) or 0
    if os.environ.get(EXTERNAL_REDIS) and workers > 1 and not hasattr(config, "workerinput"):
        raise pytest.UsageError(
            f"{EXTERNAL_REDIS} is flushed by every test, so it serves one worker: -n 1 or -n 0"
        )


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` with one shared, external server: one worker (the tests flush it)."""
    return 1 if os.environ.get(EXTERNAL_REDIS) else None


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Every run says how to replay its order, even with ``-q`` (which hides the header)."""
    if config.pluginmanager.hasplugin("randomly"):
        seed = config.getoption("randomly_seed")
        terminalreporter.write_line(f"random test order: replay it with --randomly-seed={seed}")


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """Each test starts and ends without Ruche's logging configured: an in-process ``ruche``
    command (or a worker app) configures it for the whole process, and its handler would write
    JSON lines into the stderr of whatever test runs next."""
    with without_ruche_logging():
        yield


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get(EXTERNAL_REDIS)
    if external:
        yield external
        return
    server = own_redis_server(tmp_path_factory)
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
    a throw-away CA (tests/support/tls.py); started on first use. Tests flush what they use."""
    directory = tmp_path_factory.mktemp("tls-redis")
    certs = make_certificates(directory / "certs")
    server = start_tls_server(directory / "data", certs.server_tls())
    try:
        yield TlsRedis(server, certs)
    finally:
        server.stop()
