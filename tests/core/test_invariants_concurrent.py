"""DESIGN.md invariants 1-3, proven under real concurrency on a real Redis.

1. A task never has more live-or-submitted assignments than its redundancy.
2. A volunteer never holds two assignments on the same task.
3. An expired or released lease returns its slot exactly once; a submission on a dead lease is
   refused and changes nothing.
Each thread has its own connection from the pool, so Redis really interleaves the scripts.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from core.board.runner import BoardPolicy, Claimed, NewTask
from core.clock import ManualClock
from core.errors import LeaseNotLive
from core.ids import new_volunteer_id
from tests.support.board import TestBoard


def assignments_by_task(
    client: redis.Redis, board: TestBoard, project: str
) -> dict[str, list[dict[str, Any]]]:
    records = client.hgetall(board.keys.project(project).assignments)  # one atomic read
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for raw in records.values():
        record = json.loads(raw)
        by_task[record["task"]].append(record)
    return by_task


def test_hundred_volunteers_racing_for_one_task_of_redundancy_three(
    redis_client: redis.Redis,
) -> None:
    board = TestBoard(redis_client)
    project = board.create_project(BoardPolicy(redundancy=3))
    [task] = board.create_tasks(project, [NewTask({"text": "one task"})])
    volunteers = [new_volunteer_id() for _ in range(100)]
    start = threading.Barrier(100)

    def race(volunteer: str) -> Claimed | None:
        start.wait()
        outcome = board.claim(project, volunteer)
        return outcome if isinstance(outcome, Claimed) else None

    with ThreadPoolExecutor(max_workers=100) as pool:
        outcomes = list(pool.map(race, volunteers))
    winners = [o for o in outcomes if o is not None]
    assert len(winners) == 3
    assert {w.task_id for w in winners} == {task.task_id}
    assert len({w.assignment_id for w in winners}) == 3
    view = board.get_task(project, task.task_id)
    assert (view.live, view.answers) == (3, 0)
    by_task = assignments_by_task(redis_client, board, project)
    assert len(by_task[task.task_id]) == 3


def test_fifty_claimers_drain_a_thousand_tasks_while_sweepers_expire_leases(
    redis_client: redis.Redis,
) -> None:
    clock = ManualClock()
    board = TestBoard(redis_client, clock=clock)
    redundancy = 3
    project = board.create_project(
        BoardPolicy(redundancy=redundancy, lease_seconds=20, max_attempts=0)
    )
    created = board.create_tasks(project, [NewTask({"n": i}) for i in range(1000)])
    task_ids = {c.task_id for c in created}
    done = threading.Event()
    violations: list[str] = []
    accepted: dict[str, tuple[str, str]] = {}  # submission id -> (task id, volunteer)
    refused_submissions: list[str] = []
    lock = threading.Lock()

    def claimer(seed: int) -> None:
        rng = random.Random(seed)
        me = new_volunteer_id()
        while not done.is_set():
            outcome = board.claim(project, me)
            if not isinstance(outcome, Claimed):
                time.sleep(0.005)
                continue
            roll = rng.random()
            if roll < 0.10:
                with contextlib.suppress(LeaseNotLive):  # it may expire first: also fine
                    board.release(outcome.assignment_id, me, "skip")
            elif roll < 0.20:
                pass  # walk away: the lease must expire and give the slot back
            else:
                if roll > 0.97:
                    # Dawdle past the lease: the submission then races the sweepers (swept or
                    # not yet, it is on a dead lease and must be refused).
                    while clock.now_ms < outcome.expires_at_ms and not done.is_set():
                        time.sleep(0.002)
                try:
                    sub = board.submit(outcome.assignment_id, me, {"by": me})
                except LeaseNotLive:
                    with lock:  # the sweeper got there first: refused, nothing written
                        refused_submissions.append(outcome.assignment_id)
                else:
                    with lock:
                        accepted[sub.submission_id] = (outcome.task_id, me)

    def sweeper() -> None:
        while not done.is_set():
            # The board's clock runs at about 400x real time: a 20 s lease lasts ~50 ms, longer
            # than a claim-submit round under load, shorter than a dawdle.
            clock.advance(1)
            board.expire_leases(project, limit=50)
            time.sleep(0.005)

    def monitor() -> None:
        while not done.is_set():
            for task, records in assignments_by_task(redis_client, board, project).items():
                holding = [r for r in records if r["state"] in ("live", "submitted")]
                if len(holding) > redundancy:
                    violations.append(f"{task} has {len(holding)} live-or-submitted")
                volunteers = Counter(r["vol"] for r in records)
                if volunteers and max(volunteers.values()) > 1:
                    violations.append(f"{task} leased twice to one volunteer")
            if board.counts(project).get("aggregating", 0) == len(task_ids):
                done.set()
            time.sleep(0.02)

    threads = [threading.Thread(target=claimer, args=(seed,)) for seed in range(50)]
    threads += [threading.Thread(target=sweeper) for _ in range(2)]
    threads.append(threading.Thread(target=monitor))
    for thread in threads:
        thread.start()
    done.wait(timeout=120)
    done.set()
    for thread in threads:
        thread.join()

    assert violations == []
    assert board.counts(project) == {"open": 0, "collecting": 0, "aggregating": 1000}
    by_task = assignments_by_task(redis_client, board, project)
    stored_submissions: dict[str, tuple[str, str]] = {}
    for task_id in task_ids:
        view = board.get_task(project, task_id)
        records = by_task[task_id]
        states = Counter(r["state"] for r in records)
        # Every slot was answered or given back, and given back exactly once.
        assert (view.answers, view.live) == (redundancy, 0)
        assert states["submitted"] == redundancy
        assert states["live"] == 0
        assert states["released"] == view.releases
        assert states["expired"] == view.attempts
        assert len({r["vol"] for r in records}) == len(records)
        for answer in board.answers(project, task_id):
            stored_submissions[answer["submission_id"]] = (task_id, answer["volunteer_id"])
    # Acknowledged submissions are exactly the stored ones; refused ones left no trace.
    assert stored_submissions == accepted
    for aid in refused_submissions:
        assert board.assignment(aid)["state"] == "expired"
    assert refused_submissions, "no submission raced an expiry: the test lost its point"
