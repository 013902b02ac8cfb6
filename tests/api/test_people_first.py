"""People first (api.interactive): bulk work waits while a person's request is served.

The app runs in-process on a real Redis; a person's request in progress is what the middleware
marks (``PeopleFirst.begin``), here marked by hand so that it lasts as long as the test wants.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from api.interactive import PeopleFirst, PeopleFirstMiddleware
from api.main import create_app
from core.settings import Settings
from tests.support.api.client import ADMIN_TOKEN, Actors
from tests.support.api.ngo import new_project, translation

pytestmark = pytest.mark.anyio

# Three steps of the default 100 tasks each.
BATCH = 250


@pytest.fixture
async def app_and_client(
    redis_client: object, redis_url: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ruche") as c,
    ):
        yield app, c


async def _project(api: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    _, org = await Actors(api).org()
    return (await new_project(api, org))["id"], org


def _batch(api: httpx.AsyncClient, org: dict[str, str], project_id: str) -> Any:
    items = [{"payload": translation(i)} for i in range(BATCH)]
    return api.post(f"/v1/projects/{project_id}/tasks", json={"tasks": items}, headers=org)


async def test_a_bulk_batch_waits_while_a_person_is_served_then_is_written_whole(
    app_and_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, api = app_and_client
    project_id, org = await _project(api)
    people: PeopleFirst = app.state.people_first
    people.patience_s = 60.0  # longer than the test: only the person's leaving lets it go
    people.begin()
    try:
        sending = asyncio.ensure_future(_batch(api, org, project_id))
        await asyncio.sleep(0.5)
        assert not sending.done(), "the batch went ahead while a person was being served"
        # Read from the board itself: a request to the API would wait its turn too.
        counts = await app.state.board.run(app.state.board.ops.counts(project_id))
        assert counts.get("open", 0) == 0, counts  # not one step written
    finally:
        people.end()
    sent = await asyncio.wait_for(sending, 60)
    assert sent.status_code == 200, sent.text
    assert sent.json()["accepted"] == BATCH
    counted = await api.get(f"/v1/projects/{project_id}", headers=org)
    assert counted.json()["counts"]["open"] == BATCH


async def test_people_who_never_stop_coming_slow_bulk_work_but_never_starve_it(
    app_and_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, api = app_and_client
    project_id, org = await _project(api)
    people: PeopleFirst = app.state.people_first
    people.patience_s = 0.02
    people.begin()  # a person served for the whole batch
    try:
        sent = await asyncio.wait_for(_batch(api, org, project_id), 60)
    finally:
        people.end()
    assert sent.status_code == 200, sent.text
    assert sent.json()["accepted"] == BATCH


async def test_wait_turn_returns_at_once_when_nobody_is_served_and_when_the_last_one_leaves() -> (
    None
):
    people = PeopleFirst(patience_s=60.0)
    await asyncio.wait_for(people.wait_turn(), 5)  # nobody: no wait
    people.begin()
    people.begin()
    waiting = asyncio.ensure_future(people.wait_turn())
    people.end()
    await asyncio.sleep(0.05)
    assert not waiting.done()  # one person is still served
    people.end()
    await asyncio.wait_for(waiting, 5)
    assert people.serving == 0


@pytest.mark.parametrize(
    ("path", "a_persons"),
    [
        ("/v1/assignments", True),
        ("/v1/assignments/asg_1/submit", True),
        ("/v1/reviews", True),
        ("/v1/me", True),
        ("/v1/me/assignments", True),
        ("/work", True),
        ("/work/a/asg_1", True),
        ("/review/rev_1", True),
        ("/workshop", False),
        ("/v1/projects/prj_1/tasks", False),
        ("/v1/volunteers", False),
        ("/ngo/projects/prj_1/data", False),
    ],
)
async def test_the_middleware_counts_a_persons_request_while_it_is_served(
    path: str, a_persons: bool
) -> None:
    people = PeopleFirst()
    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(people.serving)
        raise RuntimeError("the route failed")

    middleware = PeopleFirstMiddleware(app, people)
    scope = {"type": "http", "path": path, "method": "POST", "headers": []}
    with pytest.raises(RuntimeError):
        await middleware(scope, _never_called, _never_called)
    assert seen == [1 if a_persons else 0]
    assert people.serving == 0  # counted out even when the route raised


async def _never_called(*_: object) -> Any:
    raise AssertionError("not expected")


@pytest.mark.parametrize(
    ("path", "waits"),
    [
        ("/v1/projects/prj_1/tasks", True),
        ("/v1/volunteers", True),
        ("/ngo/projects", True),
        ("/readyz", False),
        ("/healthz", False),
        ("/metrics", False),
        ("/v1/assignments", False),
    ],
)
async def test_other_requests_wait_while_a_person_is_served_but_probes_and_people_do_not(
    path: str, waits: bool
) -> None:
    people = PeopleFirst(patience_s=60.0)
    reached = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.set()

    middleware = PeopleFirstMiddleware(app, people)
    people.begin()  # a person's request in progress
    scope = {"type": "http", "path": path, "method": "GET", "headers": []}
    serving = asyncio.ensure_future(middleware(scope, _never_called, _never_called))
    await asyncio.sleep(0.2)
    assert reached.is_set() is not waits
    people.end()
    await asyncio.wait_for(serving, 5)
    assert reached.is_set()
