"""With RabbitMQ as the broker, a worker killed with kill -9 loses nothing either: the message it
held goes back to its queue as soon as its connection drops, and a living worker runs it.

Real dramatiq processes (``dramatiq workers.app:setup tests.support.worker_modules.crash_actor``)
with ``RUCHE_BROKER_URL=amqp://…`` (the machine's RabbitMQ; tests/support/rabbitmq.py), behind a
key prefix of the test's own. Each round, the worker holding a message is killed once the next
one consumes the queue; the delay until that one runs the message is printed, not asserted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis

from core.settings import Settings
from tests.support.limits import clean_env
from tests.support.processes import stop_group, wait_until
from tests.support.rabbitmq import consumers, delete_queues, rabbitmq_url, unique_prefix
from workers.broker import build_broker

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 3
PROBE, QUEUE = "test.crash_probe", "test_crash"  # tests/support/worker_modules/crash_actor.py
CRASH_ACTOR_MODULE = "tests.support.worker_modules.crash_actor"


@pytest.fixture
def amqp() -> Iterator[tuple[str, str]]:
    url, prefix = rabbitmq_url(), unique_prefix()
    yield url, prefix
    delete_queues(url, prefix, more=(QUEUE,))


def start_worker(redis_url: str, amqp: tuple[str, str], log: Path) -> subprocess.Popen[bytes]:
    env = clean_env()
    env.update(
        RUCHE_REDIS_URL=redis_url,
        RUCHE_BROKER_URL=amqp[0],
        RUCHE_KEY_PREFIX=amqp[1],
        RUCHE_LOG_FORMAT="json",
        RUCHE_LOG_LEVEL="WARNING",
    )
    argv = [sys.executable, "-m", "dramatiq", "workers.app:setup", CRASH_ACTOR_MODULE]
    argv += ["--processes", "1", "--threads", "1", "--skip-logging"]
    with log.open("ab") as sink:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip


def test_the_message_of_a_killed_worker_comes_back_at_once(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path, amqp: tuple[str, str]
) -> None:
    url, prefix = amqp
    broker = build_broker(Settings(redis_url=redis_url, broker_url=url, key_prefix=prefix))
    queue = prefix + QUEUE
    started: list[subprocess.Popen[bytes]] = []
    try:
        holder = start_worker(redis_url, amqp, tmp_path / "worker-0.log")
        started.append(holder)
        wait_until(lambda: consumers(url, queue) >= 1, "the first worker", 60, poll=0.2)
        delays = []
        for round_ in range(ROUNDS):
            token = f"{prefix}round-{round_}"
            runs = f"test:crash:{token}"
            broker.enqueue(dramatiq.Message(QUEUE, PROBE, (token,), {}, {}))
            wait_until(lambda: redis_client.llen(runs) == 1, "the holder to take it", 30)  # noqa: B023
            successor = start_worker(redis_url, amqp, tmp_path / f"worker-{round_ + 1}.log")
            started.append(successor)
            wait_until(lambda: consumers(url, queue) >= 2, "the successor", 60, poll=0.2)
            killed_at = time.time()
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
            wait_until(lambda: redis_client.llen(runs) == 2, "the redelivery", 60)  # noqa: B023
            pid, at = redis_client.lrange(runs, 1, 1)[0].split()
            assert int(pid) != 0
            delays.append(float(at) - killed_at)
            holder = successor
    finally:
        for process in started:
            stop_group(process)
        broker.close()
    shown = ", ".join(f"{d:.2f}" for d in delays)
    print(f"\nRabbitMQ redelivery after kill -9: {shown} s")
    assert len(delays) == ROUNDS  # every killed worker's message came back and ran again
