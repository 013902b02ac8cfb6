"""Bulk task creation on a real Redis Cluster: the NGO is told its tasks were accepted only once
a replica holds them (``core.redis.clients.batch_mux``), so a master killed just after cannot
take accepted tasks with it."""

from __future__ import annotations

import asyncio

import pytest

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
