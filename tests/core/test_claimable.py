"""``count_claimable.lua`` ("Find work"): it says a project has a task for a volunteer exactly
when a claim of that project gives them one, reads only, and counts the tasks left for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from core.board.models import BoardPolicy, Claimable, Claimed, GoldPolicy, NewTask
from core.clock import ManualClock
from core.ids import new_volunteer_id
from tests.support.board import TestBoard


def offered(board: TestBoard, project_id: str, volunteer_id: str) -> Claimable:
    return board.run(board.ops.count_claimable(project_id, volunteer_id))


def agrees(board: TestBoard, project_id: str, volunteer_id: str) -> Claimable:
    """What the count says, checked against what a claim right after it does (no gold by chance:
    these projects serve gold only as practice)."""
    said = offered(board, project_id, volunteer_id)
    got = board.claim(project_id, volunteer_id)
    assert said.available == isinstance(got, Claimed), (said, got)
    if isinstance(got, Claimed):
        board.release(got.assignment_id, volunteer_id, "no_time")
    return said


def test_a_task_i_touched_is_not_offered_to_me_again(board: TestBoard) -> None:
    project = board.create_project(BoardPolicy(redundancy=2))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(3)])
    me, other = new_volunteer_id(), new_volunteer_id()
    assert offered(board, project, me) == Claimable(project, True, 3, "")
    for _ in range(3):
        lease = board.claim(project, me)
        assert isinstance(lease, Claimed)
        board.submit(lease.assignment_id, me, {"label": "a"})
    # The three still want a second answer: others are offered them, I am not.
    assert agrees(board, project, me) == Claimable(project, False, 0, "nothing_fits")
    assert offered(board, project, other).tasks_left == 3


def test_past_a_head_of_tasks_i_skipped_the_unclaimed_ones_are_found(
    redis_client: redis.Redis, clock: ManualClock
) -> None:
    board = TestBoard(redis_client, clock=clock, claim_scan_limit=4)
    project = board.create_project(BoardPolicy(redundancy=1))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(6)])
    me = new_volunteer_id()
    for _ in range(4):  # skipped tasks go back to the head of the queue
        lease = board.claim(project, me)
        assert isinstance(lease, Claimed)
        board.release(lease.assignment_id, me, "too_hard")
    said = agrees(board, project, me)
    assert said.available and said.tasks_left == 2
    lease = board.claim(project, me)  # the last one (the check claimed and skipped the other)
    assert isinstance(lease, Claimed)
    board.release(lease.assignment_id, me, "too_hard")
    assert agrees(board, project, me) == Claimable(project, False, 0, "nothing_fits")


def test_paused_closed_and_capped_projects_are_not_offered(
    board: TestBoard, clock: ManualClock
) -> None:
    me = new_volunteer_id()
    project = board.create_project(BoardPolicy(redundancy=1, max_tasks_per_volunteer=1))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(2)])
    board.set_paused(project, True)
    assert agrees(board, project, me).reason == "paused"
    board.set_paused(project, False)
    lease = board.claim(project, me)
    assert isinstance(lease, Claimed)
    assert agrees(board, project, me).reason == "volunteer_cap"
    board.update_project(project, {"deadline_ms": clock.now_ms})
    assert agrees(board, project, new_volunteer_id()).reason == "closed"
    assert offered(board, "prj_0123456789abcdefghjk", me).reason == "no_project"


def test_practice_comes_first_and_counts_only_the_gold_i_never_saw(board: TestBoard) -> None:
    practice = GoldPolicy(qualification_tasks=2, pass_rate=1.0, cooldown_seconds=3600)
    project = board.create_project(BoardPolicy(redundancy=1, gold=practice))
    gold: dict[str, Any] = {"answer": {"label": "a"}, "explanation": None}
    board.create_tasks(project, [NewTask({"g": i}, gold=gold) for i in range(2)])
    me = new_volunteer_id()
    # No real task yet, but practice items: offered (the check claims one and skips it).
    assert agrees(board, project, me).available
    lease = board.claim(project, me)  # the other one
    assert isinstance(lease, Claimed) and lease.gold
    board.release(lease.assignment_id, me, "too_hard")
    assert agrees(board, project, me) == Claimable(project, False, 0, "nothing_fits")


def test_counting_writes_nothing(
    board: TestBoard, store_snapshot: Callable[[], dict[bytes, Any]]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=1))
    board.create_tasks(project, [NewTask({"n": 0})])
    before = store_snapshot()
    assert offered(board, project, new_volunteer_id()).available
    assert store_snapshot() == before
