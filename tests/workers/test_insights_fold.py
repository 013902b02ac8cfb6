"""The scheduler folds every project's events into its insights (core.insights.rollup), at
most once an interval."""

from __future__ import annotations

import threading
import time

import redis

from core.board.runner import BoardPolicy, Claimed, NewTask
from core.ids import new_volunteer_id
from core.insights.rollup import PeriodicFold
from core.redis.keys import Keys
from core.settings import Settings
from tests.support.board import TestBoard
from workers.scheduler import run_scheduler


def test_the_scheduler_folds_new_events_into_insights(
    redis_url: str, redis_client: redis.Redis
) -> None:
    board = TestBoard(redis_client, keys=Keys("ruche:"))
    project = board.create_project(BoardPolicy(redundancy=1))
    board.create_tasks(project, [NewTask({"n": 1})])
    volunteer = new_volunteer_id()
    lease = board.claim(project, volunteer)
    assert isinstance(lease, Claimed)
    board.submit(lease.assignment_id, volunteer, {"label": "x"})
    insights = board.keys.project(project).insights

    stop = threading.Event()
    settings = Settings(redis_url=redis_url, scheduler_interval_seconds=0.01)
    thread = threading.Thread(target=run_scheduler, args=(settings, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while redis_client.hget(insights, "t:answers") is None:
            assert time.monotonic() < deadline, "the scheduler never folded the events"
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=2)
    assert redis_client.hget(insights, "t:answers") == "1"
    assert redis_client.hget(insights, "t:created") == "1"


def test_a_periodic_fold_runs_once_an_interval(redis_client: redis.Redis) -> None:
    board = TestBoard(redis_client)
    project = board.create_project(BoardPolicy(redundancy=1))
    now = [100.0]
    fold = PeriodicFold(60.0, monotonic=lambda: now[0])
    board.create_tasks(project, [NewTask({"n": 1})])
    assert fold(board) == 1  # the tasks.created event
    board.create_tasks(project, [NewTask({"n": 2})])
    now[0] += 59.0
    assert fold(board) is None  # not due
    now[0] += 1.0
    assert fold(board) == 1
