"""The API on a Redis that speaks only TLS (``rediss://``): it starts, is ready, and a volunteer's
claim and submission (the multiplexed connection's path) and an NGO's writes go through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import redis

from api.main import create_app
from core.redis.mux import MuxRedis
from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN, Actors
from tests.support.api.ngo import new_project, submit, translation
from tests.support.tls import TlsRedis

pytestmark = pytest.mark.anyio


@pytest.fixture
async def tls_api(tls_redis: TlsRedis) -> AsyncIterator[httpx.AsyncClient]:
    with redis.Redis.from_url(tls_redis.url) as setup:
        setup.flushall()
    app = create_app(Settings(redis_url=tls_redis.url, admin_token=ADMIN_TOKEN))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ruche") as c,
    ):
        assert isinstance(app.state.board.mux, MuxRedis)  # the hot path goes down the mux
        yield c


async def test_the_api_on_a_tls_redis_is_ready_and_claims_and_submits(
    tls_api: httpx.AsyncClient,
) -> None:
    ready = await tls_api.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    actors = Actors(tls_api)
    _, ngo = await actors.org()
    project = await new_project(tls_api, ngo, redundancy=1)
    sent = await submit(tls_api, ngo, project["id"], [{"payload": translation(0)}])
    assert sent["accepted"] == 1
    _, volunteer = await actors.volunteer()

    claim = await tls_api.post(
        "/v1/assignments", json={"project_id": project["id"]}, headers=volunteer
    )
    assert claim.status_code == 201, claim.text
    assert claim.json()["task"]["payload"] == translation(0)
    submitted = await tls_api.post(
        f"/v1/assignments/{claim.json()['id']}/submit",
        json={"answer": {"text": "Lavez-vous les mains, 0."}, "seconds_spent": 30},
        headers=volunteer,
    )
    assert submitted.status_code == 202, submitted.text

    counts = (await tls_api.get(f"/v1/projects/{project['id']}", headers=ngo)).json()["counts"]
    # Its one answer is in: the task waits for the workers' aggregation (not running here).
    assert (counts["open"], counts["aggregating"]) == (0, 1), counts
