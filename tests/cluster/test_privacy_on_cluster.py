"""The personal-data jobs on a real Redis Cluster (3 masters, 3 replicas): a volunteer's export
and erasure, deleting a project and an organisation, each job stopped halfway then run to the
end, proved like on one server (tests/api/test_privacy.py, whose scene this reuses) by a key
scan of every master: no key anywhere holds what was erased or deleted.

On a cluster the jobs' SCANs walk every master, each with its own cursor, and no command names
keys of two slots (core/privacy/batches.py: ``scan_page``, ``delete_each``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import httpx
import pytest
import redis
import redis.asyncio

from core.board.runner import Board
from core.privacy.batches import scan_page
from core.privacy.volunteers import PSEUDONYM_PREFIX
from core.settings import Settings
from tests.api.test_privacy import NAME, run_to_the_end, scene
from tests.support.api.client import ADMIN, ADMIN_TOKEN, app_client
from tests.support.key_scan import holding
from tests.support.redis_cluster import RedisClusterUnderTest

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(
    redis_cluster: RedisClusterUnderTest, redis_url: str, redis_client: object
) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process on the cluster, its broker on the session's plain Redis."""
    settings = Settings(
        redis_url=redis_cluster.url,
        redis_cluster=True,
        redis_cluster_nodes=redis_cluster.node_list,
        broker_url=redis_url,
        admin_token=ADMIN_TOKEN,
        webhook_allow_private=True,
    )
    async with app_client(settings) as client:
        yield client


@pytest.fixture
async def aclient(redis_cluster: RedisClusterUnderTest) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.RedisCluster.from_url(redis_cluster.url, decode_responses=True)
    try:
        yield cast(redis.asyncio.Redis, client)
    finally:
        await client.aclose()


@pytest.fixture
def board(redis_cluster: RedisClusterUnderTest) -> Iterator[Board]:
    client = redis_cluster.client()
    try:
        yield Board(cast(redis.Redis, client))
    finally:
        client.close()


def masters_holding(board: Board, found: list[str]) -> set[str]:
    """The masters serving the keys named in ``holding``'s report."""
    cluster = cast(Any, board.client)
    return {cluster.get_node_from_key(line.split(": ", 1)[0]).name for line in found}


async def test_erasure_on_the_cluster_leaves_no_key_on_any_master(
    api: httpx.AsyncClient, board: Board, aclient: redis.asyncio.Redis
) -> None:
    s = await scene(api, board, aclient)
    (erased_id, erased), (kept_id, _) = s["erased"], s["kept"]
    exported = await api.get("/v1/me/export", headers=erased)
    assert exported.status_code == 200, exported.text
    assert len(exported.json()["answers"]) == 3
    assert exported.json()["review_rights"] == [s["project_id"]]
    before = holding(board.client, [erased_id, NAME])
    # What names them is spread over the cluster (the slots of their ids): over several masters.
    assert len(masters_holding(board, before)) >= 2, before

    gone = await api.delete("/v1/me", headers=erased)
    assert gone.status_code == 202, gone.text
    run_to_the_end(board, crash_after=5)

    assert holding(board.client, [erased_id, NAME, s["certificate"]]) == []
    pk = board.keys.project(s["project_id"])
    for task_id in s["task_ids"]:
        entries = json.loads(board.client.hget(pk.answers, task_id) or "[]")
        who = sorted(e["volunteer_id"] for e in entries)
        assert kept_id in who and any(w.startswith(PSEUDONYM_PREFIX) for w in who), who


async def test_project_deletion_on_the_cluster_leaves_no_key_on_any_master(
    api: httpx.AsyncClient, board: Board, aclient: redis.asyncio.Redis
) -> None:
    s = await scene(api, board, aclient)
    project_id, ngo = s["project_id"], s["ngo"]
    assert len(masters_holding(board, holding(board.client, [project_id]))) >= 2
    gone = await api.delete(f"/v1/projects/{project_id}", headers=ngo)
    assert gone.status_code == 202, gone.text

    run_to_the_end(board, crash_after=4, batch=1)

    assert holding(board.client, [project_id]) == []
    assert (await api.get("/v1/me", headers=s["erased"][1])).status_code == 200


async def test_organisation_deletion_on_the_cluster_leaves_only_the_certificates(
    api: httpx.AsyncClient, board: Board, aclient: redis.asyncio.Redis
) -> None:
    s = await scene(api, board, aclient)
    org_id, ngo, project_id = s["org_id"], s["ngo"], s["project_id"]
    assert (await api.post("/v1/invitations", json={"uses": 5}, headers=ngo)).status_code == 201
    gone = await api.delete(f"/v1/orgs/{org_id}", headers=ADMIN)
    assert gone.status_code == 202, gone.text

    run_to_the_end(board, crash_after=6, batch=1)

    left = holding(board.client, [org_id, project_id])
    assert left == [f"{board.keys.certificate(s['certificate'])}: {org_id}"]


def test_a_scan_page_walks_every_master_and_starts_again_after_a_failover(
    redis_cluster: RedisClusterUnderTest,
) -> None:
    client: Any = redis_cluster.client()  # redis-py's cluster methods are untyped
    try:
        wanted = {f"scanme:{n}" for n in range(120)}
        for key in wanted:
            client.set(key, "x")
        client.set("other", "x")
        masters = {client.get_node_from_key(k).name for k in wanted}
        assert len(masters) == 3

        def walk(state: dict[str, str]) -> tuple[list[str], int]:
            seen: list[str] = []
            for pages in range(1, 1000):
                found, over = scan_page(cast(redis.Redis, client), state, "scanme:*", 10)
                seen += found
                if over:
                    return seen, pages
            raise AssertionError("the scan never ended")

        seen, pages = walk({})
        assert set(seen) == wanted and pages >= 3
        # A scan saved before the masters changed (one a replica took over) starts again.
        state: dict[str, str] = {}
        scan_page(cast(redis.Redis, client), state, "scanme:*", 10)
        saved = json.loads(state["c_nodes"])
        saved["masters"][0] = "127.0.0.1:1"  # a master that is no longer one
        saved["left"] = {"127.0.0.1:1": 5}
        state["c_nodes"] = json.dumps(saved)
        again, _ = walk(state)
        assert set(again) == wanted
    finally:
        client.close()
