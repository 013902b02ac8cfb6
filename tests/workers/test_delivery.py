"""Webhook delivery against a real Redis and a real local HTTP receiver.

Every request the receiver gets is verified with the ``standardwebhooks`` reference library.
Time is a test clock handed to the deliverer, so retries are due when the test says, not after
real waiting.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
import redis
import redis.asyncio
from standardwebhooks import Webhook

from core.delivery.records import DeliveryStore, DueDelivery, due_member
from core.delivery.signing import delivery_id, event_body
from core.delivery.webhooks import Delivery, Webhooks
from core.redis.keys import Keys
from core.redis.server import free_port
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
from workers.delivery.deliverer import ATTEMPT_LEASE_MS, Deliverer
from workers.delivery.dispatch import DISPATCH_LEASE_MS, dispatch_due
from workers.delivery.retries import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER_S,
    RETRY_DELAYS_S,
    parse_retry_after,
    retry_delay_s,
)
from workers.delivery.webhook_client import Reply

ORG = "org_deliverytest"


def record(client: redis.Redis, published: Published) -> Delivery:
    store = DeliveryStore(client, Keys())
    did = delivery_id(published.org_id, published.project_id, published.result_id)
    found = store.record(published.org_id, did)
    assert found is not None
    return found


def run_due(deliverer: Deliverer, clock: Clock) -> list[Reply | None]:
    """One scheduler tick at the test clock's time, its messages handled at once."""
    taken: list[DueDelivery] = []
    dispatch_due(deliverer.store, taken.append, clock.ms)
    return [deliverer.on_due(d.org_id, d.delivery_id, d.token) for d in taken]


def verify(secret: str, receiver: Receiver) -> list[dict[str, object]]:
    """Every request the receiver got, verified; returns the parsed events."""
    hook = Webhook(secret)
    return [hook.verify(r.body, headers_of(r)) for r in receiver.requests]


def test_a_result_is_delivered_signed_and_recorded_as_delivered(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving() as receiver:
        secret = set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG, {"label": "spam", "note": "é"})
        reply = deliverer(redis_client, clock).on_result(published.project_id, published.result_id)

    assert reply is not None and reply.delivered
    [event] = verify(secret, receiver)
    assert event == {
        "type": "result.ready",
        "timestamp": event["timestamp"],
        "data": {
            "project_id": published.project_id,
            "task_id": published.task_id,
            "external_id": "ext-1",
            "answer": {"label": "spam", "note": "é"},
            "confidence": 0.93,
            "method": "agreement",
            "decided_at": event["timestamp"],
            "cursor": published.result_id,
        },
    }
    [request] = receiver.requests
    headers = headers_of(request)
    assert headers["webhook-id"] == delivery_id(ORG, published.project_id, published.result_id)
    assert headers["content-type"] == "application/json"
    assert abs(int(headers["webhook-timestamp"]) - clock()) <= 1
    assert request.path == "/hook"
    assert b" " not in request.body  # compact JSON

    done = record(redis_client, published)
    assert (done.status, done.attempts, done.last_error, done.next_attempt_at_ms) == (
        "delivered",
        1,
        None,
        None,
    )
    assert done.task_id == published.task_id and done.result_id == published.result_id
    assert redis_client.zcard(Keys().webhook_due) == 0


