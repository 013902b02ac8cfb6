"""The API's in-process copy of the claim index and project documents (core.projects.catalogue),
and ``AsyncBoard.run_then`` which the claim path uses to save round trips."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio

from core.accounts.store import new_org_id
from core.board.runner import AsyncBoard, BoardPolicy, Claimed, NewTask
from core.errors import LeaseNotLive
from core.ids import new_volunteer_id
from core.projects.catalogue import ProjectCatalogue
from core.projects.models import ProjectCreate, ProjectPatch
from core.projects.store import Projects
from core.redis.keys import Keys

T = TypeVar("T")


class Tick:
    """A manual monotonic clock for the catalogue's time-to-live."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(redis_url: str, scenario: Callable[..., Awaitable[T]]) -> T:
    async def main() -> T:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        keys = Keys(prefix=f"t{new_volunteer_id()[-8:]}:")
        board = AsyncBoard(client, keys=keys)
        try:
            return await scenario(client, keys, board)
        finally:
            await client.aclose()

    return asyncio.run(main())


def spec(name: str = "Forum moderation", **extra: Any) -> ProjectCreate:
    return ProjectCreate.model_validate(
        {"name": name, "task_type": "moderation", "instructions": "Label it.", **extra}
    )


def test_a_write_elsewhere_is_seen_after_the_ttl_and_one_through_this_process_at_once(
    redis_url: str,
) -> None:
    async def scenario(client: redis.asyncio.Redis, keys: Keys, board: AsyncBoard) -> None:
        tick = Tick()
        catalogue = ProjectCatalogue(client, keys, board, ttl_seconds=1.0, clock=tick)
        projects = Projects(board, client, keys)
        org = new_org_id()
        first = await projects.create(org, spec())
        assert [card.id for card in await catalogue.claimable()] == [first.id]

        # Another process takes the project out of the index: within the TTL, the copy holds.
        await client.hdel(keys.project_index, first.id)
        assert [card.id for card in await catalogue.claimable()] == [first.id]
        tick.now += 1.0
        assert await catalogue.claimable() == []

        # A project created through this process is visible to the very next claim.
        second = await projects.create(org, spec("Second"))
        assert [card.id for card in await catalogue.claimable()] == [second.id]
        # ...and so is a pause, and an edit of the instructions.
        assert (await catalogue.document(second.id))["instructions"] == "Label it."
        await projects.update(
            org, second.id, ProjectPatch.model_validate({"instructions": "Label it, gently."})
        )
        assert (await catalogue.document(second.id))["instructions"] == "Label it, gently."
        await projects.update(org, second.id, ProjectPatch.model_validate({"state": "paused"}))
        assert await catalogue.claimable() == []

    run(redis_url, scenario)


def test_without_a_ttl_every_call_reads_redis(redis_url: str) -> None:
    async def scenario(client: redis.asyncio.Redis, keys: Keys, board: AsyncBoard) -> None:
        catalogue = ProjectCatalogue(client, keys, board, ttl_seconds=0.0, clock=Tick())
        created = await Projects(board, client, keys).create(new_org_id(), spec())
        assert len(await catalogue.claimable()) == 1
        await client.hdel(keys.project_index, created.id)
        assert await catalogue.claimable() == []

    run(redis_url, scenario)


def test_run_then_runs_the_commands_even_when_the_script_refuses(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async def scenario(client: redis.asyncio.Redis, keys: Keys, board: AsyncBoard) -> None:
        project = await board.run(
            board.ops.create_project("prj_" + "c" * 20, BoardPolicy(redundancy=1), None)
        )
        await board.run(board.ops.create_tasks(project, [NewTask({"n": 1})]))
        me = new_volunteer_id()
        lease = await board.run(board.ops.claim(project, me))
        assert isinstance(lease, Claimed)
        slot_key = keys.volunteer_live(me)
        await client.zadd(slot_key, {lease.assignment_id: lease.expires_at_ms})

        await client.script_flush()  # the script cache lost: the call is resent, once
        submitted, _ = await board.run_then(
            board.ops.submit(lease.assignment_id, me, {"a": 1}, None),
            board.ops.drop_slot(me, lease.assignment_id),
        )
        assert submitted.complete
        assert await client.zcard(slot_key) == 0
        answers = await client.hlen(keys.project(project).answers)

        # Refused (the lease is spent): the slot commands still ran, the refusal is raised.
        await client.zadd(slot_key, {lease.assignment_id: lease.expires_at_ms})
        with pytest.raises(LeaseNotLive):
            await board.run_then(
                board.ops.submit(lease.assignment_id, me, {"a": 2}, None),
                board.ops.drop_slot(me, lease.assignment_id),
            )
        assert await client.zcard(slot_key) == 0
        assert await client.hlen(keys.project(project).answers) == answers

    run(redis_url, scenario)
