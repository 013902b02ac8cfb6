"""An organisation's staff from reviewer up review its projects: their review rights
(``P:reviewers``, the set the review scripts check) follow their role, for the projects that
exist and for those created later; down to viewer or off the staff, the rights go."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio

from core.accounts.staff import Role, Staff
from core.accounts.store import new_org_id
from core.board.runner import AsyncBoard
from core.ids import new_volunteer_id
from core.projects.models import ProjectCreate
from core.projects.store import Projects
from core.redis.keys import Keys


def run(redis_url: str, scenario: Callable[[Staff, Projects, Keys], Awaitable[None]]) -> None:
    async def main() -> None:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        keys = Keys(prefix=f"t{new_volunteer_id()[-8:]}:")
        board = AsyncBoard(client, keys=keys)
        try:
            await scenario(Staff(client, keys, board=board), Projects(board, client, keys), keys)
        finally:
            await client.aclose()

    asyncio.run(main())


def spec(name: str) -> ProjectCreate:
    return ProjectCreate.model_validate(
        {"name": name, "task_type": "moderation", "instructions": "Label it."}
    )


def test_review_rights_follow_the_staff_role(redis_url: str, redis_client: redis.Redis) -> None:
    async def scenario(staff: Staff, projects: Projects, keys: Keys) -> None:
        org, owner, person = new_org_id(), new_volunteer_id(), new_volunteer_id()
        first = await projects.create(org, spec("First"))

        def reviewers(project_id: str) -> set[str]:
            return {str(m) for m in redis_client.smembers(keys.project(project_id).reviewers)}

        await staff.add(org, owner, Role.OWNER, by=owner)
        assert owner in reviewers(first.id)  # an owner reviews too
        await staff.add(org, person, Role.VIEWER, by=owner)
        assert person not in reviewers(first.id)  # a viewer only sees
        await staff.set_role(org, person, Role.REVIEWER, by=owner)
        assert person in reviewers(first.id)
        second = await projects.create(org, spec("Second"))
        assert {owner, person} <= reviewers(second.id)  # a new project: the staff's reviewers
        await staff.set_role(org, person, Role.VIEWER, by=owner)
        assert person not in reviewers(first.id) | reviewers(second.id)
        await staff.set_role(org, person, Role.MANAGER, by=owner)
        assert person in reviewers(first.id) & reviewers(second.id)
        await staff.remove(org, person, by=owner)
        assert person not in reviewers(first.id) | reviewers(second.id)
        assert owner in reviewers(first.id) & reviewers(second.id)
        # Another organisation's project is none of theirs.
        other = await projects.create(new_org_id(), spec("Elsewhere"))
        assert owner not in reviewers(other.id)

    run(redis_url, scenario)
