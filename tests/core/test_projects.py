"""The claim index read by volunteer claims: active projects only, best first, cheap."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import redis
import redis.asyncio

from core.board.runner import AsyncBoard
from core.errors import ProjectNotFound
from core.projects.models import ProjectPatch
from core.projects.store import ProjectCreate, Projects, claimable_projects
from core.redis.keys import Keys

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def projects(redis_client: redis.Redis, redis_url: str) -> AsyncIterator[Projects]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    yield Projects(AsyncBoard(client), client, Keys())
    await client.aclose()


def spec(**fields: object) -> ProjectCreate:
    base: dict[str, object] = {"name": "P", "task_type": "moderation", "instructions": "Label it"}
    return ProjectCreate.model_validate({**base, **fields})


async def test_claimable_projects_lists_active_projects_by_priority(projects: Projects) -> None:
    low = await projects.create("org_a", spec(priority=-5, languages=["sw"]))
    high = await projects.create("org_b", spec(priority=50, skills=["medical"]))
    paused = await projects.create("org_a", spec(priority=999))
    await projects.update("org_a", paused.id, ProjectPatch(state="paused"))

    found = await claimable_projects(projects.client, projects.keys)
    assert [p.id for p in found] == [high.id, low.id]
    assert (found[0].skills, found[0].org_id, found[0].task_type) == (
        ["medical"],
        "org_b",
        "moderation",
    )
    assert found[1].languages == ["sw"] and found[1].state == "active"

    await projects.update("org_b", high.id, ProjectPatch(priority=-10))
    assert [p.id for p in await claimable_projects(projects.client, projects.keys)] == [
        low.id,
        high.id,
    ]


async def test_projects_past_their_deadline_are_not_claimable(
    projects: Projects, redis_client: redis.Redis
) -> None:
    project = await projects.create("org_a", spec(deadline="2999-01-01T00:00:00Z"))
    index = Keys().project_index
    summary = json.loads(redis_client.hget(index, project.id) or "{}")
    assert summary["deadline_ms"] > 0
    redis_client.hset(index, project.id, json.dumps({**summary, "deadline_ms": 1}))
    assert await claimable_projects(projects.client, projects.keys) == []


async def test_ownership_is_checked_before_anything_else(projects: Projects) -> None:
    project = await projects.create("org_a", spec())
    assert await projects.require_owned("org_a", project.id) == project.id
    for org_id, project_id in (
        ("org_b", project.id),
        ("org_a", "prj_0123456789abcdefghjk"),
        ("org_a", "{p:x}"),
    ):
        with pytest.raises(ProjectNotFound):
            await projects.require_owned(org_id, project_id)
