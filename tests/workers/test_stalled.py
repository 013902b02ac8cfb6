"""A task whose leases keep expiring (``task.stalled``) goes to the reviewers by itself, once,
and only when no lease is left out on it."""

from __future__ import annotations

from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from core.board.runner import BoardPolicy, Claimed, NewTask
from core.clock import ManualClock
from core.errors import TaskBusy
from core.ids import new_volunteer_id
from tests.support.board import TestBoard
from tests.support.pipeline import events, last_event
from workers import runtime
from workers.routing import ROUTES, TASKS_QUEUE, TASKS_REVIEW_STALLED, Router

Actor = dramatiq.Actor[..., None]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def board(redis_client: redis.Redis, clock: ManualClock) -> Iterator[TestBoard]:
    board = TestBoard(redis_client, clock=clock)
    runtime.install(board)
    yield board
    runtime.install(None)


def stall(board: TestBoard, clock: ManualClock, *, leases: int = 1) -> tuple[str, str]:
    """A project whose one task stalls at its first expired lease; ``leases`` claims on it."""
    project = board.create_project(BoardPolicy(redundancy=3, lease_seconds=60, max_attempts=1))
    [created] = board.create_tasks(project, [NewTask({"n": 1}, priority=7)])
    claims = [board.claim(project, new_volunteer_id()) for _ in range(leases)]
    assert all(isinstance(c, Claimed) for c in claims)
    clock.advance(61)
    board.expire_leases(project, limit=1)  # one lease expires: the task stalls
    return project, created.task_id


def test_the_stalled_event_is_routed_to_its_actor(broker: RedisBroker) -> None:
    assert Router(broker, ROUTES).actors_for({"type": "task.stalled"}) == [TASKS_REVIEW_STALLED]
    found: Actor = broker.get_actor(TASKS_REVIEW_STALLED)
    assert found.queue_name == TASKS_QUEUE
    assert found.options["retry_when"](0, TaskBusy("leases out"))  # waits for the leases still out


def test_a_stalled_task_is_opened_for_review_once(
    board: TestBoard, clock: ManualClock, broker: RedisBroker
) -> None:
    project, task_id = stall(board, clock)
    event_id, fields = last_event(board, project, "task.stalled")
    assert board.get_task(project, task_id).state == "stalled"
    actor: Actor = broker.get_actor(TASKS_REVIEW_STALLED)

    actor(project, event_id, fields)
    actor(project, event_id, fields)  # redelivered: no second review

    assert board.get_task(project, task_id).state == "in_review"
    opened = events(board, project, "review.opened")
    assert [f["reason"] for _, f in opened] == ["stalled"]
    assert board.client.zscore(board.keys.project(project).review_queue, task_id) == -7


def test_a_stalled_task_with_leases_out_waits_for_them(
    board: TestBoard, clock: ManualClock, broker: RedisBroker
) -> None:
    project, task_id = stall(board, clock, leases=2)
    event_id, fields = last_event(board, project, "task.stalled")
    actor: Actor = broker.get_actor(TASKS_REVIEW_STALLED)

    with pytest.raises(TaskBusy):  # dramatiq retries it later (transient)
        actor(project, event_id, fields)
    assert board.get_task(project, task_id).state == "stalled"

    board.expire_leases(project, limit=10)  # the other lease runs out too
    actor(project, event_id, fields)
    assert board.get_task(project, task_id).state == "in_review"