def test_the_deliveries_listing_shows_what_the_worker_recorded(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving(Answer(503)) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        deliverer(redis_client, clock).on_result(published.project_id, published.result_id)

    async def listing() -> list[Delivery]:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await Webhooks(client, Keys()).deliveries(ORG)
        finally:
            await client.aclose()

    [listed] = asyncio.run(listing())
    assert listed.status == "pending"
    assert listed.attempts == 1
    assert listed.last_error == "HTTP 503"
    assert listed.next_attempt_at_ms is not None and listed.next_attempt_at_ms > clock.ms


def test_without_an_endpoint_nothing_is_recorded(redis_client: redis.Redis) -> None:
    published = publish(redis_client, ORG)
    reply = deliverer(redis_client, Clock()).on_result(published.project_id, published.result_id)
    assert reply is None
    assert redis_client.hlen(Keys().org_deliveries(ORG)) == 0
    assert redis_client.zcard(Keys().webhook_due) == 0


def test_a_failed_attempt_is_retried_with_the_same_id_and_body_and_a_new_timestamp(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving(Answer(500, body=b"stack trace with secrets"), Answer(200)) as receiver:
        secret = set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        worker = deliverer(redis_client, clock)
        first = worker.on_result(published.project_id, published.result_id)
        assert first is not None and first.status == 500

        waiting = record(redis_client, published)
        assert waiting.status == "pending" and waiting.attempts == 1
        assert waiting.last_error == "HTTP 500"  # never the response body
        assert waiting.next_attempt_at_ms is not None
        delay_ms = waiting.next_attempt_at_ms - clock.ms
        assert 2_500 <= delay_ms <= 7_500  # 5 s, jittered by ±50 %

        assert run_due(worker, clock) == []  # not due yet
        clock.advance(8)
        [second] = run_due(worker, clock)
        assert second is not None and second.delivered

    first_request, second_request = receiver.requests
    assert verify(secret, receiver)  # both verify
    ids = {headers_of(r)["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1
    assert first_request.body == second_request.body
    stamps = [int(headers_of(r)["webhook-timestamp"]) for r in receiver.requests]
    assert stamps[1] - stamps[0] == 8
    done = record(redis_client, published)
    assert (done.status, done.attempts, done.last_error) == ("delivered", 2, None)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(400), "HTTP 400"),
        (Answer(404), "HTTP 404"),
        (Answer(429), "HTTP 429"),
        (Answer(302, headers={"location": "http://127.0.0.1:9/x"}), "HTTP 302"),
    ],
)
def test_other_4xx_429_and_3xx_are_retried(
    redis_url: str, redis_client: redis.Redis, answer: Answer, error: str
) -> None:
    clock = Clock()
    with receiving(answer) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        deliverer(redis_client, clock).on_result(published.project_id, published.result_id)
    waiting = record(redis_client, published)
    assert waiting.status == "pending"
    assert waiting.last_error is not None and waiting.last_error.startswith(error)
    assert redis_client.zscore(Keys().webhook_due, due_member(ORG, waiting.delivery_id))


def test_a_closed_port_is_a_connection_error_and_is_retried(
    redis_url: str, redis_client: redis.Redis
) -> None:
    set_endpoint(redis_url, ORG, f"http://127.0.0.1:{free_port()}/hook")
    published = publish(redis_client, ORG)
    reply = deliverer(redis_client, Clock()).on_result(published.project_id, published.result_id)
    assert reply is not None and reply.status is None
    waiting = record(redis_client, published)
    assert waiting.status == "pending"
    assert waiting.last_error is not None and waiting.last_error.startswith("ConnectError")


def test_a_slow_receiver_times_out_and_a_retry_is_scheduled(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving(Answer(200, delay_s=3.0)) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        reply = deliverer(redis_client, clock).on_result(published.project_id, published.result_id)
    assert reply is not None and reply.status is None
    assert reply.error is not None and "timed out" in reply.error
    waiting = record(redis_client, published)
    assert waiting.status == "pending" and waiting.attempts == 1
    assert waiting.next_attempt_at_ms is not None and waiting.next_attempt_at_ms > clock.ms


def test_at_most_64_kib_of_a_response_is_read(redis_url: str, redis_client: redis.Redis) -> None:
    mebibyte = b"x" * (1024 * 1024)
    with receiving(Answer(200, body=mebibyte)) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        worker = deliverer(redis_client, Clock())
        reply = worker.on_result(published.project_id, published.result_id)
        assert reply is not None and reply.delivered
        assert 0 < reply.bytes_read <= 64 * 1024
        for _ in range(200):  # the handler notices the dropped connection on its next write
            if receiver.body_bytes_sent:
                break
            threading.Event().wait(0.01)
    # The server could not push the whole mebibyte: the worker stopped reading and hung up.
    assert receiver.body_bytes_sent[0] < len(mebibyte)


def test_retry_after_in_seconds_postpones_the_next_attempt(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving(Answer(429, headers={"retry-after": "120"}), Answer(200)) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        worker = deliverer(redis_client, clock)
        worker.on_result(published.project_id, published.result_id)
        assert record(redis_client, published).next_attempt_at_ms == clock.ms + 120_000
        clock.advance(60)  # past the plain back-off (≤ 7.5 s), before Retry-After
        assert run_due(worker, clock) == []
        clock.advance(61)
        [reply] = run_due(worker, clock)
        assert reply is not None and reply.delivered
    assert len(receiver.requests) == 2


def test_retry_after_as_an_http_date_postpones_the_next_attempt(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    when = format_datetime(datetime.fromtimestamp(int(clock()) + 200, tz=UTC), usegmt=True)
    with receiving(Answer(503, headers={"retry-after": when})) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        deliverer(redis_client, clock).on_result(published.project_id, published.result_id)
    next_ms = record(redis_client, published).next_attempt_at_ms
    assert next_ms is not None
    assert abs(next_ms - (int(clock()) + 200) * 1000) <= 1000


def test_retry_after_is_bounded_and_garbage_is_ignored() -> None:
    assert parse_retry_after("99999999999999999999", 0) == MAX_RETRY_AFTER_S
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 2e9) == 0.0
    assert parse_retry_after("soon", 0) is None
    assert parse_retry_after("-5", 0) is None
    assert parse_retry_after(None, 0) is None
    assert parse_retry_after(" 30 ", 0) == 30.0


def test_the_retry_schedule_spans_about_three_days_with_jitter() -> None:
    assert MAX_ATTEMPTS == 17
    assert sum(RETRY_DELAYS_S) / 3600 == pytest.approx(71.7, abs=0.1)
    rng = random.Random(1)
    totals = [sum(retry_delay_s(n, rng) or 0 for n in range(1, MAX_ATTEMPTS)) for _ in range(200)]
    assert all(36 * 3600 < total < 108 * 3600 for total in totals)
    assert sum(totals) / len(totals) / 3600 == pytest.approx(71.7, rel=0.1)
    for attempt, nominal in enumerate(RETRY_DELAYS_S, start=1):
        delays = {retry_delay_s(attempt, rng) for _ in range(20)}
        assert len(delays) > 1  # jittered
        assert all(d is not None and nominal / 2 <= d <= nominal * 1.5 for d in delays)
    assert retry_delay_s(MAX_ATTEMPTS, rng) is None  # retries used up
    assert retry_delay_s(1, rng, retry_after_s=600.0) == 600.0
    assert retry_delay_s(1, rng, retry_after_s=10**9) == MAX_RETRY_AFTER_S


def test_a_delivery_fails_when_its_retries_are_used_up(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving(default=Answer(500)) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        worker = deliverer(redis_client, clock)
        worker.on_result(published.project_id, published.result_id)
        # Skip ahead to the last retry: same record, as if 15 more attempts had failed.
        current = record(redis_client, published)
        worker.store.save(ORG, replace(current, attempts=MAX_ATTEMPTS - 1))
        clock.advance(RETRY_DELAYS_S[0] * 2)
        [reply] = run_due(worker, clock)
        assert reply is not None and reply.status == 500
    failed = record(redis_client, published)
    assert failed.status == "failed"
    assert failed.attempts == MAX_ATTEMPTS
    assert failed.last_error == f"HTTP 500; gave up after {MAX_ATTEMPTS} attempts"
    assert failed.next_attempt_at_ms is None
    assert redis_client.zcard(Keys().webhook_due) == 0


def test_410_disables_the_endpoint_until_it_is_set_again(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving(Answer(500), Answer(410)) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        first = publish(redis_client, ORG)
        second = publish_more(redis_client, ORG, first.project_id)
        worker = deliverer(redis_client, clock)
        worker.on_result(first.project_id, first.result_id)  # 500: waits for a retry
        worker.on_result(second.project_id, second.result_id)  # 410: endpoint disabled
        assert record(redis_client, second).status == "disabled"
        endpoint = worker.store.endpoint(ORG)
        assert endpoint is not None and endpoint.disabled

        clock.advance(60)
        assert run_due(worker, clock) == [None]  # the first one's retry: not sent
        assert len(receiver.requests) == 2
        stopped = record(redis_client, first)
        assert stopped.status == "disabled" and stopped.attempts == 1
        assert stopped.last_error is not None and "410" in stopped.last_error
        assert redis_client.zcard(Keys().webhook_due) == 0
        # A result published while disabled is recorded, not sent.
        third = publish_more(redis_client, ORG, first.project_id)
        assert worker.on_result(third.project_id, third.result_id) is None
        assert record(redis_client, third).status == "disabled"
        assert len(receiver.requests) == 2

    with receiving() as fixed:
        secret = set_endpoint(redis_url, ORG, fixed.url)  # set again: a new secret, enabled
        endpoint = worker.store.endpoint(ORG)
        assert endpoint is not None and not endpoint.disabled
        for published in (first, second, third):
            did = delivery_id(ORG, published.project_id, published.result_id)
            redeliver(redis_url, ORG, did)
        clock.advance(1)
        replies = run_due(worker, clock)
    assert len(replies) == 3 and all(r is not None and r.delivered for r in replies)
    assert len(verify(secret, fixed)) == 3


def test_a_redelivery_sends_the_same_webhook_id_and_body_again(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving() as receiver:
        secret = set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        worker = deliverer(redis_client, clock)
        worker.on_result(published.project_id, published.result_id)
        did = delivery_id(ORG, published.project_id, published.result_id)
        redeliver(redis_url, ORG, did)
        assert record(redis_client, published).status == "pending"
        clock.advance(2)
        [reply] = run_due(worker, clock)
        assert reply is not None and reply.delivered

    first, again = receiver.requests
    assert headers_of(first)["webhook-id"] == headers_of(again)["webhook-id"] == did
    assert first.body == again.body
    assert len(verify(secret, receiver)) == 2
    done = record(redis_client, published)
    assert (done.status, done.attempts) == ("delivered", 2)


def test_the_same_event_twice_in_sequence_makes_one_delivery_and_one_post(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving(Answer(500)) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        worker = deliverer(redis_client, clock)
        worker.on_result(published.project_id, published.result_id)  # fails, retry pending
        assert worker.on_result(published.project_id, published.result_id) is None
        clock.advance(8)
        [retry] = run_due(worker, clock)
        assert retry is not None and retry.delivered
        # Once delivered, the event handled again sends nothing.
        assert worker.on_result(published.project_id, published.result_id) is None
        assert run_due(worker, clock) == []
    assert len(receiver.requests) == 2  # the failed attempt and its one retry
    assert redis_client.hlen(Keys().org_deliveries(ORG)) == 1
    assert redis_client.zcard(Keys().org_delivery_log(ORG)) == 1


def test_the_same_event_handled_concurrently_makes_one_post(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving(default=Answer(200, delay_s=0.2)) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        barrier = threading.Barrier(8)
        replies: list[Reply | None] = []

        def handle() -> None:
            client = redis.Redis.from_url(redis_url, decode_responses=True)
            try:
                worker = deliverer(client, clock)
                barrier.wait()
                replies.append(worker.on_result(published.project_id, published.result_id))
            finally:
                client.close()

        threads = [threading.Thread(target=handle) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(receiver.requests) == 1
    assert sum(1 for r in replies if r is not None) == 1
    assert redis_client.hlen(Keys().org_deliveries(ORG)) == 1
    assert record(redis_client, published).status == "delivered"


def test_an_attempt_whose_worker_died_is_taken_again_after_its_lease(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving() as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        worker = deliverer(redis_client, clock)
        store = worker.store
        did = delivery_id(ORG, published.project_id, published.result_id)
        # A worker created the delivery and claimed its attempt, then died (no POST, no finish).
        entry = store.result(published.project_id, published.result_id)
        assert entry is not None
        fresh = Delivery(
            did,
            published.project_id,
            published.task_id,
            published.result_id,
            "pending",
            0,
            None,
            clock.ms,
            clock.ms,
        )
        assert store.create(ORG, fresh, event_body(published.project_id, entry), clock.ms)
        assert store.claim(ORG, did, clock.ms, ATTEMPT_LEASE_MS, None) is not None
        # The broker redelivers its message: the claim is still held, so nothing is sent twice.
        assert worker.on_result(published.project_id, published.result_id) is None
        assert run_due(worker, clock) == []
        clock.advance(ATTEMPT_LEASE_MS / 1000 + 1)
        [reply] = run_due(worker, clock)
        assert reply is not None and reply.delivered
    assert len(receiver.requests) == 1


def test_a_creator_dying_before_the_due_entry_is_completed_by_the_repeated_event(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    with receiving() as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        worker = deliverer(redis_client, clock)
        worker.on_result(published.project_id, published.result_id)
        # Undo the due entry and the outcome, as if the first run had died right after HSETNX.
        did = delivery_id(ORG, published.project_id, published.result_id)
        undone = replace(record(redis_client, published), attempts=0, status="pending")
        worker.store.save(ORG, undone)
        redis_client.delete(Keys().webhook_due)
        reply = worker.on_result(published.project_id, published.result_id)
        assert reply is not None and reply.delivered
    assert {headers_of(r)["webhook-id"] for r in receiver.requests} == {did}


def test_the_scheduler_takes_bounded_batches_and_never_the_same_one_twice(
    redis_client: redis.Redis,
) -> None:
    store = DeliveryStore(redis_client, Keys())
    now = 1_700_000_000_000
    redis_client.zadd(Keys().webhook_due, {f"org_a|msg_{i}": now - i for i in range(5)})
    redis_client.zadd(Keys().webhook_due, {"org_a|msg_later": now + 10_000, "garbage": now})

    first: list[DueDelivery] = []
    second: list[DueDelivery] = []
    assert dispatch_due(store, first.append, now, limit=2) == 2
    assert dispatch_due(store, second.append, now, limit=10) == 3  # the other three, no more
    assert {d.delivery_id for d in first}.isdisjoint({d.delivery_id for d in second})
    assert "msg_later" not in {d.delivery_id for d in first + second}
    assert redis_client.zscore(Keys().webhook_due, "garbage") is None  # dropped, not looped on
    assert dispatch_due(store, first.append, now + 1, limit=10) == 0  # all leased
    # A message lost on its way is sent again once its lease has run out.
    again: list[DueDelivery] = []
    dispatch_due(store, again.append, now + DISPATCH_LEASE_MS + 1)
    assert len(again) == 5 + 1  # the five, and msg_later now due
    # Concurrent schedulers: every due member is taken exactly once.
    redis_client.delete(Keys().webhook_due)
    redis_client.zadd(Keys().webhook_due, {f"org_b|msg_{i}": now for i in range(300)})
    taken: list[DueDelivery] = []
    lock = threading.Lock()

    def tick() -> None:
        client = redis.Redis(connection_pool=redis_client.connection_pool)
        mine: list[DueDelivery] = []
        dispatch_due(DeliveryStore(client, Keys()), mine.append, now, limit=50)
        with lock:
            taken.extend(mine)

    threads = [threading.Thread(target=tick) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 300
    assert len({d.delivery_id for d in taken}) == 300


def test_a_stale_message_does_not_take_an_attempt_another_message_holds(
    redis_client: redis.Redis,
) -> None:
    store = DeliveryStore(redis_client, Keys())
    now = 1_700_000_000_000
    redis_client.zadd(Keys().webhook_due, {"org_c|msg_x": now})
    [due] = store.take_due(now, DISPATCH_LEASE_MS, 10)
    token = store.claim("org_c", "msg_x", now + 5, ATTEMPT_LEASE_MS, due.token)
    assert token is not None
    # The same message delivered twice by the broker: its token no longer matches.
    assert store.claim("org_c", "msg_x", now + 6, ATTEMPT_LEASE_MS, due.token) is None
    assert store.finish("org_c", "msg_x", token, None)
    assert not store.finish("org_c", "msg_x", token, None)


def test_the_body_is_built_once_and_stored(redis_url: str, redis_client: redis.Redis) -> None:
    clock = Clock()
    with receiving(Answer(500), Answer(200)) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        worker = deliverer(redis_client, clock)
        worker.on_result(published.project_id, published.result_id)
        did = delivery_id(ORG, published.project_id, published.result_id)
        stored = worker.store.body(ORG, did)
        assert stored == receiver.requests[0].body
        assert json.loads(stored)["data"]["cursor"] == published.result_id
        clock.advance(8)
        run_due(worker, clock)
    assert receiver.requests[1].body == stored
