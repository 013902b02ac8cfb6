"""A delivery whose attempt died with its worker is taken back by the redelivered message at once,
not after the attempt lease; and a run that is still alive is never overlapped.

The deliverers here have an attempt lease of an hour, so a second attempt seen during a test can
only come from the message taking its own claim back (workers.delivery.deliverer,
webhook_claim.lua). Three ways to die: a real dramatiq worker process killed with SIGKILL in the
middle of its POST; a run that raises mid-attempt in a real dramatiq worker (dramatiq retries the
same message); and, in-process, a claim whose run stopped renewing it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from redis.crc import key_slot
from standardwebhooks import Webhook

from core.delivery.records import AttemptClaim, DeliveryStore, due_member
from core.delivery.signing import delivery_id
from core.delivery.webhooks import Delivery
from core.redis.keys import Keys
from core.settings import Settings
from tests.support.delivery import (
    TEST_LIMITS,
    Answer,
    Clock,
    Published,
    Receiver,
    headers_of,
    publish,
    receiving,
    set_endpoint,
)
from tests.support.limits import clean_env
from tests.support.logs import restored_logging
from tests.support.processes import stop_group, wait_until
from workers.actors import deliver as deliver_actors
from workers.app import setup
from workers.broker import build_broker
from workers.delivery.deliverer import ATTEMPT_ALIVE_MS, DELIVER, QUEUE, Deliverer
from workers.delivery.renewals import Renewals
from workers.delivery.webhook_client import HttpLimits, Reply

ROOT = Path(__file__).resolve().parents[2]
ORG = "org_redeliverytest"
HOUR_MS = 3600 * 1000
HEARTBEATS = "ruche:dramatiq:__heartbeats__"
NOW_MS = 1_700_000_000_000
# Generous ceilings for what is waited on (a shared, noisy machine); nothing asserts a duration.
START_TIMEOUT_S = 60.0
REDELIVERY_TIMEOUT_S = 90.0


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    wait_until(condition, what, timeout)


def event_fields(published: Published) -> dict[str, str]:
    return {"type": "result.published", "task": published.task_id, "result": published.result_id}


def the_record(client: redis.Redis, published: Published) -> Delivery | None:
    did = delivery_id(ORG, published.project_id, published.result_id)
    return DeliveryStore(client, Keys()).record(ORG, did)


def assert_one_delivery_sent_twice(
    client: redis.Redis, receiver: Receiver, secret: str, published: Published
) -> None:
    """Two POSTs of one delivery (same id, same body, both signed right), now delivered, with
    nothing left of the claim."""
    did = delivery_id(ORG, published.project_id, published.result_id)
    first, second = receiver.requests
    assert headers_of(first)["webhook-id"] == headers_of(second)["webhook-id"] == did
    assert first.body == second.body
    hook = Webhook(secret)
    assert all(hook.verify(r.body, headers_of(r)) for r in receiver.requests)

    # The attempt ends in two writes, the record first and the due set second
    # (Deliverer._save): "delivered" alone is not the end yet, the member is still leased to
    # the attempt until the second write. Wait for both; a member left behind (leased, so
    # sent again once the lease is out) still fails here when the wait runs out.
    def ended() -> bool:
        record = the_record(client, published)
        return (
            record is not None
            and record.status == "delivered"
            and client.zscore(Keys().webhook_due, due_member(ORG, did)) is None
            and client.keys(Keys().webhook_attempt("*")) == []
        )

    wait_for(ended, 30, "the outcome to be recorded and the claim to be let go")
    done = the_record(client, published)
    assert done is not None and done.attempts == 1  # the dead run recorded nothing


# -- a real worker process, killed mid-POST --------------------------------------------------------


def start_worker(redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = clean_env()
    env.update(
        RUCHE_REDIS_URL=redis_url,
        RUCHE_WEBHOOK_ALLOW_PRIVATE="1",
        RUCHE_LOG_FORMAT="json",
        RUCHE_LOG_LEVEL="WARNING",
    )
    argv = [sys.executable, "-m", "dramatiq", "workers.app:setup"]
    argv += ["tests.support.worker_modules.delivery_crash_worker", "--queues", QUEUE]
    argv += ["--processes", "1", "--threads", "1", "--skip-logging"]
    with log.open("ab") as sink:
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the kill reaches parent and worker alike
        )


def polling_workers(client: redis.Redis) -> int:
    """Broker ids that polled within the last second."""
    return int(client.zcount(HEARTBEATS, int(time.time() * 1000) - 1000, "+inf"))


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        stop_group(process)


def test_a_worker_killed_mid_post_has_its_delivery_taken_back_by_the_redelivered_message(
    redis_url: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    # The first POST hangs (the worker is killed while it waits); the next one is answered.
    with receiving(Answer(200, delay_s=60)) as receiver:
        secret = set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        holder = start_worker(redis_url, tmp_path / "worker-0.log")
        workers.append(holder)
        wait_for(lambda: polling_workers(redis_client) >= 1, START_TIMEOUT_S, "a worker to poll")
        message: dramatiq.Message[None] = dramatiq.Message(
            QUEUE, DELIVER, (published.project_id, "1-0", event_fields(published)), {}, {}
        )
        build_broker(Settings(redis_url=redis_url)).enqueue(message)
        wait_for(lambda: len(receiver.requests) == 1, START_TIMEOUT_S, "the first POST")
        did = delivery_id(ORG, published.project_id, published.result_id)
        leased_until = redis_client.zscore(Keys().webhook_due, due_member(ORG, did))
        assert leased_until is not None and leased_until > time.time() * 1000 + HOUR_MS / 2
        assert redis_client.hget(Keys().webhook_attempt(message.message_id), "token") is not None

        killed_at = time.time()
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
        workers.append(start_worker(redis_url, tmp_path / "worker-1.log"))
        wait_for(lambda: len(receiver.requests) == 2, REDELIVERY_TIMEOUT_S, "the second POST")
        print(
            f"\nkill -9 mid-POST -> the redelivered message's POST: "
            f"{receiver.requests[1].at - killed_at:.2f} s (a successor's start-up included; "
            f"the attempt lease was {HOUR_MS // 60_000} min)"
        )
        assert_one_delivery_sent_twice(redis_client, receiver, secret, published)


# -- a run that raises mid-attempt, retried by dramatiq --------------------------------------------


class StoreLosingOneWrite(DeliveryStore):
    """Redis goes away once, right after the POST, as the outcome is written."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        super().__init__(client, keys)
        self.failures = 1

    def save(self, org_id: str, delivery: Delivery) -> None:
        if self.failures:
            self.failures -= 1
            raise redis.ConnectionError("Redis went away (simulated)")
        super().save(org_id, delivery)


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


