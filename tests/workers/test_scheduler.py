"""The scheduler loop ticks on its interval, survives a dead Redis, and stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from core.board.runner import BoardPolicy, Claimed, NewTask
from core.ids import new_volunteer_id
from core.redis.keys import Keys
from core.redis.server import free_port
from core.settings import Settings
from tests.support.board import TestBoard
from tests.support.limits import clean_env
from tests.support.logs import json_lines, log_to_stream, restored_logging
from workers.scheduler import run_scheduler


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    with restored_logging():
        yield


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def start(settings: Settings, **kwargs: object) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=run_scheduler, args=(settings, stop), kwargs=kwargs)
    thread.start()
    return stop, thread


def test_each_tick_reaches_redis_until_stopped(redis_url: str, redis_client: redis.Redis) -> None:
    def count_tick(board: TestBoard, settings: Settings) -> None:
        board.client.incr(f"{settings.key_prefix}test:ticks")

    stop, thread = start(
        Settings(redis_url=redis_url, scheduler_interval_seconds=0.01), tick=count_tick
    )
    wait_for(lambda: int(redis_client.get("ruche:test:ticks") or 0) >= 3)
    stop.set()
    thread.join(timeout=2)

    assert not thread.is_alive()
    ticks = int(redis_client.get("ruche:test:ticks") or 0)
    time.sleep(0.05)
    assert int(redis_client.get("ruche:test:ticks") or 0) == ticks  # no tick after the stop


def test_the_default_tick_logs_at_debug_level(redis_url: str) -> None:
    stream = log_to_stream(log_level="DEBUG")
    stop, thread = start(Settings(redis_url=redis_url, scheduler_interval_seconds=0.01))
    wait_for(lambda: stream.getvalue().count("scheduler.tick") >= 2)
    stop.set()
    thread.join(timeout=2)

    events = [line["event"] for line in json_lines(stream)]
    assert events[0] == "scheduler.started"
    assert events[-1] == "scheduler.stopped"
    assert {line["level"] for line in json_lines(stream) if line["event"] == "scheduler.tick"} == {
        "debug"
    }


def test_the_default_tick_gives_expired_leases_back(
    redis_url: str, redis_client: redis.Redis
) -> None:
    board = TestBoard(redis_client, keys=Keys("ruche:"))
    project = board.create_project(BoardPolicy(redundancy=1, lease_seconds=1, max_lease_seconds=1))
    [task] = board.create_tasks(project, [NewTask({"n": 1})])
    lease = board.claim(project, new_volunteer_id())
    assert isinstance(lease, Claimed)
    stop, thread = start(Settings(redis_url=redis_url, scheduler_interval_seconds=0.05))
    try:
        # Redis TIME drives expiry here: the one-second lease runs out and the scheduler
        # (not this test) sweeps it.
        wait_for(lambda: board.get_task(project, task.task_id).live == 0, timeout=10)
    finally:
        stop.set()
        thread.join(timeout=2)
    assert board.assignment(lease.assignment_id)["state"] == "expired"


def test_a_failing_tick_is_logged_and_the_loop_goes_on() -> None:
    stream = log_to_stream()
    closed = Settings(
        redis_url=f"redis://127.0.0.1:{free_port()}/0", scheduler_interval_seconds=0.01
    )

    def ping(board: TestBoard, settings: Settings) -> None:
        board.client.ping()

    stop, thread = start(closed, tick=ping)
    wait_for(lambda: stream.getvalue().count("scheduler.tick_failed") >= 2)
    stop.set()
    thread.join(timeout=2)
    assert not thread.is_alive()


def test_the_scheduler_process_exits_cleanly_on_sigterm(redis_url: str, tmp_path: Path) -> None:
    env = clean_env()
    env.update(RUCHE_REDIS_URL=redis_url, RUCHE_LOG_FORMAT="json")
    log_file = tmp_path / "scheduler.log"
    with log_file.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "ruche", "scheduler"], env=env, stdout=sink, stderr=sink
        )
        try:
            wait_for(lambda: "scheduler.started" in log_file.read_text(), timeout=20)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "scheduler.stopped" in log_file.read_text()
