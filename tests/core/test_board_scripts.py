"""Each board script: its happy path and every refusal.

A refusal must leave the store byte-identical (every key compared with DUMP before and after).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import redis

from core.board.runner import BoardPolicy, Claimed, NewTask, NothingToClaim
from core.clock import ManualClock
from core.errors import AssignmentNotFound, LeaseNotLive, ProjectNotFound
from core.ids import InvalidId, new_project_id
from tests.support.board import TestBoard
from tests.support.streams import entries

Snapshot = Callable[[], dict[bytes, Any]]
E = TypeVar("E", bound=Exception)


def claimed(outcome: Claimed | NothingToClaim) -> Claimed:
    assert isinstance(outcome, Claimed), outcome
    return outcome


def assert_refused_unchanged(
    snapshot: Snapshot, call: Callable[[], Any], error: type[E]
) -> pytest.ExceptionInfo[E]:
    before = snapshot()
    with pytest.raises(error) as info:
        call()
    assert snapshot() == before
    return info


# -- create_tasks ------------------------------------------------------------------------------


def test_created_tasks_are_open_and_claimable_in_submission_order(board: TestBoard) -> None:
    project = board.create_project(BoardPolicy(redundancy=1))
    created = board.create_tasks(project, [NewTask({"n": i}) for i in range(3)])
    assert [c.created for c in created] == [True, True, True]
    assert len({c.task_id for c in created}) == 3
    assert board.counts(project) == {"open": 3}
    task = board.get_task(project, created[0].task_id)
    assert (task.state, task.need, task.live, task.answers) == ("open", 1, 0, 0)
    assert task.payload == {"n": 0}


def test_resending_an_external_id_never_makes_a_second_task(board: TestBoard) -> None:
    project = board.create_project(BoardPolicy())
    first = board.create_tasks(project, [NewTask({"n": 1}, external_id="row-1")])
    again = board.create_tasks(
        project,
        [NewTask({"n": 1}, external_id="row-1"), NewTask({"n": 2}, external_id="row-1")],
    )
    assert [(a.created, a.conflict) for a in again] == [(False, False), (False, True)]
    assert {a.task_id for a in again} == {first[0].task_id}
    assert board.counts(project) == {"open": 1}
    assert board.get_task(project, first[0].task_id).payload == {"n": 1}


def test_a_task_stored_without_a_payload_digest_counts_every_resend_as_a_duplicate(
    board: TestBoard, redis_client: redis.Redis, store_snapshot: Snapshot
) -> None:
    project = board.create_project(BoardPolicy())
    [first] = board.create_tasks(project, [NewTask({"n": 1}, external_id="row-1")])
    tasks = board.keys.project(project).tasks
    raw = redis_client.hget(tasks, first.task_id)
    assert isinstance(raw, str)
    record = json.loads(raw)
    del record["pd"]  # as stored before payloads were compared
    redis_client.hset(tasks, first.task_id, json.dumps(record))
    before = store_snapshot()
    [again] = board.create_tasks(project, [NewTask({"n": 2}, external_id="row-1")])
    assert (again.task_id, again.created, again.conflict) == (first.task_id, False, False)
    assert store_snapshot() == before


def test_a_batch_of_only_duplicates_writes_nothing(
    board: TestBoard, store_snapshot: Snapshot
) -> None:
    project = board.create_project(BoardPolicy())
    board.create_tasks(project, [NewTask({"n": i}, external_id=f"e{i}") for i in range(3)])
    before = store_snapshot()
    board.create_tasks(project, [NewTask({"n": 0}, external_id="e0")])
    assert store_snapshot() == before


def test_bulk_creation_spans_many_pipelined_chunks(board: TestBoard) -> None:
    project = board.create_project(BoardPolicy())
    created = board.create_tasks(
        project, [NewTask({"n": i}, external_id=f"e{i}") for i in range(1234)]
    )
    assert len({c.task_id for c in created}) == 1234
    assert board.counts(project) == {"open": 1234}


def test_tasks_for_an_unknown_project_are_refused(
    board: TestBoard, store_snapshot: Snapshot
) -> None:
    assert_refused_unchanged(
        store_snapshot,
        lambda: board.create_tasks(new_project_id(), [NewTask({"n": 1})]),
        ProjectNotFound,
    )


def test_malformed_ids_never_reach_redis(board: TestBoard) -> None:
    with pytest.raises(InvalidId):
        board.create_tasks("prj_{other}", [NewTask({"n": 1})])
    with pytest.raises(InvalidId):
        board.submit("not-an-assignment", "vol_x", {})


def test_project_updates_are_refused_for_an_unknown_project(
    board: TestBoard, store_snapshot: Snapshot
) -> None:
    assert_refused_unchanged(
        store_snapshot, lambda: board.set_paused(new_project_id(), True), ProjectNotFound
    )
    assert_refused_unchanged(
        store_snapshot, lambda: board.set_policy(new_project_id(), BoardPolicy()), ProjectNotFound
    )


def test_a_policy_change_applies_to_new_leases_and_is_audited(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(lease_seconds=60))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(2)])
    board.set_policy(project, BoardPolicy(lease_seconds=30))
    assert claimed(board.claim(project, volunteer())).expires_at_ms == clock.now_ms + 30_000
    events = entries(redis_client, board.keys.project(project).events)
    [updated] = [fields for _, fields in events if fields["type"] == "project.updated"]
    assert "lease_ms" in updated["fields"].split(",")


# -- claim -------------------------------------------------------------------------------------


def test_claim_leases_a_slot_and_returns_the_payload(
    board: TestBoard, clock: ManualClock, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=2, lease_seconds=60))
    [task] = board.create_tasks(project, [NewTask({"text": "bonjour"})])
    outcome = claimed(board.claim(project, volunteer()))
    assert outcome.task_id == task.task_id
    assert outcome.payload == {"text": "bonjour"}
    assert outcome.expires_at_ms == clock.now_ms + 60_000
    assert outcome.assignment_id.startswith(f"{project}.{task.task_id}.")
    view = board.get_task(project, task.task_id)
    assert (view.state, view.live) == ("collecting", 1)


def test_claim_prefers_priority_then_the_task_closest_to_completion(
    board: TestBoard, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=3))
    low, busy, urgent = board.create_tasks(
        project, [NewTask({"n": 0}), NewTask({"n": 1}), NewTask({"n": 2}, priority=5)]
    )
    assert claimed(board.claim(project, volunteer())).task_id == urgent.task_id
    assert claimed(board.claim(project, volunteer())).task_id == urgent.task_id
    assert claimed(board.claim(project, volunteer())).task_id == urgent.task_id
    # urgent is full now; the next one starts on the first task, which is then the closest
    # to completion and keeps being served before the untouched one.
    assert claimed(board.claim(project, volunteer())).task_id == low.task_id
    assert claimed(board.claim(project, volunteer())).task_id == low.task_id
    assert board.get_task(project, busy.task_id).live == 0


def test_claim_skips_tasks_the_volunteer_already_touched(
    board: TestBoard, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=3))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(2)])
    me = volunteer()
    first = claimed(board.claim(project, me))
    board.release(first.assignment_id, me, "too hard")
    second = claimed(board.claim(project, me))
    assert second.task_id != first.task_id
    assert board.claim(project, me) == NothingToClaim("nothing_fits")


def test_claim_finds_work_past_a_page_of_touched_tasks(
    board: TestBoard, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=2))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(100)])
    me = volunteer()
    # Answer 70 tasks once each: they now rank first (closest to completion) for everybody.
    for _ in range(70):
        outcome = claimed(board.claim(project, me))
        board.submit(outcome.assignment_id, me, {"ok": True})
    fresh = claimed(board.claim(project, me))
    assert board.get_task(project, fresh.task_id).answers == 0


def test_claim_on_an_empty_or_paused_project_writes_nothing(
    board: TestBoard, store_snapshot: Snapshot, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy())
    before = store_snapshot()
    assert board.claim(project, volunteer()) == NothingToClaim("nothing_fits")
    assert store_snapshot() == before

    board.create_tasks(project, [NewTask({"n": 1})])
    board.set_paused(project, True)
    before = store_snapshot()
    assert board.claim(project, volunteer()) == NothingToClaim("paused")
    assert store_snapshot() == before
    board.set_paused(project, False)
    assert isinstance(board.claim(project, volunteer()), Claimed)


def test_claim_on_an_unknown_project_is_refused(
    board: TestBoard, store_snapshot: Snapshot, volunteer: Callable[[], str]
) -> None:
    assert_refused_unchanged(
        store_snapshot, lambda: board.claim(new_project_id(), volunteer()), ProjectNotFound
    )


# -- heartbeat ---------------------------------------------------------------------------------


def test_heartbeat_extends_the_lease_up_to_its_cap(
    board: TestBoard, clock: ManualClock, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(lease_seconds=60, max_lease_seconds=100))
    board.create_tasks(project, [NewTask({"n": 1})])
    me = volunteer()
    outcome = claimed(board.claim(project, me))
    start = clock.now_ms
    clock.advance(30)
    beat = board.heartbeat(outcome.assignment_id, me)
    assert (beat.expires_at_ms, beat.capped) == (start + 90_000, False)
    clock.advance(30)
    beat = board.heartbeat(outcome.assignment_id, me)
    assert (beat.expires_at_ms, beat.capped) == (start + 100_000, True)
    clock.advance(39.999)
    assert board.heartbeat(outcome.assignment_id, me).expires_at_ms == start + 100_000
    clock.advance(0.001)
    with pytest.raises(LeaseNotLive):
        board.heartbeat(outcome.assignment_id, me)


# -- refusals shared by heartbeat, release and submit ------------------------------------------

LeaseCall = Callable[[TestBoard, str, str], Any]
LEASE_CALLS: dict[str, LeaseCall] = {
    "heartbeat": lambda b, aid, vol: b.heartbeat(aid, vol),
    "release": lambda b, aid, vol: b.release(aid, vol, "skip"),
    "submit": lambda b, aid, vol: b.submit(aid, vol, {"text": "x"}),
}


@pytest.fixture(params=sorted(LEASE_CALLS))
def lease_call(request: pytest.FixtureRequest) -> LeaseCall:
    return LEASE_CALLS[request.param]


def test_an_unknown_assignment_is_refused_unchanged(
    board: TestBoard, store_snapshot: Snapshot, volunteer: Callable[[], str], lease_call: LeaseCall
) -> None:
    project = board.create_project(BoardPolicy())
    board.create_tasks(project, [NewTask({"n": 1})])
    me = volunteer()
    real = claimed(board.claim(project, me))
    forged = real.assignment_id[:-26] + "0" * 26
    assert_refused_unchanged(
        store_snapshot, lambda: lease_call(board, forged, me), AssignmentNotFound
    )


def test_someone_elses_assignment_looks_unknown_and_is_refused_unchanged(
    board: TestBoard, store_snapshot: Snapshot, volunteer: Callable[[], str], lease_call: LeaseCall
) -> None:
    project = board.create_project(BoardPolicy())
    board.create_tasks(project, [NewTask({"n": 1})])
    owner, intruder = volunteer(), volunteer()
    real = claimed(board.claim(project, owner))
    assert_refused_unchanged(
        store_snapshot, lambda: lease_call(board, real.assignment_id, intruder), AssignmentNotFound
    )


def test_a_lease_past_its_expiry_is_dead_before_any_sweep(
    board: TestBoard,
    clock: ManualClock,
    store_snapshot: Snapshot,
    volunteer: Callable[[], str],
    lease_call: LeaseCall,
) -> None:
    project = board.create_project(BoardPolicy(lease_seconds=60))
    board.create_tasks(project, [NewTask({"n": 1})])
    me = volunteer()
    real = claimed(board.claim(project, me))
    clock.advance(60)
    info = assert_refused_unchanged(
        store_snapshot, lambda: lease_call(board, real.assignment_id, me), LeaseNotLive
    )
    assert info.value.state == "expired"


@pytest.mark.parametrize("ending", ["released", "submitted", "expired"])
def test_a_finished_assignment_is_refused_unchanged(
    board: TestBoard,
    clock: ManualClock,
    store_snapshot: Snapshot,
    volunteer: Callable[[], str],
    lease_call: LeaseCall,
    ending: str,
) -> None:
    project = board.create_project(BoardPolicy(lease_seconds=60))
    board.create_tasks(project, [NewTask({"n": 1})])
    me = volunteer()
    real = claimed(board.claim(project, me))
    if ending == "released":
        board.release(real.assignment_id, me, "skip")
    elif ending == "submitted":
        board.submit(real.assignment_id, me, {"text": "done"})
    else:
        clock.advance(61)
        assert board.expire_leases(project) == [real.assignment_id]
        clock.advance(-61)  # even with the clock back, an expired lease stays dead
    info = assert_refused_unchanged(
        store_snapshot, lambda: lease_call(board, real.assignment_id, me), LeaseNotLive
    )
    assert info.value.state == ending


# -- release -----------------------------------------------------------------------------------


def test_release_gives_the_slot_back_with_its_reason(
    board: TestBoard, redis_client: redis.Redis, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=1))
    [task] = board.create_tasks(project, [NewTask({"n": 1})])
    me, other = volunteer(), volunteer()
    outcome = claimed(board.claim(project, me))
    assert board.claim(project, other) == NothingToClaim("nothing_fits")
    board.release(outcome.assignment_id, me, "not my language")
    view = board.get_task(project, task.task_id)
    assert (view.state, view.live, view.releases) == ("open", 0, 1)
    assert board.assignment(outcome.assignment_id)["reason"] == "not my language"
    assert claimed(board.claim(project, other)).task_id == task.task_id
    events = entries(redis_client, board.keys.project(project).events)
    released = [fields for _, fields in events if fields["type"] == "assignment.released"]
    assert released[0]["reason"] == "not my language"


# -- submit ------------------------------------------------------------------------------------


def test_submit_counts_answers_and_completes_the_task(
    board: TestBoard, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=2))
    [task] = board.create_tasks(project, [NewTask({"n": 1})])
    vols = [volunteer(), volunteer()]
    leases = [claimed(board.claim(project, v)) for v in vols]
    first = board.submit(leases[0].assignment_id, vols[0], {"text": "a"}, seconds_spent=42)
    assert (first.answers, first.need, first.complete) == (1, 2, False)
    second = board.submit(leases[1].assignment_id, vols[1], {"text": "b", "n": [1, {}]})
    assert (second.answers, second.complete, second.task_state) == (2, True, "aggregating")
    answers = board.answers(project, task.task_id)
    assert [a["answer"] for a in answers] == [{"text": "a"}, {"text": "b", "n": [1, {}]}]
    assert answers[0]["seconds_spent"] == 42
    assert [a["volunteer_id"] for a in answers] == vols
    assert board.counts(project) == {"open": 0, "collecting": 0, "aggregating": 1}
    assert board.claim(project, volunteer()) == NothingToClaim("nothing_fits")


# -- expiry and the attempt counter ------------------------------------------------------------


def test_expiry_returns_each_slot_once_in_bounded_batches(
    board: TestBoard, clock: ManualClock, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=1, lease_seconds=60))
    board.create_tasks(project, [NewTask({"n": i}) for i in range(5)])
    leases = [claimed(board.claim(project, volunteer())) for _ in range(5)]
    clock.advance(59.999)
    assert board.expire_leases(project) == []
    clock.advance(0.001)
    first = board.expire_leases(project, limit=3)
    rest = board.expire_leases(project, limit=3)
    assert len(first) == 3 and len(rest) == 2
    assert sorted(first + rest) == sorted(lease.assignment_id for lease in leases)
    assert board.expire_leases(project) == []
    assert board.counts(project)["open"] == 5
    assert all(board.get_task(project, lease.task_id).live == 0 for lease in leases)


def test_expiry_with_nothing_due_writes_nothing(
    board: TestBoard, store_snapshot: Snapshot, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy())
    board.create_tasks(project, [NewTask({"n": 1})])
    claimed(board.claim(project, volunteer()))
    before = store_snapshot()
    assert board.expire_leases(project) == []
    assert store_snapshot() == before


def test_a_task_whose_leases_keep_expiring_is_flagged_stalled(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy(redundancy=1, lease_seconds=10, max_attempts=3))
    [task] = board.create_tasks(project, [NewTask({"n": 1})])
    for attempt in range(1, 4):
        claimed(board.claim(project, volunteer()))
        clock.advance(11)
        assert len(board.expire_leases(project)) == 1
        assert board.get_task(project, task.task_id).attempts == attempt
    assert board.get_task(project, task.task_id).state == "stalled"
    assert board.counts(project)["stalled"] == 1
    assert board.claim(project, volunteer()) == NothingToClaim("nothing_fits")
    types = [f["type"] for _, f in entries(redis_client, board.keys.project(project).events)]
    assert types.count("task.stalled") == 1


def test_reap_sweeps_every_project(
    board: TestBoard, clock: ManualClock, volunteer: Callable[[], str]
) -> None:
    projects = [board.create_project(BoardPolicy(lease_seconds=5)) for _ in range(3)]
    for project in projects:
        board.create_tasks(project, [NewTask({"n": 1})])
        claimed(board.claim(project, volunteer()))
    clock.advance(5)
    assert board.reap_expired_leases() == 3
    assert board.reap_expired_leases() == 0


def test_scripts_survive_a_script_cache_flush(
    board: TestBoard, redis_client: redis.Redis, volunteer: Callable[[], str]
) -> None:
    project = board.create_project(BoardPolicy())
    redis_client.script_flush()
    board.create_tasks(project, [NewTask({"n": 1})])
    redis_client.script_flush()
    assert isinstance(board.claim(project, volunteer()), Claimed)
