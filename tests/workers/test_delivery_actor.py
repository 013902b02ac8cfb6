"""The delivery actors in real dramatiq workers on the real Redis broker, fed as the relay and the
scheduler feed them: by ``results.deliver`` messages and by the scheduler's tick."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import cast

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from standardwebhooks import Webhook

from core.delivery.signing import delivery_id
from core.redis.keys import Keys
from core.settings import Settings
from tests.support.board import TestBoard
from tests.support.delivery import (
    Answer,
    Clock,
    Published,
    Receiver,
    deliverer,
    headers_of,
    publish,
    publish_more,
    receiving,
    redeliver,
    set_endpoint,
)
from tests.support.logs import restored_logging
from workers.actors import deliver as deliver_actors
from workers.app import setup
from workers.delivery.deliverer import DELIVER, DELIVER_DUE, QUEUE
from workers.delivery.dispatch import enqueue_due_deliveries
from workers.scheduler import reap

ORG = "org_actortest"


@pytest.fixture
def broker(redis_url: str) -> Iterator[RedisBroker]:
    with restored_logging():
        broker = cast(RedisBroker, setup(Settings(redis_url=redis_url)))
        # Actor modules bind to the broker current at their first import; bind ours to this one.
        for actor in (deliver_actors.deliver_result, deliver_actors.deliver_due):
            actor.broker = broker
            broker.declare_actor(actor)
        yield broker
        deliver_actors.install(None)
        broker.close()


@pytest.fixture
def clock(redis_client: redis.Redis, broker: RedisBroker) -> Clock:
    clock = Clock()
    deliver_actors.install(deliverer(redis_client, clock))
    return clock


def run_worker(broker: RedisBroker) -> None:
    """Process everything on the results queue with four worker threads, then stop."""
    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=50)
    worker.start()
    try:
        broker.join(QUEUE, timeout=20_000)
        worker.join()
    finally:
        worker.stop()


def event_fields(published: Published) -> dict[str, str]:
    return {"type": "result.published", "task": published.task_id, "result": published.result_id}


def test_the_actors_have_stable_names_queues_and_explicit_retries(broker: RedisBroker) -> None:
    for name in (DELIVER, DELIVER_DUE):
        actor = broker.get_actor(name)
        assert actor.queue_name == "results"
        assert actor.options["max_retries"] == 20
        assert actor.options["time_limit"] == 60_000


def test_a_result_event_is_delivered_by_a_real_worker(
    redis_url: str, redis_client: redis.Redis, broker: RedisBroker, clock: Clock
) -> None:
    with receiving() as receiver:
        secret = set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        deliver_actors.deliver_result.send(published.project_id, "1-0", event_fields(published))
        run_worker(broker)
    [request] = receiver.requests
    event = Webhook(secret).verify(request.body, headers_of(request))
    assert event["data"]["task_id"] == published.task_id
    did = delivery_id(ORG, published.project_id, published.result_id)
    assert headers_of(request)["webhook-id"] == did


def test_the_same_message_in_sequence_and_concurrently_makes_one_post_each(
    redis_url: str, redis_client: redis.Redis, broker: RedisBroker, clock: Clock
) -> None:
    with receiving(default=Answer(200, delay_s=0.2)) as receiver:
        secret = set_endpoint(redis_url, ORG, receiver.url)
        first = publish(redis_client, ORG)
        args = (first.project_id, "1-0", event_fields(first))
        # In sequence: the second copy arrives after the first was handled.
        deliver_actors.deliver_result.send(*args)
        run_worker(broker)
        deliver_actors.deliver_result.send(*args)
        run_worker(broker)
        # Concurrently: four copies of another event, four worker threads.
        second = publish_more(redis_client, ORG, first.project_id)
        for _ in range(4):
            deliver_actors.deliver_result.send(second.project_id, "2-0", event_fields(second))
        run_worker(broker)

    ids = [headers_of(r)["webhook-id"] for r in receiver.requests]
    assert sorted(ids) == sorted(
        delivery_id(ORG, p.project_id, p.result_id) for p in (first, second)
    )
    hook = Webhook(secret)
    assert all(hook.verify(r.body, headers_of(r)) for r in receiver.requests)
    assert redis_client.hlen(Keys().org_deliveries(ORG)) == 2


def test_a_retry_is_sent_through_the_scheduler_tick_to_a_worker(
    redis_url: str, redis_client: redis.Redis, broker: RedisBroker, clock: Clock
) -> None:
    settings = Settings(redis_url=redis_url)
    board = TestBoard(redis_client, keys=Keys())
    with receiving(Answer(500), Answer(200)) as receiver:
        secret = set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        deliver_actors.deliver_result.send(published.project_id, "1-0", event_fields(published))
        run_worker(broker)
        assert len(receiver.requests) == 1
        assert enqueue_due_deliveries(board, settings, now_ms=clock.ms) == 0  # not due yet
        clock.advance(8)
        assert enqueue_due_deliveries(board, settings, now_ms=clock.ms) == 1
        assert enqueue_due_deliveries(board, settings, now_ms=clock.ms) == 0  # sent once
        run_worker(broker)
    first, second = receiver.requests
    assert headers_of(first)["webhook-id"] == headers_of(second)["webhook-id"]
    assert first.body == second.body
    assert headers_of(first)["webhook-timestamp"] != headers_of(second)["webhook-timestamp"]
    hook = Webhook(secret)
    assert all(hook.verify(r.body, headers_of(r)) for r in receiver.requests)


def test_a_redelivery_reaches_the_receiver_through_the_default_scheduler_tick(
    redis_url: str, redis_client: redis.Redis, broker: RedisBroker, clock: Clock
) -> None:
    with receiving() as receiver:
        secret = set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        deliver_actors.deliver_result.send(published.project_id, "1-0", event_fields(published))
        run_worker(broker)
        did = delivery_id(ORG, published.project_id, published.result_id)
        redeliver(redis_url, ORG, did)
        time.sleep(0.002)  # the tick's wall clock is now past the redelivery's "due now"
        reap(TestBoard(redis_client, keys=Keys()), Settings(redis_url=redis_url))
        run_worker(broker)
    assert [headers_of(r)["webhook-id"] for r in receiver.requests] == [did, did]
    hook = Webhook(secret)
    assert all(hook.verify(r.body, headers_of(r)) for r in receiver.requests)


def test_an_event_without_a_result_id_is_dropped_quietly(
    redis_client: redis.Redis, broker: RedisBroker, clock: Clock
) -> None:
    with Receiver() as receiver:
        deliver_actors.deliver_result.send("prj_x", "1-0", {"type": "result.published"})
        run_worker(broker)
    assert receiver.connections == 0
    assert redis_client.hlen(Keys().org_deliveries(ORG)) == 0
