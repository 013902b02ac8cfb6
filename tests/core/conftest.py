"""Board fixtures: a TestBoard (tests/support/board.py) on the session's real redis-server, with a
manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Unpack

import pytest
import redis

from core.board.runner import BoardPolicy, NewTask
from core.clock import ManualClock
from core.ids import new_volunteer_id
from tests.support.board import PolicyFields, TestBoard
from tests.support.snapshots import store_contents


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def board(redis_client: redis.Redis, clock: ManualClock) -> TestBoard:
    return TestBoard(redis_client, clock=clock)


@pytest.fixture
def make_project(board: TestBoard) -> Callable[..., str]:
    """Create a project with ``n_tasks`` tasks; keyword arguments go to BoardPolicy."""

    def make(n_tasks: int = 1, **policy: Unpack[PolicyFields]) -> str:
        project_id = board.create_project(BoardPolicy(**policy))
        board.create_tasks(project_id, [NewTask({"n": i}) for i in range(n_tasks)])
        return project_id

    return make


@pytest.fixture
def volunteer() -> Callable[[], str]:
    return new_volunteer_id


@pytest.fixture
def store_snapshot(redis_url: str) -> Iterator[Callable[[], dict[bytes, Any]]]:
    """A function returning every key of the database with its type, content and expiry flag
    (tests/support/snapshots.py): the whole store, to prove that a refused call wrote nothing."""
    raw = redis.Redis.from_url(redis_url)

    def take() -> dict[bytes, Any]:
        return store_contents(raw)

    yield take
    raw.close()
