"""The API's multiplexed connection on a real Redis Cluster (``core.redis.cluster_mux``): each
command goes to the master of its slot, replies come back in order, and a dead master fails its
own commands only until its replica, found in the slot map read again, serves them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from structlog.testing import capture_logs

from core.redis.cluster_mux import ClusterMux
from tests.support.redis_cluster import RedisClusterUnderTest, writable_replica

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def keys_on_three_masters(cluster: RedisClusterUnderTest) -> list[str]:
    found: dict[int, str] = {}
    for n in range(100):
        key = f"{{k{n}}}"
        found.setdefault(cluster.master_of(key).port, key)
        if len(found) == 3:
            return list(found.values())
    raise AssertionError("no three keys on three masters")


async def test_commands_of_three_nodes_reply_in_order(redis_cluster: RedisClusterUnderTest) -> None:
    keys = keys_on_three_masters(redis_cluster)
    client = redis_cluster.client()
    for key in keys:
        client.hset(key, "f", key)
    client.close()
    mux = ClusterMux(redis_cluster.url)
    try:
        replies = await mux.execute([*(("HGET", key, "f") for key in reversed(keys)), ("TIME",)])
        assert replies[:3] == list(reversed(keys))
        assert len(replies[3]) == 2  # TIME: seconds, microseconds
    finally:
        await mux.aclose()


async def test_a_dead_master_fails_its_own_commands_until_its_replica_serves_them(
    redis_cluster: RedisClusterUnderTest,
) -> None:
    doomed, alive, _ = keys_on_three_masters(redis_cluster)
    client = redis_cluster.client()
    client.hset(doomed, "f", "kept")
    client.hset(alive, "f", "alive")
    client.close()
    redis_cluster.wait_replicated()
    mux = ClusterMux(redis_cluster.url, [("127.0.0.1", node.port) for node in redis_cluster.nodes])
    try:
        assert await mux.execute([("HGET", doomed, "f")]) == ["kept"]
        redis_cluster.kill(redis_cluster.master_of(doomed))
        first, second = await mux.execute([("HGET", doomed, "f"), ("HGET", alive, "f")])
        assert isinstance(first, RedisConnectionError | RedisTimeoutError)
        assert second == "alive"
        deadline = time.monotonic() + 60  # a bound: the failover takes seconds
        while (await mux.execute([("HGET", doomed, "f")])) != ["kept"]:
            assert time.monotonic() < deadline, "the replica never served the slot"
            await asyncio.sleep(0.1)
    finally:
        await mux.aclose()


async def test_a_write_is_answered_once_the_replica_holds_it(
    redis_cluster: RedisClusterUnderTest,
) -> None:
    """Redis Cluster replicates after it answers: without ``WAIT``, a master killed just after a
    claim was answered would hand its slot to a replica that never saw the claim."""
    [key, *_] = keys_on_three_masters(redis_cluster)
    replica = redis_cluster.replica_of(redis_cluster.master_of(key))
    mux = ClusterMux(redis_cluster.url, wait_replicas=1, wait_ms=10_000)
    try:
        await mux.execute([("HGET", key, "f")])  # the slot map read, the connection open
        with redis_cluster.stopped(replica):
            write = asyncio.ensure_future(mux.execute([("HSET", key, "f", "claimed")]))
            await asyncio.sleep(0.3)
            assert not write.done(), "answered before the replica had the write"
        assert await asyncio.wait_for(write, 30) == [1]  # the HSET's reply alone, not WAIT's
        client = replica.client()
        try:
            client.execute_command("READONLY")  # type: ignore[no-untyped-call]
            assert client.hget(key, "f") == "claimed"
        finally:
            client.close()
    finally:
        await mux.aclose()


async def test_late_replicas_are_warned_of_and_not_waited_on_again_at_once(
    redis_cluster: RedisClusterUnderTest,
) -> None:
    """A replica that does not answer costs one ``WAIT`` its time, not every request's: the
    connection is shared, and each ``WAIT`` timing out would hold the requests behind it."""
    [key, *_] = keys_on_three_masters(redis_cluster)
    replica = redis_cluster.replica_of(redis_cluster.master_of(key))
    mux = ClusterMux(redis_cluster.url, wait_replicas=1, wait_ms=200)
    try:
        await mux.execute([("HGET", key, "f")])
        with capture_logs() as logs, redis_cluster.stopped(replica):
            assert await mux.execute([("HSET", key, "f", "1")]) == [1]
            assert await mux.execute([("HSET", key, "f", "2")]) == [0]
            assert await mux.execute([("HGET", key, "f")]) == ["2"]
        warned = [log for log in logs if log["event"] == "redis.cluster_replicas_behind"]
        assert len(warned) == 1, logs
        assert warned[0]["acknowledged"] == "0" and warned[0]["wanted"] == 1
    finally:
        await mux.aclose()


async def test_writes_taken_by_a_node_that_is_a_replica_now_are_answered_as_lost(
    tmp_path: Path,
) -> None:
    """An old master started again takes writes until it learns that its replica took over,
    then drops them as it follows the new master; the ``WAIT`` after them says it is a replica.
    Played here by a writable replica (``replica-read-only no``) that a stale slot map names:
    it takes the writes and answers the ``WAIT`` the same way. Acknowledging them would be an
    answer acknowledged and lost (a task stuck waiting for it, once, in the cluster flow)."""
    with writable_replica(tmp_path) as follower:
        mux = ClusterMux(follower.url, wait_replicas=1)
        # The slot map as read from the old master before it learnt of the failover.
        mux._slots = [("127.0.0.1", follower.port)] * 16384
        mux._mapped = True
        try:
            with capture_logs() as logs:
                replies = await mux.execute([("HSET", "{k}", "f", "v"), ("HGET", "{k}", "f")])
            assert all(isinstance(reply, RedisConnectionError) for reply in replies), replies
            assert any(e["event"] == "redis.cluster_writes_to_a_replica" for e in logs)
            # Reads alone wait for nobody: they are answered.
            assert await mux.execute([("HGET", "{k}", "f")]) == ["v"]
        finally:
            await mux.aclose()
