"""The review scripts (open, claim, decide, expire) and the live-assignment cap, on a real Redis.

As for the lease scripts, a refusal must leave the store byte-identical (every key compared with
DUMP before and after). The last test races twenty reviewers for five items on real threads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, Unpack

import pytest
import redis

from core.board.runner import (
    BoardPolicy,
    Claimed,
    NewTask,
    NothingToClaim,
    NothingToReview,
    ReviewClaimed,
    ReviewDecision,
)
from core.clock import ManualClock
from core.errors import (
    NotACandidate,
    NotAReviewer,
    ReopenRefused,
    ReviewNotFound,
    ReviewNotLive,
    TaskBusy,
    TaskClosed,
    TaskNotFound,
    TooManyAssignments,
)
from core.ids import InvalidId, new_volunteer_id, parse_review_id
from core.settings import Settings
from tests.support.board import PolicyFields, TestBoard
from tests.support.streams import entries
from workers.scheduler import reap

Snapshot = Callable[[], dict[bytes, Any]]
E = TypeVar("E", bound=Exception)


def assert_refused_unchanged(
    snapshot: Snapshot, call: Callable[[], Any], error: type[E]
) -> pytest.ExceptionInfo[E]:
    before = snapshot()
    with pytest.raises(error) as info:
        call()
    assert snapshot() == before
    return info


def answered_project(
    board: TestBoard, n_tasks: int = 1, **policy: Unpack[PolicyFields]
) -> tuple[str, list[str], list[str]]:
    """A project whose tasks all got ``redundancy`` answers (2 unless told); returns (project,
    tasks, answerers)."""
    redundancy = policy.setdefault("redundancy", 2)
    project = board.create_project(BoardPolicy(**policy))
    created = board.create_tasks(project, [NewTask({"n": i}) for i in range(n_tasks)])
    answerers = [new_volunteer_id() for _ in range(redundancy)]
    for volunteer in answerers:
        for _ in range(n_tasks):
            lease = board.claim(project, volunteer)
            assert isinstance(lease, Claimed)
            board.submit(lease.assignment_id, volunteer, {"label": f"by {volunteer[-4:]}"})
    return project, [c.task_id for c in created], answerers


def reviewer_of(board: TestBoard, project: str, volunteer: str | None = None) -> str:
    reviewer = volunteer or new_volunteer_id()
    board.client.sadd(board.keys.project(project).reviewers, reviewer)
    return reviewer


def review(outcome: ReviewClaimed | NothingToReview) -> ReviewClaimed:
    assert isinstance(outcome, ReviewClaimed), outcome
    return outcome


def events(client: redis.Redis, board: TestBoard, project: str, kind: str) -> list[dict[str, str]]:
    found = entries(client, board.keys.project(project).events)
    return [fields for _, fields in found if fields["type"] == kind]


# -- open_review -------------------------------------------------------------------------------


def test_open_review_moves_an_aggregating_task_to_the_queue(
    board: TestBoard, redis_client: redis.Redis, store_snapshot: Snapshot
) -> None:
    project, [task], _ = answered_project(board)
    assert board.counts(project)["aggregating"] == 1
    assert board.open_review(project, task, "disagreement", priority=4)
    assert board.get_task(project, task).state == "in_review"
    assert board.counts(project)["in_review"] == 1
    assert board.counts(project)["aggregating"] == 0
    queue = redis_client.zrange(board.keys.project(project).review_queue, 0, -1, withscores=True)
    assert queue == [(task, -4.0)]
    [opened] = events(redis_client, board, project, "review.opened")
    assert (opened["task"], opened["reason"]) == (task, "disagreement")
    before = store_snapshot()
    assert board.open_review(project, task, "spot_check") is False  # idempotent: no write
    assert store_snapshot() == before


def test_open_review_takes_any_idle_non_terminal_task(board: TestBoard, clock: ManualClock) -> None:
    project = board.create_project(BoardPolicy(redundancy=2, lease_seconds=10, max_attempts=1))
    first, untouched = board.create_tasks(project, [NewTask({"n": 0}), NewTask({"n": 1})])
    lease = board.claim(project, new_volunteer_id())
    assert isinstance(lease, Claimed) and lease.task_id == first.task_id
    clock.advance(11)
    board.expire_leases(project)
    assert board.get_task(project, first.task_id).state == "stalled"
    assert board.open_review(project, first.task_id, "stalled")
    assert board.get_task(project, untouched.task_id).state == "open"
    assert board.open_review(project, untouched.task_id, "spot_check")
    assert board.counts(project)["in_review"] == 2
    assert isinstance(board.claim(project, new_volunteer_id()), NothingToClaim)


def test_open_review_refusals_write_nothing(board: TestBoard, store_snapshot: Snapshot) -> None:
    project = board.create_project(BoardPolicy(redundancy=2))
    [busy] = board.create_tasks(project, [NewTask({"n": 0})])
    assert isinstance(board.claim(project, new_volunteer_id()), Claimed)
    assert_refused_unchanged(
        store_snapshot, lambda: board.open_review(project, busy.task_id, "stalled"), TaskBusy
    )
    assert_refused_unchanged(
        store_snapshot,
        lambda: board.open_review(project, "t9999999999", "disagreement"),
        TaskNotFound,
    )
    done_project, [done], _ = answered_project(board)
    board.open_review(done_project, done, "disagreement")
    reviewer = reviewer_of(board, done_project)
    item = review(board.claim_review(done_project, reviewer))
    board.decide_review(item.review_id, reviewer, ReviewDecision("reject"))
    info = assert_refused_unchanged(
        store_snapshot,
        lambda: board.open_review(done_project, done, "spot_check"),
        TaskClosed,
    )
    assert info.value.details == [{"task_state": "rejected"}]
    with pytest.raises(ValueError, match="reason"):
        board.open_review(project, busy.task_id, "boredom")


# -- claim_review ------------------------------------------------------------------------------


def test_a_reviewer_gets_the_payload_and_the_candidates_but_not_who_answered(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis
) -> None:
    project, [task], answerers = answered_project(board)
    board.open_review(project, task, "disagreement")
    reviewer = reviewer_of(board, project)
    item = review(board.claim_review(project, reviewer, lease_seconds=300))
    ref = parse_review_id(item.review_id)
    assert (ref.project_id, ref.task_id) == (project, task)
    assert item.expires_at_ms == clock.now_ms + 300_000
    assert item.payload == {"n": 0}
    assert item.reason == "disagreement"
    assert [c["answer"] for c in item.candidates] == [{"label": f"by {a[-4:]}"} for a in answerers]
    assert all(set(c) == {"submission_id", "answer"} for c in item.candidates)
    assert redis_client.zcard(board.keys.project(project).review_queue) == 0
    assert [e["review"] for e in events(redis_client, board, project, "review.claimed")] == [
        item.review_id
    ]
    assert isinstance(board.claim_review(project, reviewer_of(board, project)), NothingToReview)


def test_review_ids_are_never_assignment_ids(board: TestBoard) -> None:
    project, [task], _ = answered_project(board)
    board.open_review(project, task, "disagreement")
    item = review(board.claim_review(project, reviewer_of(board, project)))
    with pytest.raises(InvalidId):
        board.heartbeat(item.review_id, new_volunteer_id())
    with pytest.raises(InvalidId):
        parse_review_id(f"{project}.{task}." + "a" * 26)


def test_only_a_granted_reviewer_may_claim(board: TestBoard, store_snapshot: Snapshot) -> None:
    project, [task], _ = answered_project(board)
    board.open_review(project, task, "disagreement")
    assert_refused_unchanged(
        store_snapshot, lambda: board.claim_review(project, new_volunteer_id()), NotAReviewer
    )


def test_a_reviewer_never_gets_a_task_they_answered_or_claimed(board: TestBoard) -> None:
    project, tasks, answerers = answered_project(board, n_tasks=2)
    for task in tasks:
        board.open_review(project, task, "disagreement")
    answerer = reviewer_of(board, project, answerers[0])
    assert isinstance(board.claim_review(project, answerer), NothingToReview)
    # A volunteer who only held a lease on the task (released it) is ruled out as well.
    extra = board.create_tasks(project, [NewTask({"n": 9})])[0].task_id
    skipper = new_volunteer_id()
    lease = board.claim(project, skipper)
    assert isinstance(lease, Claimed) and lease.task_id == extra
    board.release(lease.assignment_id, skipper, "skip")
    reviewer_of(board, project, skipper)
    board.open_review(project, extra, "spot_check", priority=99)
    assert review(board.claim_review(project, skipper)).task_id != extra


def test_the_most_urgent_item_is_reviewed_first(board: TestBoard) -> None:
    project, tasks, _ = answered_project(board, n_tasks=3)
    for task, priority in zip(tasks, (1, 7, -2), strict=True):
        board.open_review(project, task, "disagreement", priority=priority)
    reviewer = reviewer_of(board, project)
    order = [review(board.claim_review(project, reviewer)).task_id for _ in tasks]
    assert order == [tasks[1], tasks[0], tasks[2]]


# -- decide_review -----------------------------------------------------------------------------


def claimed_item(
    board: TestBoard, **policy: Unpack[PolicyFields]
) -> tuple[str, str, str, ReviewClaimed]:
    project, [task], _ = answered_project(board, **policy)
    board.open_review(project, task, "disagreement")
    reviewer = reviewer_of(board, project)
    return project, task, reviewer, review(board.claim_review(project, reviewer))


def test_accept_resolves_the_task_with_the_chosen_answer(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis
) -> None:
    project, task, reviewer, item = claimed_item(board)
    chosen = item.answers[1]
    decided = board.decide_review(
        item.review_id, reviewer, ReviewDecision.accepting(chosen, "clearer")
    )
    assert (decided.task_id, decided.state) == (task, "resolved")
    assert board.counts(project)["resolved"] == 1
    assert board.counts(project)["in_review"] == 0
    assert board.decision(project, task) == {
        "at": clock.now_ms, "task": task, "review": item.review_id, "action": "accept",
        "submission_id": chosen["submission_id"], "reviewer": reviewer, "comment": "clearer",
        "answer": chosen["answer"],
    }  # fmt: skip
    [event] = events(redis_client, board, project, "review.decided")
    assert (event["action"], event["state"], event["submission"]) == (
        "accept", "resolved", chosen["submission_id"],
    )  # fmt: skip
    assert redis_client.zcard(board.keys.project(project).review_leases) == 0


def test_a_correction_is_stored_byte_for_byte(board: TestBoard, redis_client: redis.Redis) -> None:
    project, task, reviewer, item = claimed_item(board)
    answer = {"values": {"amount": 0.1, "tags": [], "note": "é"}}
    decided = board.decide_review(
        item.review_id, reviewer, ReviewDecision("correct", answer=answer)
    )
    assert decided.state == "resolved"
    raw = redis_client.hget(board.keys.project(project).decisions, task)
    assert raw is not None
    assert '"answer":{"values":{"amount":0.1,"tags":[],"note":"é"}}' in raw
    assert json.loads(raw)["action"] == "correct"


def test_reject_closes_the_task_for_good(board: TestBoard) -> None:
    project, task, reviewer, item = claimed_item(board)
    assert board.decide_review(item.review_id, reviewer, ReviewDecision("reject")).state == (
        "rejected"
    )
    assert board.get_task(project, task).state == "rejected"
    assert board.counts(project)["rejected"] == 1


def test_reopen_asks_one_more_answer_and_keeps_the_others(board: TestBoard) -> None:
    project, task, reviewer, item = claimed_item(board, redundancy=2)
    decided = board.decide_review(item.review_id, reviewer, ReviewDecision("reopen"))
    assert (decided.state, decided.need) == ("collecting", 3)
    view = board.get_task(project, task)
    assert (view.state, view.need, view.answers, view.attempts) == ("collecting", 3, 2, 0)
    assert len(board.answers(project, task)) == 2
    newcomer = new_volunteer_id()
    lease = board.claim(project, newcomer)
    assert isinstance(lease, Claimed) and lease.task_id == task
    assert isinstance(board.claim(project, reviewer), NothingToClaim)  # the one slot is taken
    submitted = board.submit(lease.assignment_id, newcomer, {"label": "third"})
    assert (submitted.answers, submitted.task_state) == (3, "aggregating")


def test_decision_refusals_write_nothing(
    board: TestBoard, clock: ManualClock, store_snapshot: Snapshot
) -> None:
    project, task, reviewer, item = claimed_item(board, redundancy=2)
    accept = ReviewDecision.accepting(item.answers[0])
    assert_refused_unchanged(
        store_snapshot,
        lambda: board.decide_review(item.review_id, new_volunteer_id(), accept),
        ReviewNotFound,
    )
    unknown = f"{project}.{task}.r" + "0" * 26
    assert_refused_unchanged(
        store_snapshot, lambda: board.decide_review(unknown, reviewer, accept), ReviewNotFound
    )
    forged = ReviewDecision("accept", "sub_" + "0" * 20, {"label": "forged"})
    assert_refused_unchanged(
        store_snapshot,
        lambda: board.decide_review(item.review_id, reviewer, forged),
        NotACandidate,
    )
    reopen = assert_refused_unchanged(
        store_snapshot,
        lambda: board.decide_review(
            item.review_id, reviewer, ReviewDecision("reopen"), max_answers=2
        ),
        ReopenRefused,
    )
    assert reopen.value.details == [{"max_answers": 2}]
    board.decide_review(item.review_id, reviewer, accept)
    info = assert_refused_unchanged(
        store_snapshot,
        lambda: board.decide_review(item.review_id, reviewer, ReviewDecision("reject")),
        ReviewNotLive,
    )
    assert info.value.details == [{"review_state": "decided"}]


def test_a_decision_after_the_lease_ran_out_is_refused(
    board: TestBoard, clock: ManualClock, store_snapshot: Snapshot
) -> None:
    _, _, reviewer, item = claimed_item(board)
    clock.advance(901)
    info = assert_refused_unchanged(
        store_snapshot,
        lambda: board.decide_review(item.review_id, reviewer, ReviewDecision("reject")),
        ReviewNotLive,
    )
    assert info.value.details == [{"review_state": "expired"}]


def test_decisions_must_carry_what_their_action_needs() -> None:
    bad_decisions: list[Callable[[], ReviewDecision]] = [
        lambda: ReviewDecision("accept"),
        lambda: ReviewDecision("accept", "sub_x"),
        lambda: ReviewDecision("correct"),
        lambda: ReviewDecision("reject", answer={"a": 1}),
        lambda: ReviewDecision("reopen", "sub_x"),
        lambda: ReviewDecision("approve"),  # type: ignore[arg-type]  # refused at run time too
    ]
    for bad in bad_decisions:
        with pytest.raises(ValueError):
            bad()


# -- expire_review_leases ------------------------------------------------------------------------


def test_an_expired_review_goes_back_to_the_queue_exactly_once(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis
) -> None:
    project, tasks, _ = answered_project(board, n_tasks=2)
    board.open_review(project, tasks[0], "disagreement", priority=5)
    board.open_review(project, tasks[1], "disagreement", priority=1)
    first, second = reviewer_of(board, project), reviewer_of(board, project)
    held = review(board.claim_review(project, first, lease_seconds=60))
    assert held.task_id == tasks[0]
    clock.advance(30)
    assert board.expire_review_leases(project) == []
    clock.advance(30)
    assert board.expire_review_leases(project) == [held.review_id]
    assert board.expire_review_leases(project) == []
    [expired] = events(redis_client, board, project, "review.expired")
    assert expired["review"] == held.review_id
    again = review(board.claim_review(project, second))
    assert again.task_id == tasks[0]  # back with its priority, ahead of the other
    with pytest.raises(ReviewNotLive):
        board.decide_review(held.review_id, first, ReviewDecision("reject"))


# -- revoke_reviewer ---------------------------------------------------------------------------


def test_withdrawn_rights_end_only_that_reviewers_leases_once(
    board: TestBoard, redis_client: redis.Redis
) -> None:
    project, tasks, _ = answered_project(board, n_tasks=3)
    for task, priority in zip(tasks, (5, 3, 1), strict=True):
        board.open_review(project, task, "disagreement", priority=priority)
    gone, kept = reviewer_of(board, project), reviewer_of(board, project)
    held = [review(board.claim_review(project, gone)) for _ in range(2)]
    theirs = review(board.claim_review(project, kept))

    revoked = board.run(board.ops.revoke_reviewer(project, gone))

    assert revoked == [item.review_id for item in held]
    assert not redis_client.sismember(board.keys.project(project).reviewers, gone)
    assert board.run(board.ops.revoke_reviewer(project, gone)) == []  # safe to repeat
    for item in held:
        with pytest.raises(ReviewNotLive) as refused:
            board.decide_review(item.review_id, gone, ReviewDecision("reject"))
        assert refused.value.state == "revoked"
    assert len(events(redis_client, board, project, "review.revoked")) == 2
    # Back in the queue with their scores (the most urgent first); the other lease stands.
    assert review(board.claim_review(project, kept)).task_id == tasks[0]
    assert board.decide_review(theirs.review_id, kept, ReviewDecision("reject")).state == (
        "rejected"
    )


def test_a_reviewer_no_longer_in_the_set_cannot_decide(
    board: TestBoard, store_snapshot: Snapshot
) -> None:
    project, _, reviewer, item = claimed_item(board)
    board.client.srem(board.keys.project(project).reviewers, reviewer)  # not through revoke
    assert_refused_unchanged(
        store_snapshot,
        lambda: board.decide_review(item.review_id, reviewer, ReviewDecision("reject")),
        NotAReviewer,
    )


def test_the_scheduler_reaps_review_leases_too(
    board: TestBoard, clock: ManualClock, redis_url: str
) -> None:
    project, [task], _ = answered_project(board)
    board.open_review(project, task, "disagreement")
    reviewer, another = reviewer_of(board, project), reviewer_of(board, project)
    first = review(board.claim_review(project, reviewer, lease_seconds=60))
    assert isinstance(board.claim_review(project, another), NothingToReview)
    clock.advance(61)
    reap(board, Settings(redis_url=redis_url))
    again = review(board.claim_review(project, another))
    assert again.task_id == task and not again.held and again.review_id != first.review_id
    assert board.reap_expired_review_leases() == 0


def test_a_reviewer_with_nothing_new_gets_back_the_item_they_hold(
    board: TestBoard, clock: ManualClock
) -> None:
    """A claim whose reply was lost, made again, finds its own lease (not "nothing waits" while
    the item sits leased to the one who asked); one that finds a new item takes that first."""
    project, [first_task, second_task], _ = answered_project(board, n_tasks=2)
    board.open_review(project, first_task, "disagreement")
    reviewer, another = reviewer_of(board, project), reviewer_of(board, project)
    first = review(board.claim_review(project, reviewer, lease_seconds=60))
    assert not first.held
    clock.advance(10)
    again = review(board.claim_review(project, reviewer, lease_seconds=60))
    assert again.held and (again.review_id, again.task_id) == (first.review_id, first.task_id)
    assert again.expires_at_ms == first.expires_at_ms  # given back as it was, not extended
    assert (again.payload, again.answers) == (first.payload, first.answers)
    assert isinstance(board.claim_review(project, another), NothingToReview)
    board.open_review(project, second_task, "disagreement")
    new = review(board.claim_review(project, reviewer, lease_seconds=60))
    assert not new.held and new.task_id == second_task
    clock.advance(51)  # both leases over: nothing is held any more
    board.reap_expired_review_leases()
    assert review(board.claim_review(project, another)).task_id in {first_task, second_task}


# -- the live-assignment cap ---------------------------------------------------------------------


def test_reserve_slot_counts_live_entries_and_refuses_past_the_cap(
    board: TestBoard, clock: ManualClock, store_snapshot: Snapshot
) -> None:
    volunteer = new_volunteer_id()
    assert board.reserve_slot(volunteer, "res:a", cap=2, hold_ms=10_000) == 1
    board.confirm_slot(volunteer, "res:a", "asg-1", clock.now_ms + 5_000)
    assert board.reserve_slot(volunteer, "res:b", cap=2, hold_ms=10_000) == 2
    info = assert_refused_unchanged(
        store_snapshot,
        lambda: board.reserve_slot(volunteer, "res:c", cap=2, hold_ms=10_000),
        TooManyAssignments,
    )
    assert info.value.details == [{"live": 2}]
    clock.advance(5)  # the assignment's lease is over: its slot frees itself
    assert board.reserve_slot(volunteer, "res:c", cap=2, hold_ms=10_000) == 2
    assert board.live_slots(volunteer) == []  # reservations are not assignments
    board.drop_slot(volunteer, "res:b")
    board.drop_slot(volunteer, "res:c")
    assert board.reserve_slot(volunteer, "res:d", cap=1, hold_ms=10_000) == 1


# -- concurrency -------------------------------------------------------------------------------


def test_twenty_reviewers_racing_for_five_items_each_item_gets_one_live_lease(
    redis_client: redis.Redis,
) -> None:
    board = TestBoard(redis_client)
    project, tasks, _ = answered_project(board, n_tasks=5)
    for task in tasks:
        board.open_review(project, task, "disagreement")
    reviewers = [reviewer_of(board, project) for _ in range(20)]
    start = threading.Barrier(len(reviewers))

    def race(reviewer: str) -> ReviewClaimed | None:
        start.wait()
        outcome = board.claim_review(project, reviewer)
        return outcome if isinstance(outcome, ReviewClaimed) else None

    with ThreadPoolExecutor(max_workers=len(reviewers)) as pool:
        outcomes = list(pool.map(race, reviewers))
    winners = [o for o in outcomes if o is not None]
    assert sorted(w.task_id for w in winners) == sorted(tasks)
    records = [
        json.loads(raw)
        for raw in redis_client.hgetall(board.keys.project(project).review_assignments).values()
    ]
    live = [r for r in records if r["state"] == "live"]
    assert sorted(r["task"] for r in live) == sorted(tasks)
    assert redis_client.zcard(board.keys.project(project).review_leases) == 5
    assert redis_client.zcard(board.keys.project(project).review_queue) == 0
    # and each winner decides their item
    for reviewer, won in zip(reviewers, outcomes, strict=True):
        if won is not None:
            board.decide_review(won.review_id, reviewer, ReviewDecision("reject"))
    assert board.counts(project)["rejected"] == 5
