"""Bulk task creation on a real Redis Cluster: the NGO is told its tasks were accepted only once
a replica holds them (``core.redis.clients.batch_mux``), so a master killed just after cannot
take accepted tasks with it; batches that only read do not wait."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
import redis.asyncio

from core import ids
from core.board.runner import AsyncBoard, BoardPolicy, NewTask
from core.board.script_calls import Batch
from core.redis.cluster_mux import ClusterMux
from core.redis.keys import Keys
from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN, Actors, app_client
from tests.support.crash_run import payload
from tests.support.redis_cluster import RedisClusterUnderTest

pytestmark = pytest.mark.anyio

TASKS = 5


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_tasks_are_accepted_once_a_replica_holds_them(
    redis_cluster: RedisClusterUnderTest,
) -> None:
    settings = Settings(
        redis_url=redis_cluster.url,
        redis_cluster=True,
        redis_cluster_wait_ms=10_000,
        broker_url="redis://127.0.0.1:9/0",  # no worker here: nothing is sent to it
        admin_token=ADMIN_TOKEN,
        webhook_allow_private=True,
    )
    async with app_client(settings) as api:
        _, org = await Actors(api).org()
        spec = {"name": "Posts", "task_type": "moderation", "instructions": "Label the post."}
        made = await api.post("/v1/projects", json=spec, headers=org)
        assert made.status_code == 201, made.text
        project_id = made.json()["id"]
        tasks_key = Keys().project(project_id).tasks
        redis_cluster.wait_replicated()  # a replica still in its first sync would be late
        replica = redis_cluster.replica_of(redis_cluster.master_of(tasks_key))
        tasks = [{"external_id": f"post-{n}", "payload": payload("moderation", n)}
                 for n in range(TASKS)]  # fmt: skip
        with redis_cluster.stopped(replica):
            sent = asyncio.ensure_future(
                api.post(f"/v1/projects/{project_id}/tasks", json={"tasks": tasks}, headers=org)
            )
            await asyncio.sleep(0.3)
            assert not sent.done(), "accepted before a replica held the tasks"
        response = await asyncio.wait_for(sent, 30)
    assert response.status_code == 200 and response.json()["accepted"] == TASKS, response.text
    client = replica.client()
    try:
        client.execute_command("READONLY")  # type: ignore[no-untyped-call]
        assert client.hlen(tasks_key) == TASKS
    finally:
        client.close()


async def test_only_batches_that_write_wait_for_replicas(
    redis_cluster: RedisClusterUnderTest,
) -> None:
    """A claim's or a review queue's counts (``READ_ONLY`` scripts) stay off the bulk writes'
    connections, where they would queue behind a large batch, and send no ``WAIT``."""
    client = redis.asyncio.RedisCluster.from_url(redis_cluster.url, decode_responses=True)
    batches = ClusterMux(redis_cluster.url, wait_replicas=1, wait_ms=2000)
    board = AsyncBoard(cast(redis.asyncio.Redis, client), batch_mux=batches)
    project_id = ids.new_project_id()
    master = redis_cluster.master_of(Keys().project(project_id).tasks)

    def waits_sent() -> int:
        node = master.client()
        try:
            return int(node.info("commandstats").get("cmdstat_wait", {}).get("calls", 0))
        finally:
            node.close()

    try:
        await board.run(board.ops.create_project(project_id, BoardPolicy(), {}))
        redis_cluster.wait_replicated()
        before = waits_sent()
        counts = [board.ops.count_claimable(project_id, ids.new_volunteer_id())]
        await board.run(Batch(counts, list))
        assert waits_sent() == before
        await board.run(board.ops.create_tasks(project_id, [NewTask({"n": 1})]))
        assert waits_sent() == before + 1
    finally:
        await batches.aclose()
        await client.aclose()
