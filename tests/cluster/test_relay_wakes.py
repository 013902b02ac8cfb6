"""The relay on a real Redis Cluster waits for the masters' key-event notifications of XADD
(core/events/cluster_wake.py) instead of sleeping: with its sleeps and blocking reads set to
longer than the test waits, an event appended while it waits is still handed on, and so after a
master's failover (the new master subscribed to)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis

from core.events.cluster_wake import ClusterWaker, notifies_xadd
from core.events.relay import Relay, RelayConfig
from core.redis.keys import Keys
from tests.support.processes import wait_until
from tests.support.redis_cluster import RedisClusterUnderTest

#: Longer than any wait below: only a notification can hand an event on in time.
ASLEEP_S = 120.0
WAIT_S = 30.0


@pytest.fixture
def relay_on_cluster(
    redis_cluster: RedisClusterUnderTest,
) -> Iterator[tuple[Relay, queue.Queue[tuple[str, dict[str, str]]]]]:
    client = cast(redis.Redis, redis_cluster.client())
    keys = Keys("t:")
    client.sadd(keys.projects, "prj_a", "prj_b")
    handed: queue.Queue[tuple[str, dict[str, str]]] = queue.Queue()
    config = RelayConfig(
        idle_sleep_min_s=ASLEEP_S, idle_sleep_max_s=ASLEEP_S, block_s=ASLEEP_S,
        discover_interval_s=0.5,
    )  # fmt: skip
    relay = Relay(client, keys, lambda pid, _, fields: handed.put((pid, fields)), config=config)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield relay, handed
    finally:
        stop.set()
        if relay.waker is not None:
            relay.waker._wake.set()  # out of its wait at once
        thread.join(10)
        client.close()


def appended_while_waiting(relay: Relay, client: Any, project_id: str, n: int) -> None:
    waker = relay.waker
    assert waker is not None
    wait_until(waker.waiting.is_set, "the relay waiting", WAIT_S, poll=0.05)
    client.xadd(Keys("t:").project(project_id).events, {"type": "test", "n": str(n)})


def test_an_idle_relay_on_the_cluster_is_woken_by_an_append_and_after_a_failover(
    redis_cluster: RedisClusterUnderTest,
    relay_on_cluster: tuple[Relay, queue.Queue[tuple[str, dict[str, str]]]],
) -> None:
    relay, handed = relay_on_cluster
    client = redis_cluster.client()
    try:
        wait_until(lambda: relay.waker is not None and relay.waker.active, "subscribed", WAIT_S)
        for n, project_id in enumerate(("prj_a", "prj_b")):
            appended_while_waiting(relay, client, project_id, n)
            assert handed.get(timeout=WAIT_S) == (project_id, {"type": "test", "n": str(n)})
        # The master serving prj_a's stream dies; its replica takes over and is subscribed to.
        stream = Keys("t:").project("prj_a").events
        redis_cluster.kill(redis_cluster.master_of(stream))
        wait_until(lambda: _appended(client, stream), "a master for the stream again", WAIT_S)
        assert handed.get(timeout=WAIT_S) == ("prj_a", {"type": "test", "n": "after"})
        appended_while_waiting(relay, client, "prj_a", 3)
        assert handed.get(timeout=WAIT_S) == ("prj_a", {"type": "test", "n": "3"})
    finally:
        client.close()


def _appended(client: Any, stream: str) -> bool:
    try:
        client.xadd(stream, {"type": "test", "n": "after"})
    except redis.RedisError:
        return False
    return True


def test_which_notification_flags_wake_the_relay() -> None:
    assert notifies_xadd("Et") and notifies_xadd("KEA") and notifies_xadd("xEt")
    assert not notifies_xadd("") and not notifies_xadd("Kt") and not notifies_xadd("Eg")


def test_a_master_that_does_not_answer_is_not_taken_for_one_that_does_not_notify(
    redis_cluster: RedisClusterUnderTest,
) -> None:
    """Just after a master died, the client's slot map still lists it: the waker must not
    conclude that notifications are off (the relay would then sleep its longest sleep) but keep
    waking the relay until the map knows the replica that took over."""
    client = redis_cluster.client()
    waker = ClusterWaker(client)
    try:
        assert waker.refresh() and waker.active
        redis_cluster.kill(redis_cluster.master_of(Keys("t:").project("prj_a").events))
        assert waker.refresh() and waker.active  # the dead master is still in the map
        assert waker.wait(WAIT_S)  # its subscriber, retrying, wakes the relay
    finally:
        waker.close()
        client.close()
