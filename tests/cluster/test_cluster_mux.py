"""The API's multiplexed connection on a real Redis Cluster (``core.redis.cluster_mux``): each
command goes to the master of its slot, replies come back in order, and a dead master fails its
own commands only until its replica, found in the slot map read again, serves them."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.redis.cluster_mux import ClusterMux
from tests.support.redis_cluster import RedisClusterUnderTest

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
