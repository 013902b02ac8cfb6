"""People first (api.interactive): bulk work waits while a person's request is served.

The app runs in-process on a real Redis; a person's request in progress is what the middleware
marks (``PeopleFirst.begin``), here marked by hand so that it lasts as long as the test wants.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from api.interactive import PeopleFirst, PeopleFirstMiddleware
from api.main import create_app
from core.accounts.quotas import Quotas
from core.board.bulk_submission import write_batch
from core.settings import Settings
from task_types import get as get_task_type
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


@dataclass
class Served:
    """The app, its client, an organisation's project, and the app's ``PeopleFirst``."""

    app: FastAPI
    api: httpx.AsyncClient
    org_id: str
    org: dict[str, str]
    project_id: str
    people: PeopleFirst

    def batch(self) -> Any:
        items = [{"payload": translation(i)} for i in range(BATCH)]
        return self.api.post(
            f"/v1/projects/{self.project_id}/tasks", json={"tasks": items}, headers=self.org
        )

    async def open_tasks(self) -> int:
        """Read from the board itself: a request to the API would wait its turn too."""
        board = self.app.state.board
        return int((await board.run(board.ops.counts(self.project_id))).get("open", 0))


@pytest.fixture
async def served(app_and_client: tuple[FastAPI, httpx.AsyncClient]) -> Served:
    app, api = app_and_client
    org_id, org = await Actors(api).org()
    project_id = (await new_project(api, org))["id"]
    return Served(app, api, org_id, org, project_id, app.state.people_first)


async def test_a_bulk_request_waits_to_start_while_a_person_is_served_then_is_written_whole(
    served: Served,
) -> None:
    served.people.patience_s = 60.0  # longer than the test: only the person's leaving lets it go
    served.people.begin()
    try:
        sending = asyncio.ensure_future(served.batch())
        await asyncio.sleep(0.5)
        assert not sending.done(), "the batch went ahead while a person was being served"
        assert await served.open_tasks() == 0  # not one step written
    finally:
        served.people.end()
    sent = await asyncio.wait_for(sending, 60)
    assert sent.status_code == 200, sent.text
    assert sent.json()["accepted"] == BATCH
    assert await served.open_tasks() == BATCH


async def test_bulk_work_waits_its_turn_before_reading_and_before_each_step(
    served: Served,
) -> None:
    """Once a batch is under way (a person arrived after it started), its reading and each of
    its steps still wait their turn: write_batch asks for one before each."""
    state = served.app.state
    written_at_each_turn: list[int] = []

    async def wait_turn() -> None:
        written_at_each_turn.append(await served.open_tasks())

    async def read() -> list[Any]:
        return [{"payload": translation(i)} for i in range(BATCH)]

    outcome = await write_batch(
        board=state.board,
        quotas=Quotas(state.redis, state.keys, state.settings),
        limits=state.limits,
        lanes=state.bulk_lanes,
        org_id=served.org_id,
        project_id=served.project_id,
        task_type=get_task_type("translation"),
        items=read,
        chunk=100,
        wait_turn=wait_turn,
    )
    assert outcome.accepted == BATCH
    # Before the reading, then between the steps of 100, 100 and 50 tasks.
    assert written_at_each_turn == [0, 100, 200]


async def test_people_who_never_stop_coming_slow_bulk_work_but_never_starve_it(
    served: Served,
) -> None:
    served.people.patience_s = 0.02
    served.people.begin()  # a person served for the whole batch
    try:
        sent = await asyncio.wait_for(served.batch(), 60)
    finally:
        served.people.end()
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
