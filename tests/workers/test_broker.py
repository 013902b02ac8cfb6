"""The dramatiq broker built from settings, and a message going through a real worker."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from core.settings import Settings
from tests.support.logs import json_lines, log_to_stream
from workers.broker import build_redis_broker
from workers.middleware import LogContext


def test_the_broker_uses_broker_url_before_redis_url(redis_url: str) -> None:
    port = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs["port"]
    only_redis = build_redis_broker(Settings(redis_url=redis_url))
    separate = build_redis_broker(Settings(redis_url="redis://elsewhere:1/0", broker_url=redis_url))
    try:
        for broker in (only_redis, separate):
            assert broker.client.connection_pool.connection_kwargs["port"] == port
    finally:
        only_redis.close()
        separate.close()


def test_broker_keys_carry_the_key_prefix(redis_url: str) -> None:
    broker = build_redis_broker(Settings(redis_url=redis_url, key_prefix="ngo1:"))
    try:
        assert broker.namespace == "ngo1:dramatiq"
    finally:
        broker.close()


def test_middleware_is_explicit_and_log_context_comes_first(redis_url: str) -> None:
    broker = build_redis_broker(Settings(redis_url=redis_url))
    try:
        kinds = [type(m) for m in broker.middleware]
        assert kinds[0] is LogContext
        assert Retries in kinds
    finally:
        broker.close()


def test_the_ping_actor_has_a_stable_name_and_no_retries(broker: RedisBroker) -> None:
    actor = broker.get_actor("system.ping")
    assert actor.queue_name == "system"
    assert actor.options["max_retries"] == 0


def test_a_ping_is_processed_by_a_worker_with_message_context_in_its_logs(
    broker: RedisBroker, redis_client: redis.Redis
) -> None:
    stream = log_to_stream(log_level="INFO")
    message = broker.get_actor("system.ping").send_with_options(
        args=("hello",), correlation_id="req-42"
    )

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        broker.join("system", timeout=10_000)
        worker.join()
    finally:
        worker.stop()

    lines = json_lines(stream)
    pong = next(line for line in lines if line["event"] == "system.pong")
    assert pong["note"] == "hello"
    assert pong["message_id"] == message.message_id
    assert pong["actor"] == "system.ping"
    assert pong["correlation_id"] == "req-42"
    processed = next(line for line in lines if line["event"] == "message.processed")
    assert processed["message_id"] == message.message_id
    assert processed["duration_ms"] >= 0
    # The queue lives under the configured prefix in the real Redis.
    assert redis_client.keys("ruche:dramatiq*")


def test_the_broker_is_tuned_to_notice_a_dead_worker_within_seconds(redis_url: str) -> None:
    """dramatiq's defaults (60 s heartbeat, maintenance on 0.1 % of commands) take minutes;
    tests/workers/test_worker_crash.py measures what these settings give."""
    broker = build_redis_broker(Settings(redis_url=redis_url))
    try:
        assert broker.heartbeat_timeout <= 10_000
        assert broker.maintenance_chance >= 100_000  # of a million commands
    finally:
        broker.close()
