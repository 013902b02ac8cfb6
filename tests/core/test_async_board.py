"""The asyncio board runs the very same operations as the synchronous one, with or without the
multiplexed connection the API gives it (core.redis.mux)."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio

from core.board.runner import MUX_COMMANDS, AsyncBoard, BoardPolicy, Claimed, NewTask
from core.errors import LeaseNotLive
from core.ids import new_volunteer_id
from core.redis.mux import MuxRedis
from tests.support.board import TestBoard


@pytest.mark.parametrize("multiplexed", [False, True], ids=["redis-py", "mux"])
def test_async_board_life_cycle_is_visible_to_the_sync_board(
    redis_url: str, redis_client: redis.Redis, multiplexed: bool
) -> None:
    sync_board = TestBoard(redis_client)

    async def scenario() -> tuple[str, str]:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        mux = MuxRedis(redis_url) if multiplexed else None
        board = AsyncBoard(client, mux=mux)
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
            if mux is not None:
                await mux.aclose()
            await client.aclose()

    project, task_id = asyncio.run(scenario())
    assert sync_board.get_task(project, task_id).state == "aggregating"
    assert sync_board.counts(project) == {"open": 599, "collecting": 0, "aggregating": 1}


# Each command the board may send down the mux, in the situations its replies differ in: the mux
# shapes no reply, so each must come back from it exactly as from redis-py.
MUX_CASES: list[tuple[str, ...]] = [
    ("HGET", "h", "a"),
    ("HGET", "h", "missing"),
    ("HMGET", "h", "a", "missing", "b"),
    ("ZADD", "z", "5", "m"),
    ("ZADD", "z", "XX", "7", "m"),
    ("ZADD", "z", "XX", "7", "absent"),
    ("ZREM", "z", "m"),
    ("ZREM", "z", "absent"),
    ("EVALSHA", "<sha>", "1", "h", "x"),
]
PROBE = "return {'ok', 12, redis.call('HGET', KEYS[1], 'a'), false, {ARGV[1], 3}}"


def test_what_goes_down_the_mux_comes_back_as_from_redis_py(
    redis_url: str, redis_client: redis.Redis
) -> None:
    assert {case[0] for case in MUX_CASES} == MUX_COMMANDS  # a new command needs its cases

    async def replies(multiplexed: bool) -> list[object]:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        mux = MuxRedis(redis_url) if multiplexed else None
        board = AsyncBoard(client, mux=mux)
        sha = await client.script_load(PROBE)
        await client.delete("h", "z")
        await client.hset("h", mapping={"a": "1", "b": "é"})
        try:
            cases = [tuple(sha if arg == "<sha>" else arg for arg in case) for case in MUX_CASES]
            return [(await board._send([case]))[0] for case in cases]
        finally:
            if mux is not None:
                await mux.aclose()
            await client.aclose()

    assert asyncio.run(replies(True)) == asyncio.run(replies(False))
