"""A worker killed with kill -9 loses nothing: the messages it held come back to a living worker
within seconds (the broker's heartbeat and maintenance settings in workers/broker.py).

Real dramatiq processes
(``dramatiq workers.app:setup tests.support.worker_modules.crash_actor``) on the session's real
Redis. Each round, the worker holding a message is killed (its whole process group, SIGKILL)
once the next worker is polling, and the delay until that next worker runs the message is
measured; the worst one is printed and bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dramatiq
import pytest
import redis

from core.settings import Settings
from tests.support.limits import clean_env
from tests.support.processes import stop_group, wait_until
from workers.broker import HEARTBEAT_TIMEOUT_MS, build_broker

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 3
# tests/support/worker_modules/crash_actor.py (not imported here: it would bind to this
# process's broker)
PROBE, QUEUE = "test.crash_probe", "test_crash"
CRASH_ACTOR_MODULE = "tests.support.worker_modules.crash_actor"
HEARTBEATS = "ruche:dramatiq:__heartbeats__"
# Expected: the heartbeat timeout, then maintenance on one of the survivor's next polls of the
# queue (every other broker command runs it; an idle consumer polls about once a second). The
# delay is printed, not asserted: machines are shared and noisy; the test waits generously.
EXPECTED_S = HEARTBEAT_TIMEOUT_MS / 1000 + 5.0
REDELIVERY_WAIT_S = 60.0


def start_worker(redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = clean_env()
    env.update(RUCHE_REDIS_URL=redis_url, RUCHE_LOG_FORMAT="json", RUCHE_LOG_LEVEL="WARNING")
    with log.open("ab") as sink:
        argv = [sys.executable, "-m", "dramatiq", "workers.app:setup", CRASH_ACTOR_MODULE]
        argv += ["--processes", "1", "--threads", "1", "--skip-logging"]
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the kill reaches parent and worker alike
        )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    wait_until(condition, what, timeout)


def live_workers(client: redis.Redis) -> int:
    """Broker ids that polled within the last second."""
    now_ms = int(time.time() * 1000)
    return int(client.zcount(HEARTBEATS, now_ms - 1000, "+inf"))


def runs(client: redis.Redis, token: str) -> list[tuple[int, float]]:
    return [
        (int(pid), float(at))
        for pid, at in (entry.split() for entry in client.lrange(f"test:crash:{token}", 0, -1))
    ]


def ran(client: redis.Redis, token: str, times: int) -> Callable[[], bool]:
    """Whether the probe of ``token`` has run ``times`` times (a condition to wait for)."""
    return lambda: len(runs(client, token)) == times


@pytest.fixture
def workers(redis_url: str, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        stop_group(process)


def test_messages_of_a_killed_worker_come_back_within_seconds(
    redis_url: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    broker = build_broker(Settings(redis_url=redis_url))
    holder = start_worker(redis_url, tmp_path / "worker-0.log")
    workers.append(holder)
    wait_for(lambda: live_workers(redis_client) >= 1, 30, "the first worker to poll")
    delays = []
    for round_ in range(ROUNDS):
        token = f"round-{round_}"
        broker.enqueue(dramatiq.Message(QUEUE, PROBE, (token,), {}, {}))
        wait_for(ran(redis_client, token, 1), 15, "the holder to take it")
        assert runs(redis_client, token)[0][0] != holder.pid  # run by dramatiq's child process
        # The next worker polls; then the holder dies with the message in hand.
        successor = start_worker(redis_url, tmp_path / f"worker-{round_ + 1}.log")
        workers.append(successor)
        wait_for(lambda: live_workers(redis_client) >= 2, 30, "the successor to poll")
        killed_at = time.time()
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()

        wait_for(ran(redis_client, token, 2), REDELIVERY_WAIT_S, "the redelivery")
        delays.append(runs(redis_client, token)[1][1] - killed_at)
        holder = successor

    worst = max(delays)
    shown = ", ".join(f"{d:.2f}" for d in delays)
    print(f"\nredelivery after kill -9: {shown} s; worst {worst:.2f} s (expected ~{EXPECTED_S} s)")
    assert len(delays) == ROUNDS  # every killed worker's message came back and ran again
