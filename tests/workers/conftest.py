"""Fixtures of the worker tests: the broker the actor modules are bound to, a board installed
as the actors' own (``workers.runtime``), and a raw (bytes) client for store snapshots."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from core.settings import Settings
from tests.support.board import TestBoard
from tests.support.logs import restored_logging
from workers import runtime
from workers.app import setup


@pytest.fixture(scope="module")
def broker(redis_url: str) -> Iterator[RedisBroker]:
    # Actor modules bind to the broker current when first imported (maybe by another test
    # module of this session): use the one they are bound to, and leave it open for the others.
    with restored_logging():
        setup(Settings(redis_url=redis_url))
        from workers.actors import system

        bound = system.ping.broker
        assert isinstance(bound, RedisBroker)
        yield bound


@pytest.fixture
def board(redis_client: redis.Redis) -> Iterator[TestBoard]:
    board = TestBoard(redis_client)
    runtime.install(board)
    yield board
    runtime.install(None)


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
