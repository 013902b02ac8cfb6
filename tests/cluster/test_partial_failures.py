"""Requests whose commands land on two nodes of a real Redis Cluster, one of them failing.

A claim (the reservation on the volunteer's key, the claim on the project's) and a submit (the
answer on the project's key, the slot given back on the volunteer's) each send two commands
that sit in two slots, so on two nodes or one. The failure is made real and aimed at one slot:
the volunteer's slot is served by nobody (as when its master died with no replica to take over),
so its commands get CLUSTERDOWN while the project's run. The API must answer 503 with
``Retry-After`` and hold nothing it did not acknowledge, or acknowledge what it stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from core.redis.clients import async_redis_client
from core.redis.keys import Keys
from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN, Actors, app_client
from tests.support.api.volunteers import Headers, Scene, claim
from tests.support.redis_cluster import RedisClusterUnderTest

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def cluster_settings(cluster: RedisClusterUnderTest) -> Settings:
    return Settings(
        redis_url=cluster.url,
        redis_cluster=True,
        broker_url="redis://127.0.0.1:9/0",  # no worker here: nothing is sent to it
        admin_token=ADMIN_TOKEN,
        webhook_allow_private=True,
    )


@dataclass
class World:
    api: httpx.AsyncClient
    actors: Actors
    scene: Scene
    cluster: RedisClusterUnderTest


@pytest.fixture
async def world(redis_cluster: RedisClusterUnderTest) -> AsyncIterator[World]:
    settings = cluster_settings(redis_cluster)
    async with app_client(settings) as api:
        actors = Actors(api)
        _, org = await actors.org()
        client = async_redis_client(settings, "the test", connect_timeout_s=2, timeout_s=2)
        scene = Scene(api, client)
        scene.org = org
        try:
            yield World(api, actors, scene, redis_cluster)
        finally:
            await client.aclose()


async def volunteer(world: World) -> tuple[str, Headers, str]:
    """A volunteer, their headers, and the key of their live assignments (the cap)."""
    volunteer_id, headers = await world.actors.volunteer(["en", "fr"])
    return volunteer_id, headers, Keys().volunteer_live(volunteer_id)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "redis_unavailable"


async def test_a_claim_whose_reservation_failed_holds_no_lease(world: World) -> None:
    project, [task] = await world.scene.project(1)
    _, headers, live_key = await volunteer(world)
    slot, owner = world.cluster.uncover(live_key)
    try:
        assert_unavailable(await claim(world.api, headers))
    finally:
        world.cluster.cover(slot, owner)
    # The claim on the project ran; its lease was handed back, so the task is free for another.
    assert await world.scene.task_state(project, task) == "open"
    _, other = (await volunteer(world))[:2]
    taken = await claim(world.api, other)
    assert taken.status_code == 201, taken.text
    assert await world.scene.task_state(project, task) == "collecting"


async def test_a_submit_whose_slot_release_failed_is_acknowledged_as_stored(world: World) -> None:
    project, [task] = await world.scene.project(1)
    _, headers, live_key = await volunteer(world)
    claimed = await claim(world.api, headers)
    assert claimed.status_code == 201, claimed.text
    assignment = claimed.json()["id"]
    slot, owner = world.cluster.uncover(live_key)
    try:
        submitted = await world.api.post(
            f"/v1/assignments/{assignment}/submit",
            json={"answer": {"text": "Lavez-vous les mains."}},
            headers=headers,
        )
    finally:
        world.cluster.cover(slot, owner)
    assert submitted.status_code == 202, submitted.text
    answers = await world.scene.client.hget(Keys().project(project).answers, task)
    assert answers is not None and "Lavez-vous les mains." in answers


async def test_a_slot_served_by_nobody_is_a_503_with_retry_after_never_a_500(
    world: World,
) -> None:
    project, _ = await world.scene.project(1)
    slot, owner = world.cluster.uncover(Keys().project(project).project)
    try:
        assert_unavailable(await world.api.get(f"/v1/projects/{project}", headers=world.scene.org))
        sent = await world.api.post(
            f"/v1/projects/{project}/tasks",
            json={"tasks": [{"payload": {"source_text": "Hi", "source_lang": "en",
                                         "target_lang": "fr"}}]},
            headers=world.scene.org,
        )  # fmt: skip
        assert_unavailable(sent)
    finally:
        world.cluster.cover(slot, owner)
    assert (await world.api.get(f"/v1/projects/{project}", headers=world.scene.org)).is_success


async def test_a_claim_whose_lease_is_taken_is_answered_even_when_its_context_cannot_be_read(
    world: World,
) -> None:
    """Once the lease is taken, a 503 would leave it held by someone never told of it until it
    runs out (the task stuck meanwhile): the task is answered without the organisation's name."""
    project, [task] = await world.scene.project(1)
    _, headers, _ = await volunteer(world)
    org_id = (await world.api.get("/v1/org", headers=world.scene.org)).json()["id"]
    slot, owner = world.cluster.uncover(Keys().org(org_id))
    try:
        taken = await claim(world.api, headers)
    finally:
        world.cluster.cover(slot, owner)
    assert taken.status_code == 201, taken.text
    assert taken.json()["task"]["id"] == task and taken.json()["task"]["organisation"] is None
    assert await world.scene.task_state(project, task) == "collecting"
