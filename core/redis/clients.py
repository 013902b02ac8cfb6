"""The one place every process opens Redis: a one-node client, or a cluster client when
``RUCHE_REDIS_CLUSTER=1``.

The API, the workers, the relay, the scheduler, webhook delivery, the pages and the CLI's
commands all call :func:`redis_client` or :func:`async_redis_client` with their own timeouts,
so that switching a deployment to Redis Cluster is one setting, not five patches.

In cluster mode the clients are redis-py's ``RedisCluster`` (sync and asyncio): they discover the
nodes from ``RUCHE_REDIS_URL`` (any node) and ``RUCHE_REDIS_CLUSTER_NODES``, follow MOVED and ASK,
and refresh the slot map after a failover. They are handed out typed as the one-node classes:
the commands Ruche sends are the same (every script and multi-key command stays in one slot,
tests/core/test_cluster_slots.py), and the few places where the two differ ask
:func:`is_cluster`. The API's multiplexed connection (:mod:`core.redis.mux`) speaks to one host,
so in cluster mode :func:`hot_path_mux` gives a :class:`~core.redis.cluster_mux.ClusterMux`, one
per master with the slot map (``bench/redis_mux.py --cluster-url`` measures both).
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from core.redis.cluster_mux import ClusterMux
from core.redis.mux import MuxRedis
from core.redis.replicated import ReplicatedScripts
from core.settings import Settings

__all__ = [
    "async_redis_client",
    "batch_mux",
    "cluster_nodes",
    "hot_path_mux",
    "is_cluster",
    "redis_client",
    "redis_url",
    "replicated_scripts",
]


#: A slot nobody serves (its master gone, no replica to take over) fails the requests on that
#: slot only, not every request of the process.
_CLUSTER: dict[str, Any] = {"require_full_coverage": False}


def redis_url(settings: Settings, who: str) -> str:
    """``RUCHE_REDIS_URL``, or an error saying that ``who`` needs it."""
    if settings.redis_url is None:
        raise RuntimeError(f"RUCHE_REDIS_URL is not set: {who} needs a Redis server")
    return settings.redis_url


def cluster_nodes(settings: Settings) -> list[tuple[str, int]]:
    """The extra start-up nodes of ``RUCHE_REDIS_CLUSTER_NODES`` (``host:port,host:port``)."""
    nodes = []
    for part in settings.redis_cluster_nodes.split(","):
        host, _, port = part.strip().rpartition(":")
        if host and port.isdigit():
            nodes.append((host.strip("[]"), int(port)))
    return nodes


def redis_client(
    settings: Settings, who: str, *, connect_timeout_s: float, timeout_s: float
) -> redis.Redis:
    """A synchronous client of the settings' Redis (``decode_responses``)."""
    url = redis_url(settings, who)
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": connect_timeout_s,
        "socket_timeout": timeout_s,
    }
    if not settings.redis_cluster:
        return redis.Redis.from_url(url, **options)
    startup = [
        redis.cluster.ClusterNode(host, port)  # type: ignore[no-untyped-call]
        for host, port in cluster_nodes(settings)
    ]
    client = redis.cluster.RedisCluster.from_url(url, startup_nodes=startup, **_CLUSTER, **options)
    return cast(redis.Redis, client)


def async_redis_client(
    settings: Settings, who: str, *, connect_timeout_s: float, timeout_s: float
) -> redis.asyncio.Redis:
    """An asyncio client of the settings' Redis (``decode_responses``)."""
    url = redis_url(settings, who)
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": connect_timeout_s,
        "socket_timeout": timeout_s,
    }
    if not settings.redis_cluster:
        return redis.asyncio.Redis.from_url(url, **options)
    startup = [
        redis.asyncio.cluster.ClusterNode(host, port) for host, port in cluster_nodes(settings)
    ]
    client = redis.asyncio.RedisCluster.from_url(url, startup_nodes=startup, **_CLUSTER, **options)
    return cast(redis.asyncio.Redis, client)


def hot_path_mux(settings: Settings, *, timeout_s: float) -> MuxRedis | ClusterMux:
    """The API's multiplexed connection (:mod:`core.redis.mux`); on a cluster, one per master
    with the slot map (:mod:`core.redis.cluster_mux`)."""
    url = redis_url(settings, "the API")
    if settings.redis_cluster:
        return ClusterMux(
            url,
            cluster_nodes(settings),
            timeout_s=timeout_s,
            connect_timeout_s=timeout_s,
            wait_replicas=settings.redis_cluster_wait_replicas,
            wait_ms=settings.redis_cluster_wait_ms,
        )
    return MuxRedis(url, timeout_s=timeout_s, connect_timeout_s=timeout_s)


def batch_mux(settings: Settings, *, timeout_s: float) -> ClusterMux | None:
    """On a cluster, the API's connections for batches of script calls (bulk task creation):
    a :class:`~core.redis.cluster_mux.ClusterMux` apart from the hot path's, so that the tasks
    an NGO is told were accepted are on a replica (``WAIT``) and a large batch holds up no
    claim. None on one Redis (its writes cannot outlive a failover it does not have)."""
    if not settings.redis_cluster:
        return None
    return ClusterMux(
        redis_url(settings, "the API"),
        cluster_nodes(settings),
        timeout_s=timeout_s,
        connect_timeout_s=timeout_s,
        wait_replicas=settings.redis_cluster_wait_replicas,
        wait_ms=settings.redis_cluster_wait_ms,
    )


def replicated_scripts(settings: Settings, client: redis.Redis) -> ReplicatedScripts | None:
    """For a synchronous :class:`~core.board.runner.Board` on a cluster: its script calls
    answered once ``redis_cluster_wait_replicas`` replicas hold their writes
    (:mod:`core.redis.replicated`); None on one Redis, or with waiting off."""
    if not settings.redis_cluster or settings.redis_cluster_wait_replicas <= 0:
        return None
    return ReplicatedScripts(
        cast(redis.cluster.RedisCluster, client),
        wait_replicas=settings.redis_cluster_wait_replicas,
        wait_ms=settings.redis_cluster_wait_ms,
    )


def is_cluster(client: object) -> bool:
    """Whether ``client`` (from this module) speaks to a Redis Cluster."""
    return isinstance(client, redis.cluster.RedisCluster | redis.asyncio.RedisCluster)


def limits_cluster_uri(settings: Settings) -> str:
    """The ``limits`` library's URI for its Redis Cluster storage: every start-up node, with the
    URL's credentials."""
    parts = urlsplit(redis_url(settings, "the rate limits"))
    auth = f"{parts.netloc.rpartition('@')[0]}@" if "@" in parts.netloc else ""
    hosts = [f"{parts.hostname}:{parts.port or 6379}"]
    hosts += [f"{host}:{port}" for host, port in cluster_nodes(settings)]
    return f"async+redis+cluster://{auth}{','.join(hosts)}"
