"""The test cluster is a real one: keys spread over three masters, a replica takes over a dead
master's slots, and the dead node comes back as a replica."""

from __future__ import annotations

from tests.support.redis_cluster import RedisClusterUnderTest


def test_keys_spread_over_three_masters_and_survive_a_master_kill(
    redis_cluster: RedisClusterUnderTest,
) -> None:
    client = redis_cluster.client()
    try:
        keys = [f"{{k{i}}}" for i in range(30)]
        for key in keys:
            client.set(key, key)
        assert len({redis_cluster.master_of(key).port for key in keys}) == 3
        victim = redis_cluster.master_of(keys[0])
        redis_cluster.wait_replicated()
        redis_cluster.kill(victim)
        redis_cluster.wait_healthy()
        assert redis_cluster.master_of(keys[0]).port != victim.port
        redis_cluster.restart(victim)
        redis_cluster.wait_healthy()
        assert victim.role() == "slave"
    finally:
        client.close()
    fresh = redis_cluster.client()
    try:
        assert [fresh.get(key) for key in keys] == keys
    finally:
        fresh.close()
