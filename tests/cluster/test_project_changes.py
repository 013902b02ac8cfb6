"""Project changes announced on a real Redis Cluster (core/projects/changes.py): a classic
PUBLISH reaches a subscriber connected to another node, and a subscriber whose node dies connects
to the next start-up node and hears the next announcement."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import cast

import pytest
import redis.asyncio

from core.projects.changes import ProjectChangeListener, announce_project_change
from core.redis.keys import Keys
from core.settings import Settings
from tests.support.redis_cluster import RedisClusterUnderTest

pytestmark = pytest.mark.anyio

WAIT_S = 60.0


async def eventually(
    condition: Callable[[], bool], what: str, act: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Until ``condition`` holds, call ``act`` (an announcement: it logs and swallows a failure
    while the cluster fails over) again; fail after a generous wait."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, what
        if act is not None:
            await act()
        await asyncio.sleep(0.2)


async def test_a_change_reaches_a_subscriber_on_another_node_and_after_its_node_dies(
    redis_cluster: RedisClusterUnderTest,
) -> None:
    keys = Keys("t:")
    settings = Settings(
        redis_url=redis_cluster.url,
        redis_cluster=True,
        redis_cluster_nodes=redis_cluster.node_list,
        broker_url="amqp://127.0.0.1:5672/",
    )
    client = cast(
        redis.asyncio.Redis,
        redis.asyncio.RedisCluster.from_url(redis_cluster.url, decode_responses=True),
    )
    listener = ProjectChangeListener(settings, keys)
    await listener.start()
    try:
        assert listener.subscribed.is_set()
        # The channel's slot is served by some master; the subscriber sits on the URL's node.
        await announce_project_change(client, keys, "prj_a")
        await eventually(lambda: listener.received >= 1, "the first announcement")
        subscribed_to = redis_cluster.nodes[0]
        redis_cluster.kill(subscribed_to)
        await eventually(
            lambda: listener.received >= 2,
            "an announcement heard through another node",
            lambda: announce_project_change(client, keys, "prj_b"),
        )
    finally:
        await listener.aclose()
        await client.aclose()