def test_a_run_that_failed_mid_attempt_is_retried_at_once_by_dramatiq(
    redis_url: str, redis_client: redis.Redis, broker: RedisBroker
) -> None:
    store = StoreLosingOneWrite(redis_client, Keys())
    deliver_actors.install(
        Deliverer(store, allow_private=True, limits=TEST_LIMITS, attempt_lease_ms=HOUR_MS)
    )
    with receiving() as receiver:
        secret = set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        deliver_actors.deliver_result.send(published.project_id, "1-0", event_fields(published))
        worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
        worker.start()
        try:
            wait_for(lambda: len(receiver.requests) == 2, REDELIVERY_TIMEOUT_S, "the retry")
            broker.join(QUEUE, timeout=30_000)
        finally:
            worker.stop()
    assert store.failures == 0  # the first run did fail
    assert_one_delivery_sent_twice(redis_client, receiver, secret, published)


# -- the claim itself ------------------------------------------------------------------------------


def test_an_attempt_record_lives_in_the_due_sets_cluster_slot() -> None:
    for keys in (Keys(), Keys("{tenant}:"), Keys("")):
        assert key_slot(keys.webhook_attempt("m").encode()) == key_slot(keys.webhook_due.encode())


def test_a_message_takes_back_its_own_claim_once_its_run_stopped_and_nobody_else_does(
    redis_client: redis.Redis,
) -> None:
    store = DeliveryStore(redis_client, Keys())
    now = 1_700_000_000_000
    redis_client.zadd(Keys().webhook_due, {"org_a|dlv_1": now})
    first = store.claim_attempt("org_a", "dlv_1", now, HOUR_MS, None, message_id="m1", alive_ms=0)
    assert first.token is not None  # its run died at once (nothing renews it)

    # Another message, the scheduler's tick, or no message at all: the lease holds.
    assert (
        store.claim_attempt("org_a", "dlv_1", now + 1, HOUR_MS, None, message_id="m2").token is None
    )
    assert store.claim("org_a", "dlv_1", now + 1, HOUR_MS, None) is None
    assert store.take_due(now + 1, 60_000, 10) == []
    # The same message, delivered again: taken back, with a new token.
    again = store.claim_attempt(
        "org_a", "dlv_1", now + 2, HOUR_MS, None, message_id="m1", alive_ms=60_000
    )
    assert again.token is not None and again.token != first.token
    # The dead run's late finish changes nothing; the new run's finish ends it all.
    assert not store.finish("org_a", "dlv_1", first.token, None, message_id="m1")
    assert redis_client.exists(Keys().webhook_attempt("m1"))
    assert store.finish("org_a", "dlv_1", again.token, None, message_id="m1")
    assert redis_client.zscore(Keys().webhook_due, "org_a|dlv_1") is None
    assert not redis_client.exists(Keys().webhook_attempt("m1"))


