"""Project edits racing each other and the deadline close, on the real scripts.

An edit is a read-merge-write; the project hash's revision (``doc_rev``) makes the write refuse
when the project moved on since the read, and the edit then reads and merges again. These tests
force the interleavings that used to lose an edit or reopen a closed project (another write
between an edit's read and its write), then hammer ``Projects.update`` from threads with clients
of their own; and they check that claim-index writes finishing out of order leave the entry of
the newest revision.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio

from core.board.operations import Op, ScriptCall
from core.board.runner import AsyncBoard, BoardPolicy
from core.clock import ManualClock
from core.errors import ProjectClosed, ProjectEdited
from core.projects.deadlines import expire_deadline
from core.projects.models import ProjectPatch
from core.projects.store import EDIT_ATTEMPTS, Project, ProjectCreate, Projects
from core.redis.keys import Keys
from core.redis.scripts import ScriptName
from tests.support.board import TestBoard
from tests.support.project_edits import EDITS, applied, far_deadline

pytestmark = pytest.mark.anyio
T = TypeVar("T")
ORG = "org_a"
Hook = Callable[[], Awaitable[None]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class BoardWithInterloper(AsyncBoard):
    """A board that runs ``hook`` just before the next project write, once: what another request
    (or the scheduler) doing its write between this edit's read and its write looks like."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        super().__init__(client)
        self.hook: Hook | None = None

    async def run(self, op: Op[T]) -> T:
        if isinstance(op, ScriptCall) and op.script is ScriptName.UPDATE_PROJECT and self.hook:
            hook, self.hook = self.hook, None
            await hook()
        return await super().run(op)


class IndexWithInterloper(Projects):
    """Projects that run ``hook`` just before their next claim-index write, once."""

    hook: Hook | None = None

    async def write_index(self, project_id: str, summary: str | None, revision: int) -> bool:
        if self.hook:
            hook, self.hook = self.hook, None
            await hook()
        return await super().write_index(project_id, summary, revision)


