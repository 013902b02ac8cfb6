"""Script calls of the synchronous processes (workers, scheduler, ``ruche`` commands) on a Redis
Cluster, each answered once a replica holds its writes. (The relay makes none: it reads the
project streams and acknowledges their entries, and an acknowledgement lost with its master
only sends an event again, which every actor takes twice safely.)

Redis Cluster replicates after it answers. A worker whose ``resolve_task`` was answered, and
whose broker message was then acknowledged, would leave its task ``aggregating`` for good if the
master died before its replica had the write: nothing would ever send that event again. The API
waits for its writes (:mod:`core.redis.cluster_mux`); this does the same for the others.

``WAIT`` counts the writes of its own connection only, and redis-py's cluster client sends it
to every master on connections of their own. So the script and ``WAIT replicas ms`` go down one
pipeline on the connection of the node serving the script's slot (its first key's), one
``RUCHE_REDIS_CLUSTER_WAIT_*`` setting for every process. What follows, as in the API:

- a ``WAIT`` answered "a replica" (an old master started again took the write before it learnt
  that its replica took over, and will drop it) raises ``ConnectionError``: the actor fails and
  is tried again, on the new master (every actor is safe to run twice);
- replicas that do not answer in time: the reply is returned, a warning logged, and that master
  not waited on for :data:`~core.redis.cluster_mux.UNWAITED_FOR_S` (each call would wait the
  whole time again);
- a node that cannot be reached fails the call (it may have run: not sent again; the actor
  is), and the cluster client reads the slot map again, so the next call finds the replica
  that took over;
- a script that did not run where the slot map said (``MOVED``, ``ASK``, ``TRYAGAIN``,
  ``CLUSTERDOWN``: a failover or a resharding under way) goes through the cluster client, which
  follows the redirect and reads the slot map again; that one call is not waited for (logged).

These processes' pipelines (a ``Batch`` of script calls, plain commands) still go through the
cluster client without ``WAIT``; the API's bulk task creation waits
(:func:`core.redis.clients.batch_mux`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import redis
import structlog
from redis.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    RedisClusterException,
    RedisError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.redis.cluster_mux import REFRESH_EVERY_S, UNWAITED_FOR_S, wait_says_replica

__all__ = ["ReplicatedScripts"]

_log = structlog.get_logger(__name__)

#: Replies that say the script did not run on this node (``MovedError`` is an ``AskError``).
_NOT_RUN_HERE = (AskError, TryAgainError, ClusterDownError)


class ReplicatedScripts:
    """``EVALSHA`` then ``WAIT`` on the slot owner's connection; shared by a process's threads."""

    def __init__(self, client: RedisCluster, *, wait_replicas: int, wait_ms: int) -> None:
        self.client = client
        self.wait_replicas = wait_replicas
        self.wait_ms = wait_ms
        self._unwaited_until: dict[str, float] = {}
        self._next_refresh = 0.0
        self._lock = threading.Lock()

    def evalsha(self, sha: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        node_client = self._owner(keys[0]) if keys else None
        if node_client is None:
            return self.client.evalsha(sha, len(keys), *keys, *args)
        return self.evalsha_on(node_client, sha, keys, args)

    def evalsha_on(
        self, node_client: redis.Redis, sha: str, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        """The call on one node's client, then its ``WAIT`` (see the module docstring)."""
        pipe = node_client.pipeline(transaction=False)
        pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)  # type: ignore[no-untyped-call]
        pipe.execute_command("WAIT", self.wait_replicas, self.wait_ms)  # type: ignore[no-untyped-call]
        try:
            reply, acknowledged = pipe.execute(raise_on_error=False)
        except (RedisConnectionError, RedisTimeoutError):
            # Maybe a failover: the cluster client would read the slot map again after its own
            # failed call, but this call was not its own. The call may have run: not resent.
            self._read_slot_map_again()
            raise
        node = _name(node_client)
        if isinstance(reply, _NOT_RUN_HERE):
            _log.info("redis.cluster_write_not_waited", node=node, reply=type(reply).__name__)
            return self.client.evalsha(sha, len(keys), *keys, *args)
        if wait_says_replica(acknowledged):
            _log.warning("redis.cluster_writes_to_a_replica", node=node)
            raise RedisConnectionError(f"{node} is a replica: its writes are lost")
        if isinstance(reply, Exception):
            raise reply
        if isinstance(acknowledged, Exception) or int(acknowledged) < self.wait_replicas:
            with self._lock:
                self._unwaited_until[node] = time.monotonic() + UNWAITED_FOR_S
            _log.warning(
                "redis.cluster_replicas_behind",
                node=node,
                acknowledged=str(acknowledged),
                wanted=self.wait_replicas,
                unwaited_for_s=UNWAITED_FOR_S,
            )
        return reply

    def _read_slot_map_again(self) -> None:
        """The cluster client's slot map read again, at most every
        :data:`~core.redis.cluster_mux.REFRESH_EVERY_S` (the threads of a worker fail together)."""
        with self._lock:
            if time.monotonic() < self._next_refresh:
                return
            self._next_refresh = time.monotonic() + REFRESH_EVERY_S
        try:
            self.client.nodes_manager.initialize()
        except (RedisError, RedisClusterException) as failed:  # no node answers yet
            _log.info("redis.cluster_map_not_read", error_type=type(failed).__name__)

    def _owner(self, key: str) -> redis.Redis | None:
        """The client of the master serving ``key``'s slot, or None: the slot map does not
        know it, or that master's replicas were late a moment ago (the cluster client then)."""
        try:
            node = self.client.get_node_from_key(key)  # type: ignore[no-untyped-call]
        except RedisClusterException:  # a slot no node serves: the cluster client says so
            return None
        connection = getattr(node, "redis_connection", None)
        if not isinstance(connection, redis.Redis):
            return None
        name = _name(connection)
        with self._lock:
            until = self._unwaited_until.get(name)
            if until is not None:
                if time.monotonic() < until:
                    return None
                del self._unwaited_until[name]
        return connection


def _name(node_client: redis.Redis) -> str:
    options = node_client.connection_pool.connection_kwargs
    return f"{options.get('host')}:{options.get('port')}"
