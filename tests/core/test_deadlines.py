"""Deadline expiry on the real scripts, with a manual clock: nothing before the deadline; from it,
claims and new tasks are refused, the project closes, live leases end and every task still
waiting for answers expires, in bounded batches, exactly once, even with two sweepers racing;
tasks whose answers are in are left to finish, and a sweep with nothing to do writes nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from core.board.runner import (
    BoardPolicy,
    Claimed,
    NewTask,
    NothingToClaim,
    ReviewClaimed,
    ReviewDecision,
)
from core.clock import ManualClock
from core.errors import LeaseNotLive, ProjectClosed
from core.ids import new_project_id, new_volunteer_id
from core.projects.deadlines import expire_deadline, sweep_deadlines
from core.settings import Settings
from tests.support.board import TestBoard
from tests.support.streams import entries
from workers.scheduler import reap

Snapshot = Callable[[], dict[bytes, Any]]
HOUR_MS = 3_600_000


def project_with_deadline(
    board: TestBoard, clock: ManualClock, n_tasks: int, *, redundancy: int = 1, in_ms: int = HOUR_MS
) -> tuple[str, list[str]]:
    """A project whose deadline is ``in_ms`` from now, with ``n_tasks`` tasks."""
    project = board.create_project(BoardPolicy(redundancy=redundancy, max_attempts=1))
    board.update_project(project, {"deadline_ms": clock.now_ms + in_ms})
    created = board.create_tasks(project, [NewTask({"n": i}) for i in range(n_tasks)])
    return project, [task.task_id for task in created]


def claim(board: TestBoard, project: str, volunteer: str | None = None) -> Claimed:
    lease = board.claim(project, volunteer or new_volunteer_id())
    assert isinstance(lease, Claimed)
    return lease


def states(board: TestBoard, project: str, task_ids: list[str]) -> list[str]:
    return [board.get_task(project, task_id).state for task_id in task_ids]


def answer(board: TestBoard, lease: Claimed) -> None:
    board.submit(lease.assignment_id, board.assignment(lease.assignment_id)["vol"], {"x": 1})


def events(board: TestBoard, project: str, kind: str) -> list[dict[str, str]]:
    stream = board.keys.project(project).events
    return [fields for _, fields in entries(board.client, stream) if fields["type"] == kind]


def test_nothing_happens_before_the_deadline(
    board: TestBoard, clock: ManualClock, store_snapshot: Snapshot
) -> None:
    project, _ = project_with_deadline(board, clock, 3)
    clock.advance(3599.999)
    before = store_snapshot()

    sweep = expire_deadline(board, project)

    assert not sweep.due and not sweep.expired
    assert store_snapshot() == before
    assert isinstance(board.claim(project, new_volunteer_id()), Claimed)


def test_a_project_without_deadline_is_never_swept(
    board: TestBoard, clock: ManualClock, make_project: Callable[..., str], store_snapshot: Snapshot
) -> None:
    make_project(5)
    clock.advance(10 * 365 * 86_400)
    before = store_snapshot()

    totals = sweep_deadlines(board)

    assert (totals.closed, totals.expired, totals.pending) == (0, 0, 0)
    assert store_snapshot() == before


def test_at_the_deadline_waiting_tasks_expire_and_the_project_closes(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis
) -> None:
    project, tasks = project_with_deadline(board, clock, 4, redundancy=2)
    claim(board, project)  # task 0 (closest to completion first): collecting, live lease
    clock.advance(3600)  # exactly the deadline

    sweep = expire_deadline(board, project)

    assert sweep.due and sweep.newly_closed and not sweep.more
    assert sorted(sweep.expired) == tasks
    assert states(board, project, tasks) == ["expired"] * 4
    counts = board.counts(project)
    assert counts["expired"] == 4
    assert counts.get("open", 0) == counts.get("collecting", 0) == 0
    pk = board.keys.project(project)
    assert redis_client.hget(pk.project, "state") == "closed"
    assert redis_client.zcard(pk.ready) == 0
    [closed] = events(board, project, "project.closed")
    assert closed["reason"] == "deadline"
    [expired] = events(board, project, "tasks.expired")
    assert expired["count"] == "4"
    assert sorted(expired["tasks"].split(",")) == tasks


def test_claims_and_new_tasks_are_refused_from_the_deadline_even_before_a_sweep(
    board: TestBoard, clock: ManualClock, store_snapshot: Snapshot
) -> None:
    project, _ = project_with_deadline(board, clock, 2)
    clock.advance(3600)
    before = store_snapshot()

    assert board.claim(project, new_volunteer_id()) == NothingToClaim("closed")
    with pytest.raises(ProjectClosed):
        board.create_tasks(project, [NewTask({"n": 99}, external_id="late")])

    assert store_snapshot() == before  # refusals write nothing


def test_tasks_with_their_answers_in_are_left_to_finish(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis
) -> None:
    project, tasks = project_with_deadline(board, clock, 6)
    reviewer = new_volunteer_id()
    redis_client.sadd(board.keys.project(project).reviewers, reviewer)
    # t0 resolved by a reviewer, t1 rejected, t2 in review, t3 aggregating, t4 stalled, t5 open.
    for _ in range(4):
        answer(board, claim(board, project))
    for task_id in tasks[:3]:
        assert board.open_review(project, task_id, "disagreement")
    for task_id, decision in (
        (tasks[0], ReviewDecision("correct", answer={"x": 2})),
        (tasks[1], ReviewDecision("reject")),
    ):
        review = board.claim_review(project, reviewer)
        assert isinstance(review, ReviewClaimed) and review.task_id == task_id
        board.decide_review(review.review_id, reviewer, decision)
    stalled = claim(board, project)  # t4; max_attempts=1: one expired lease stalls it
    clock.advance(601)
    board.expire_leases(project)
    assert board.get_task(project, stalled.task_id).state == "stalled"
    before = states(board, project, tasks)
    assert before == ["resolved", "rejected", "in_review", "aggregating", "stalled", "open"]
    clock.advance(3600)

    sweep = expire_deadline(board, project)

    assert sorted(sweep.expired) == tasks[4:]
    assert states(board, project, tasks) == [*before[:4], "expired", "expired"]


def test_live_leases_end_with_the_deadline_and_their_slots_are_given_back(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis
) -> None:
    project, tasks = project_with_deadline(board, clock, 2, redundancy=3)
    volunteer = new_volunteer_id()
    lease = claim(board, project, volunteer)
    others = [claim(board, project) for _ in range(2)]
    live_key = board.keys.volunteer_live(volunteer)
    redis_client.zadd(live_key, {lease.assignment_id: lease.expires_at_ms})
    clock.advance(3600)

    sweep = expire_deadline(board, project)

    assert sorted(sweep.ended) == sorted(
        (one.assignment_id, board.assignment(one.assignment_id)["vol"]) for one in [lease, *others]
    )
    record = board.assignment(lease.assignment_id)
    assert (record["state"], record["why"]) == ("expired", "deadline")
    assert redis_client.zcard(live_key) == 0
    assert redis_client.zcard(board.keys.project(project).leases) == 0
    assert all(board.get_task(project, t).live == 0 for t in tasks)
    with pytest.raises(LeaseNotLive):
        board.submit(lease.assignment_id, volunteer, {"x": 1})
    [ended] = events(board, project, "assignments.ended")
    assert ended["count"] == "3"
    # The answer could not revive the task, and a late sweep of the old lease changes nothing.
    assert board.expire_leases(project) == []
    assert states(board, project, tasks) == ["expired", "expired"]


def test_a_big_project_expires_in_bounded_batches(board: TestBoard, clock: ManualClock) -> None:
    project, _ = project_with_deadline(board, clock, 1_200)
    clock.advance(3600)

    sweeps = [expire_deadline(board, project, limit=500) for _ in range(3)]

    assert [len(s.expired) for s in sweeps] == [500, 500, 200]
    assert [s.more for s in sweeps] == [True, True, False]
    assert [s.newly_closed for s in sweeps] == [True, False, False]
    assert board.counts(project)["expired"] == 1_200


def test_a_second_sweep_changes_nothing_and_writes_nothing(
    board: TestBoard, clock: ManualClock, store_snapshot: Snapshot
) -> None:
    project, _ = project_with_deadline(board, clock, 30)
    claim(board, project)
    clock.advance(7200)
    first = expire_deadline(board, project)
    after_first = store_snapshot()

    second = expire_deadline(board, project)

    assert len(first.expired) == 30
    assert second.due and not second.expired and not second.ended and not second.newly_closed
    assert store_snapshot() == after_first


def test_a_task_sent_back_for_answers_after_the_pass_expires_on_the_next_sweep(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis
) -> None:
    project, tasks = project_with_deadline(board, clock, 1)
    answer(board, claim(board, project))
    assert board.open_review(project, tasks[0], "disagreement")
    clock.advance(3600)
    assert expire_deadline(board, project).expired == []  # in review: left to finish
    reviewer = new_volunteer_id()
    redis_client.sadd(board.keys.project(project).reviewers, reviewer)
    review = board.claim_review(project, reviewer)
    assert isinstance(review, ReviewClaimed)
    board.decide_review(review.review_id, reviewer, ReviewDecision("reopen"))
    assert board.get_task(project, tasks[0]).state == "collecting"

    assert expire_deadline(board, project).expired == tasks
    assert board.get_task(project, tasks[0]).state == "expired"


def test_two_sweepers_racing_expire_every_task_exactly_once(
    board: TestBoard, clock: ManualClock, redis_url: str
) -> None:
    projects = [project_with_deadline(board, clock, 300)[0] for _ in range(4)]
    for project in projects:
        for _ in range(10):
            claim(board, project)
    clock.advance(3600)
    start = threading.Barrier(2)

    def sweeper() -> list[int]:
        own = TestBoard(redis.Redis.from_url(redis_url, decode_responses=True), clock=clock)
        start.wait()
        done = []
        for _ in range(12):
            totals = sweep_deadlines(own, limit_per_project=37)
            done.append(totals.expired)
        own.client.close()
        return done

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: sweeper(), range(2)))

    assert sum(map(sum, results)) == 4 * 300
    for project in projects:
        assert board.counts(project)["expired"] == 300
        announced = [
            task_id
            for fields in events(board, project, "tasks.expired")
            for task_id in fields["tasks"].split(",")
        ]
        assert sorted(announced) == sorted(set(announced)) and len(announced) == 300
        assert len(events(board, project, "project.closed")) == 1
        leases = events(board, project, "assignments.ended")
        assert sum(int(fields["count"]) for fields in leases) == 10


def test_an_indexed_project_without_keys_is_harmless(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis
) -> None:
    redis_client.sadd(board.keys.projects, new_project_id())
    project_with_deadline(board, clock, 2)
    clock.advance(3600)

    totals = sweep_deadlines(board)

    assert (totals.closed, totals.expired) == (1, 2)


def test_the_scheduler_tick_expires_tasks_past_their_deadline(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis
) -> None:
    project, tasks = project_with_deadline(board, clock, 3)
    redis_client.hset(board.keys.project_index, project, json.dumps({"state": "active"}))
    clock.advance(3600)

    reap(board, Settings())

    assert states(board, project, tasks) == ["expired"] * 3
    assert not redis_client.hexists(board.keys.project_index, project)  # out of the claim index