def test_a_run_still_renewing_its_claim_is_never_overlapped(redis_client: redis.Redis) -> None:
    store = DeliveryStore(redis_client, Keys())
    now = 1_700_000_000_000
    redis_client.zadd(Keys().webhook_due, {"org_a|dlv_2": now})
    held = store.claim_attempt("org_a", "dlv_2", now, HOUR_MS, None, message_id="m1", alive_ms=0)
    assert held.token is not None
    assert store.renew("m1", held.token, 60_000)  # the run says it is alive

    same = store.claim_attempt("org_a", "dlv_2", now + 1, HOUR_MS, None, message_id="m1")
    assert (same.token, same.held_by_live_run) == (None, True)
    other = store.claim_attempt("org_a", "dlv_2", now + 1, HOUR_MS, None, message_id="m2")
    assert (other.token, other.held_by_live_run) == (None, False)
    # Stopped (an error ended it): the next run of the message takes it back.
    assert store.renew("m1", held.token, 0)
    assert not store.renew("m1", held.token, 60_000)  # a renewal arriving late changes nothing
    assert store.claim_attempt("org_a", "dlv_2", now + 2, HOUR_MS, None, message_id="m1").token


@pytest.mark.parametrize("next_ms", [None, NOW_MS + 60_000], ids=["delivered", "retry-due"])
def test_a_renewal_landing_after_the_finish_changes_nothing(
    redis_client: redis.Redis, next_ms: int | None
) -> None:
    store = DeliveryStore(redis_client, Keys())
    redis_client.zadd(Keys().webhook_due, {"org_a|dlv_3": NOW_MS})
    claim = store.claim_attempt("org_a", "dlv_3", NOW_MS, HOUR_MS, None, message_id="m1")
    assert claim.token is not None
    assert store.finish("org_a", "dlv_3", claim.token, next_ms, message_id="m1")

    # The renewal thread read the run as held just before the finish; its renewals land after.
    assert not store.renew("m1", claim.token, 60_000)
    assert not store.renew("m1", claim.token, 0)  # nor does a "stopped" mark
    assert redis_client.zscore(Keys().webhook_due, "org_a|dlv_3") == next_ms
    assert not redis_client.exists(Keys().webhook_attempt("m1"))


