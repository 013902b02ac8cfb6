"""The asyncio board runs the very same operations as the synchronous one."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio

from core.board import AsyncBoard, Board, BoardPolicy, Claimed, NewTask
from core.errors import LeaseNotLive
from core.ids import new_volunteer_id


def test_async_board_life_cycle_is_visible_to_the_sync_board(
    redis_url: str, redis_client: redis.Redis
) -> None:
    sync_board = Board(redis_client)

    async def scenario() -> tuple[str, str]:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        board = AsyncBoard(client)
        try:
            project = await board.run(
                board.ops.create_project("prj_" + "a" * 20, BoardPolicy(redundancy=1), None)
            )
            created = await board.run(
                board.ops.create_tasks(project, [NewTask({"n": i}) for i in range(600)])
            )
            assert len(created) == 600
            me = new_volunteer_id()
            lease = await board.run(board.ops.claim(project, me))
            assert isinstance(lease, Claimed)
            await client.script_flush()  # as after a Redis restart: scripts come back by themselves
            await board.run(board.ops.heartbeat(lease.assignment_id, me))
            submitted = await board.run(board.ops.submit(lease.assignment_id, me, {"a": 1}, 3.0))
            assert submitted.complete
            with pytest.raises(LeaseNotLive):
                await board.run(board.ops.release(lease.assignment_id, me, "late"))
            assert [pid async for pid in board.project_ids()] == [project]
            return project, lease.task_id
        finally:
            await client.aclose()

    project, task_id = asyncio.run(scenario())
    assert sync_board.get_task(project, task_id).state == "aggregating"
    assert sync_board.counts(project) == {"open": 599, "collecting": 0, "aggregating": 1}