@pytest.fixture
async def client(redis_client: redis.Redis, redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    connection = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    await connection.aclose()


@pytest.fixture
def projects(client: redis.asyncio.Redis) -> Projects:
    return Projects(AsyncBoard(client), client, Keys())


def spec(**fields: Any) -> ProjectCreate:
    base: dict[str, Any] = {"name": "P", "task_type": "moderation", "instructions": "Label it"}
    return ProjectCreate.model_validate({**base, **fields})


def close_now(redis_client: redis.Redis, project_id: str) -> None:
    """The scheduler's deadline step, two days on (every test deadline is a day away)."""
    later = ManualClock(time.time_ns() // 1_000_000 + 2 * 86_400_000)
    assert expire_deadline(TestBoard(redis_client, clock=later), project_id).newly_closed


def indexed(redis_client: redis.Redis, project_id: str) -> dict[str, Any] | None:
    raw = redis_client.hget(Keys().project_index, project_id)
    return None if raw is None else dict(json.loads(raw))


async def test_an_edit_made_between_another_edits_read_and_write_is_kept(
    projects: Projects, client: redis.asyncio.Redis
) -> None:
    project = await projects.create(ORG, spec())
    board = BoardWithInterloper(client)
    slow = Projects(board, client, Keys())

    async def other_edit() -> None:
        await projects.update(ORG, project.id, ProjectPatch(priority=7))

    board.hook = other_edit
    edited = await slow.update(ORG, project.id, ProjectPatch(instructions="Be kind"))

    assert (edited.priority, edited.instructions) == (7, "Be kind")
    assert (await projects.get(ORG, project.id)).priority == 7


async def test_an_edit_read_before_the_deadline_close_does_not_reopen_the_project(
    projects: Projects, client: redis.asyncio.Redis, redis_client: redis.Redis
) -> None:
    for change in (ProjectPatch(state="active"), ProjectPatch(state="paused")):
        project = await projects.create(ORG, spec(deadline=far_deadline(days=1)))
        board = BoardWithInterloper(client)

        async def close(project_id: str = project.id) -> None:
            close_now(redis_client, project_id)

        board.hook = close
        with pytest.raises(ProjectClosed):
            await Projects(board, client, Keys()).update(ORG, project.id, change)

        assert (await projects.get(ORG, project.id)).state == "closed"
        assert indexed(redis_client, project.id) is None


async def test_an_edit_of_other_fields_racing_the_close_applies_and_leaves_it_closed(
    projects: Projects, client: redis.asyncio.Redis, redis_client: redis.Redis
) -> None:
    project = await projects.create(ORG, spec(deadline=far_deadline(days=1)))
    board = BoardWithInterloper(client)

    async def close() -> None:
        close_now(redis_client, project.id)

    board.hook = close
    edited = await Projects(board, client, Keys()).update(ORG, project.id, ProjectPatch(name="Z"))

    assert (edited.state, edited.name) == ("closed", "Z")
    assert indexed(redis_client, project.id) is None


async def test_a_claim_index_write_landing_after_the_close_is_put_right(
    projects: Projects, client: redis.asyncio.Redis, redis_client: redis.Redis
) -> None:
    """The edit's project write comes first, then the close (and its index removal), then the
    edit's own index write, from the revision before the close: the edit sees the project moved
    on and writes what it is now."""
    project = await projects.create(ORG, spec(deadline=far_deadline(days=1)))
    late = IndexWithInterloper(AsyncBoard(client), client, Keys())

    async def close() -> None:
        close_now(redis_client, project.id)

    late.hook = close
    await late.update(ORG, project.id, ProjectPatch(priority=5))

    assert (await projects.get(ORG, project.id)).state == "closed"
    assert indexed(redis_client, project.id) is None


async def test_a_claim_index_write_landing_after_a_pause_is_put_right(
    projects: Projects, client: redis.asyncio.Redis, redis_client: redis.Redis
) -> None:
    project = await projects.create(ORG, spec())
    late = IndexWithInterloper(AsyncBoard(client), client, Keys())

    async def pause() -> None:
        await projects.update(ORG, project.id, ProjectPatch(state="paused"))

    late.hook = pause
    await late.update(ORG, project.id, ProjectPatch(priority=5))

    fetched = await projects.get(ORG, project.id)
    assert (fetched.state, fetched.priority) == ("paused", 5)
    assert indexed(redis_client, project.id) is None


async def test_index_writes_out_of_order_leave_the_newest_entry(
    projects: Projects, redis_client: redis.Redis
) -> None:
    project = await projects.create(ORG, spec())
    newer, older = json.dumps({"rev": 5, "task_type": "moderation"}), json.dumps({"rev": 4})

    assert await projects.write_index(project.id, newer, 5)
    assert not await projects.write_index(project.id, older, 4)  # an older set
    assert not await projects.write_index(project.id, None, 4)  # an older removal
    assert indexed(redis_client, project.id) == {"rev": 5, "task_type": "moderation"}

    assert await projects.write_index(project.id, None, 6)  # a newer removal
    assert indexed(redis_client, project.id) is None
    assert await projects.write_index(project.id, older, 4)  # no entry to compare with: set
    assert indexed(redis_client, project.id) == {"rev": 4}


async def test_an_edit_losing_every_round_is_refused_and_changes_nothing(
    projects: Projects, client: redis.asyncio.Redis
) -> None:
    project = await projects.create(ORG, spec())
    board = BoardWithInterloper(client)
    rounds = 0

    async def interrupt() -> None:
        nonlocal rounds
        rounds += 1
        await projects.update(ORG, project.id, ProjectPatch(priority=rounds))
        if rounds < EDIT_ATTEMPTS:
            board.hook = interrupt

    board.hook = interrupt
    with pytest.raises(ProjectEdited) as refused:
        await Projects(board, client, Keys()).update(ORG, project.id, ProjectPatch(name="Lost"))

    assert (refused.value.status, refused.value.code) == (409, "conflict")
    fetched = await projects.get(ORG, project.id)
    assert (fetched.name, fetched.priority) == ("P", EDIT_ATTEMPTS)


def test_a_closed_project_stays_closed_whoever_writes_its_state(
    redis_client: redis.Redis,
) -> None:
    clock = ManualClock()
    board = TestBoard(redis_client, clock=clock)
    project = board.create_project(BoardPolicy())
    board.update_project(project, {"deadline_ms": clock.now_ms})
    assert expire_deadline(board, project).newly_closed
    with pytest.raises(ProjectClosed):
        board.set_paused(project, False)
    with pytest.raises(ProjectClosed):
        board.update_project(project, {"state": "active"})
    assert redis_client.hget(Keys().project(project).project, "state") == "closed"


async def with_projects(redis_url: str, use: Callable[[Projects], Awaitable[T]]) -> T:
    """``use`` given Projects over a Redis client of its own (closed afterwards)."""
    connection = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        return await use(Projects(AsyncBoard(connection), connection, Keys()))
    finally:
        await connection.aclose()


def edit_from_threads(redis_url: str, project_id: str) -> dict[str, str]:
    """Every edit of ``EDITS`` at once, one thread (own event loop, own client) each; how each
    ended: "applied" or "refused"."""
    start = threading.Barrier(len(EDITS))
    outcomes: dict[str, str] = {}

    def edit(field: str, value: Any) -> None:
        async def use(mine: Projects) -> None:
            await mine.get(ORG, project_id)  # connected and scripts loaded before the start
            start.wait()
            try:
                await mine.update(ORG, project_id, ProjectPatch.model_validate({field: value}))
                outcomes[field] = "applied"
            except ProjectEdited:
                outcomes[field] = "refused"

        asyncio.run(with_projects(redis_url, use))

    threads = [threading.Thread(target=edit, args=item) for item in EDITS.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_threads_with_their_own_clients_editing_distinct_fields_lose_none(
    redis_client: redis.Redis, redis_url: str
) -> None:
    """All edits released at once on each of a few projects: every edit is in the project, or
    was refused (409) and is not; the claim index holds the project's latest revision."""
    for _ in range(5):

        async def create(mine: Projects) -> str:
            return (await mine.create(ORG, spec())).id

        project_id = asyncio.run(with_projects(redis_url, create))
        outcomes = edit_from_threads(redis_url, project_id)

        async def read(mine: Projects, project_id: str = project_id) -> Project:
            return await mine.get(ORG, project_id)

        final = asyncio.run(with_projects(redis_url, read))
        assert len(outcomes) == len(EDITS)
        for field, value in EDITS.items():
            assert applied(final, field, value) == (outcomes[field] == "applied"), field
        entry = indexed(redis_client, project_id)
        revision = redis_client.hget(Keys().project(project_id).project, "doc_rev")
        assert entry is not None and entry["rev"] == int(revision or 0)
        assert entry["priority"] == final.priority