class RenewalLog(DeliveryStore):
    """Records what each renewal came to (True: renewed)."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        super().__init__(client, keys)
        self.replies: list[bool] = []

    def renew(self, message_id: str, token: int, alive_ms: int) -> bool:
        renewed = super().renew(message_id, token, alive_ms)
        self.replies.append(renewed)
        return renewed


def test_the_renewal_thread_still_running_after_the_finish_leaves_the_due_set_alone(
    redis_client: redis.Redis,
) -> None:
    store = RenewalLog(redis_client, Keys())
    redis_client.zadd(Keys().webhook_due, {"org_a|dlv_4": NOW_MS})
    claim = store.claim_attempt("org_a", "dlv_4", NOW_MS, HOUR_MS, None, message_id="m1")
    assert claim.token is not None
    renewals = Renewals(store, every_s=0.01, alive_ms=60_000)
    held = renewals.hold("m1", claim.token)
    try:
        wait_for(lambda: True in store.replies, 30, "a renewal of the running attempt")
        assert store.finish("org_a", "dlv_4", claim.token, None, message_id="m1")
        finished_at = len(store.replies)
        wait_for(lambda: False in store.replies[finished_at:], 30, "a renewal after the finish")
    finally:
        renewals.drop(held)
    assert redis_client.zscore(Keys().webhook_due, "org_a|dlv_4") is None
    assert not redis_client.exists(Keys().webhook_attempt("m1"))


def same_message_deliverer(client: redis.Redis, message_id: str) -> Deliverer:
    return Deliverer(
        DeliveryStore(client, Keys()),
        allow_private=True,
        clock=Clock(),
        limits=HttpLimits(),  # the slow receiver below must not time out
        message_id=lambda: message_id,
        attempt_lease_ms=HOUR_MS,
    )


def test_the_same_message_running_twice_at_once_makes_one_post_even_past_the_alive_window(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """The first run's POST outlasts ATTEMPT_ALIVE_MS: only its renewals keep the second run
    (the same message, delivered again while the first still runs) from taking over."""
    slow = Answer(200, delay_s=ATTEMPT_ALIVE_MS / 1000 + 1.5)
    with receiving(slow) as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        replies: list[Reply | None] = []

        def run() -> None:
            client = redis.Redis.from_url(redis_url, decode_responses=True)
            try:
                worker = same_message_deliverer(client, "msg-twice")
                replies.append(worker.on_result(published.project_id, published.result_id))
            finally:
                client.close()

        first = threading.Thread(target=run)
        first.start()
        wait_for(lambda: len(receiver.requests) == 1, 30, "the first run's POST")
        second = threading.Thread(target=run)
        second.start()
        first.join()
        second.join()
    assert len(receiver.requests) == 1
    assert sorted(r is not None for r in replies) == [False, True]
    done = the_record(redis_client, published)
    assert done is not None and (done.status, done.attempts) == ("delivered", 1)


def test_a_run_that_raised_is_taken_back_by_the_next_run_without_waiting(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = StoreLosingOneWrite(redis_client, Keys())
    worker = Deliverer(
        store, allow_private=True, limits=TEST_LIMITS, message_id=lambda: "msg-retried"
    )
    claims: list[bool] = []
    claim_attempt = store.claim_attempt

    def counted(*args: Any, **kwargs: Any) -> AttemptClaim:
        claim = claim_attempt(*args, **kwargs)
        claims.append(claim.held_by_live_run)
        return claim

    store.claim_attempt = counted  # type: ignore[method-assign]  # spying on this one store
    with receiving() as receiver:
        set_endpoint(redis_url, ORG, receiver.url)
        published = publish(redis_client, ORG)
        with pytest.raises(redis.ConnectionError):
            worker.on_result(published.project_id, published.result_id)
        reply = worker.on_result(published.project_id, published.result_id)  # the retry
    assert reply is not None and reply.delivered
    assert claims == [False, False]  # the retry's first claim took it: no wait, no lease
    assert len(receiver.requests) == 2
