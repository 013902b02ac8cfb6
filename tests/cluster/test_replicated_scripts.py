"""The synchronous processes' script calls on a real Redis Cluster (``core.redis.replicated``):
answered once the replica holds their writes, so that a worker's write cannot be lost with its
master after the broker message that caused it was acknowledged."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError
from structlog.testing import capture_logs

from core import ids
from core.board.runner import Board
from core.redis.clients import redis_client, replicated_scripts
from core.redis.keys import Keys
from core.redis.replicated import ReplicatedScripts
from core.settings import Settings
from tests.support.processes import wait_until
from tests.support.redis_cluster import ClusterNode, RedisClusterUnderTest, writable_replica

#: A write of the kind every board script makes.
WRITE = "redis.call('HSET', KEYS[1], 'f', ARGV[1]) return 1"


@pytest.fixture
def cluster_client(redis_cluster: RedisClusterUnderTest) -> Any:
    client = redis_cluster.client()
    try:
        yield client
    finally:
        client.close()


def read_on_replica(replica: ClusterNode, key: str) -> Any:
    client = replica.client()
    try:
        client.execute_command("READONLY")  # type: ignore[no-untyped-call]
        return client.hget(key, "f")
    finally:
        client.close()


def test_a_script_call_returns_once_the_replica_holds_its_writes(
    redis_cluster: RedisClusterUnderTest, cluster_client: RedisCluster
) -> None:
    key = "{resolve}"
    replica = redis_cluster.replica_of(redis_cluster.master_of(key))
    replicated = ReplicatedScripts(cluster_client, wait_replicas=1, wait_ms=10_000)
    sha = str(cluster_client.script_load(WRITE))
    redis_cluster.wait_replicated()  # a replica still in its first sync would be late
    assert replicated.evalsha(sha, [key], ["first"]) == 1  # the connection open
    outcome: list[Any] = []
    with redis_cluster.stopped(replica):
        call = threading.Thread(
            target=lambda: outcome.append(replicated.evalsha(sha, [key], ["resolved"]))
        )
        call.start()
        call.join(0.3)
        assert call.is_alive(), "answered before the replica had the write"
    call.join(30)
    assert outcome == [1]
    assert read_on_replica(replica, key) == "resolved"


def test_late_replicas_are_warned_of_and_not_waited_on_again_at_once(
    redis_cluster: RedisClusterUnderTest, cluster_client: RedisCluster
) -> None:
    key = "{late}"
    replica = redis_cluster.replica_of(redis_cluster.master_of(key))
    replicated = ReplicatedScripts(cluster_client, wait_replicas=1, wait_ms=200)
    sha = str(cluster_client.script_load(WRITE))
    with capture_logs() as logs, redis_cluster.stopped(replica):
        assert replicated.evalsha(sha, [key], ["1"]) == 1
        assert replicated.evalsha(sha, [key], ["2"]) == 1
    warned = [log for log in logs if log["event"] == "redis.cluster_replicas_behind"]
    assert len(warned) == 1, logs
    assert warned[0]["acknowledged"] == "0" and warned[0]["wanted"] == 1


def test_a_write_taken_by_a_node_that_is_a_replica_now_fails(
    tmp_path: Path, cluster_client: RedisCluster
) -> None:
    """An old master started again takes writes until it learns that its replica took over,
    then drops them; the ``WAIT`` after them says it is a replica. Played by a writable replica
    (``replica-read-only no``). The call fails, so the actor that made it is run again."""
    with writable_replica(tmp_path) as follower:
        node = redis.Redis.from_url(follower.url, decode_responses=True)
        try:
            sha = str(node.script_load(WRITE))
            replicated = ReplicatedScripts(cluster_client, wait_replicas=1, wait_ms=1000)
            with capture_logs() as logs, pytest.raises(RedisConnectionError):
                replicated.evalsha_on(node, sha, ["{k}"], ["v"])
            assert any(e["event"] == "redis.cluster_writes_to_a_replica" for e in logs)
        finally:
            node.close()


def test_the_processes_boards_wait_on_a_cluster(redis_cluster: RedisClusterUnderTest) -> None:
    """What the workers, the scheduler and ``ruche`` build (``replicated_scripts``): their
    script calls end with a ``WAIT`` on the slot's master, unless waiting is turned off."""
    project_id = ids.new_project_id()
    key = Keys().project(project_id).leases
    master = redis_cluster.master_of(key)

    def waits_sent() -> int:
        client = master.client()
        try:
            return int(client.info("commandstats").get("cmdstat_wait", {}).get("calls", 0))
        finally:
            client.close()

    redis_cluster.wait_replicated()  # a replica still in its first sync would be late
    for wait_replicas, waits in ((1, 1), (0, 0)):
        settings = Settings(
            redis_url=redis_cluster.url,
            redis_cluster=True,
            redis_cluster_wait_replicas=wait_replicas,
            broker_url="redis://127.0.0.1:9/0",  # no worker here: nothing is sent to it
        )
        client = redis_client(settings, "the test", connect_timeout_s=2, timeout_s=5)
        try:
            board = Board(client, replicated=replicated_scripts(settings, client))
            board.run(board.ops.expire_leases(project_id, 10))  # the script registered
            before = waits_sent()
            assert board.run(board.ops.expire_leases(project_id, 10)) == []
            assert waits_sent() - before == waits
        finally:
            client.close()


def test_after_a_failover_the_calls_find_the_replica_that_took_over(
    redis_cluster: RedisClusterUnderTest, cluster_client: RedisCluster
) -> None:
    """A call on a dead master fails (it may have run: the actor is run again, not the call),
    and the slot map is read again, so that later calls reach the new master, with no other
    call of the cluster client's own to refresh it."""
    key = "{failover}"
    replicated = ReplicatedScripts(cluster_client, wait_replicas=1, wait_ms=2000)
    sha = str(cluster_client.script_load(WRITE))
    redis_cluster.wait_replicated()  # a replica still in its first sync would be late
    with capture_logs() as logs:
        assert replicated.evalsha(sha, [key], ["before"]) == 1
    assert not logs, logs  # waited for, and its master not set aside as late
    redis_cluster.kill(redis_cluster.master_of(key))
    with pytest.raises((RedisConnectionError, RedisTimeoutError)):
        replicated.evalsha(sha, [key], ["during"])
    redis_cluster.wait_healthy()  # the replica took over

    def written() -> bool:
        try:
            return bool(replicated.evalsha(sha, [key], ["after"]) == 1)
        except (RedisConnectionError, RedisTimeoutError):
            return False
        except NoScriptError:  # the new master's script cache is its own: as the Board does
            cluster_client.script_load(WRITE)
            return False

    wait_until(written, "a call on the new master", 30, poll=0.3)
    assert cluster_client.hget(key, "f") == "after"
