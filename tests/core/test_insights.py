"""A project's insights (core/insights) measured from what real board operations, the real
aggregation and real review settlement wrote, on a manual clock: per-day counts, the estimated
finish, deadline risk, the review backlog and its lag, quality shares, per-volunteer quality,
daily state snapshots, and "instructions unclear" reports."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import redis
import redis.asyncio

from core.board.models import GoldPolicy
from core.board.runner import AsyncBoard, BoardPolicy, Claimed, NewTask, ReviewClaimed
from core.board.runner import ReviewDecision as Decision
from core.clock import ManualClock
from core.errors import InvalidRequest, TaskNotFound
from core.ids import new_volunteer_id
from core.insights import (
    DeadlineRisk,
    fold_all,
    fold_project,
    forget_reports,
    forget_volunteer,
    list_reports,
    read_insights,
    read_insights_async,
    record_unclear,
)
from core.insights.pace import DAY_MS, deadline_outlook, pace, weighted_rate
from core.insights.rollup import fold_call
from core.insights.unclear import MAX_NOTE_LENGTH
from core.quality.aggregation import aggregate_task
from core.review.settlement import settle_review
from tests.support.board import TestBoard

HOUR_MS = 3_600_000
PAYLOAD = {"content": "BUY CHEAP PILLS NOW", "labels": ["ok", "spam"]}


def to_midnight(clock: ManualClock) -> None:
    """Move the manual clock to the next UTC midnight."""
    clock.advance((DAY_MS - clock.now_ms % DAY_MS) / 1000)


def make_project(
    board: TestBoard,
    clock: ManualClock,
    *,
    tasks: int,
    redundancy: int = 1,
    deadline_ms: int | None = None,
) -> str:
    """A moderation project whose single answers resolve (agreement 0.6: one answer's
    posterior is 0.7) and whose split pairs go to review."""
    document = {
        "name": "insights",
        "task_type": "moderation",
        "redundancy": redundancy,
        "review": {"agreement": 0.6, "spot_check_rate": 0.0},
        "instructions": "Label it.",
        "created_at_ms": clock.now_ms,
    }
    project = board.create_project(BoardPolicy(redundancy=redundancy), document=document)
    if deadline_ms is not None:
        board.update_project(project, {"deadline_ms": deadline_ms})
    board.create_tasks(project, [NewTask(dict(PAYLOAD)) for _ in range(tasks)])
    return project


def answer(board: TestBoard, project: str, volunteer: str, label: str = "spam") -> Claimed:
    lease = board.claim(project, volunteer)
    assert isinstance(lease, Claimed), lease
    board.submit(lease.assignment_id, volunteer, {"label": label}, seconds_spent=30)
    return lease


def resolve_one(board: TestBoard, project: str) -> str:
    """A new volunteer answers a task; the real aggregation resolves it and publishes."""
    lease = answer(board, project, new_volunteer_id())
    outcome = aggregate_task(board, project, lease.task_id)
    assert outcome.outcome == "resolved", outcome
    return lease.task_id


def split_to_review(board: TestBoard, project: str, volunteers: tuple[str, str]) -> str:
    """Two volunteers disagree on a task (redundancy 2); the aggregation sends it to review."""
    first = answer(board, project, volunteers[0], "spam")
    second = answer(board, project, volunteers[1], "ok")
    assert first.task_id == second.task_id
    outcome = aggregate_task(board, project, first.task_id)
    assert outcome.outcome == "review", outcome
    return first.task_id


def review(board: TestBoard, project: str, reviewer: str, action: str) -> ReviewClaimed:
    board.client.sadd(board.keys.project(project).reviewers, reviewer)
    item = board.claim_review(project, reviewer)
    assert isinstance(item, ReviewClaimed), item
    accepted = Decision.accepting(item.answers[0])
    decision = accepted if action == "accept" else Decision(action)  # type: ignore[arg-type]
    board.decide_review(item.review_id, reviewer, decision)
    settle_review(board, project, item.task_id, item.review_id, action)
    return item


# -- pace: the rate, the estimated finish, deadline risk -------------------------------------------


def test_estimated_finish_from_the_rate_of_results_on_a_manual_clock(
    board: TestBoard, clock: ManualClock
) -> None:
    to_midnight(clock)
    project = make_project(board, clock, tasks=100)
    start = clock.now_ms
    for _ in range(5):  # ten results at noon of each of five days
        clock.advance(12 * 3600)
        for _ in range(10):
            resolve_one(board, project)
        clock.advance(12 * 3600)
    assert clock.now_ms == start + 5 * DAY_MS

    found = read_insights(board, project, now_ms=clock.now_ms)

    assert found.pace.remaining == 50
    assert found.pace.results_in_window == 50
    assert found.pace.rate_per_day == pytest.approx(10.0)
    assert found.pace.finish_ms == start + 10 * DAY_MS  # 50 left at 10 a day: 5 more days
    assert [d.value for d in found.results_per_day[-6:]] == [10, 10, 10, 10, 10, 0]
    assert [d.value for d in found.answers_per_day[-6:]] == [10, 10, 10, 10, 10, 0]
    assert found.created_per_day[-6].value == 100

    # Two quiet days later the weighted rate has dropped, so the finish moved out.
    clock.advance(2 * 24 * 3600)
    later = read_insights(board, project, now_ms=clock.now_ms)
    assert later.pace.rate_per_day is not None and later.pace.rate_per_day < 10.0
    assert later.pace.finish_ms is not None
    assert later.pace.finish_ms > found.pace.finish_ms + 2 * DAY_MS


def test_no_estimate_without_enough_results(board: TestBoard, clock: ManualClock) -> None:
    project = make_project(board, clock, tasks=10)
    for _ in range(4):  # fewer than pace.MIN_RESULTS
        resolve_one(board, project)
    clock.advance(3600 * 5)
    found = read_insights(board, project, now_ms=clock.now_ms)
    assert found.pace.rate_per_day is None
    assert found.pace.finish_ms is None
    assert found.deadline.risk is DeadlineRisk.NO_DEADLINE


def test_todays_partial_day_counts_for_the_hours_passed() -> None:
    midnight = 20_000 * DAY_MS
    # Twelve results in the first six hours of a project created at midnight: 48 a day.
    rate, counted = weighted_rate({20_000: 12}, midnight + 6 * HOUR_MS, start_ms=midnight)
    assert counted == 12
    assert rate == pytest.approx(48.0)
    # Too short an observation gives no rate, however many results.
    assert weighted_rate({20_000: 50}, midnight + 30 * 60_000, start_ms=midnight)[0] is None


@pytest.mark.parametrize(
    ("rate", "remaining", "days_left", "risk"),
    [
        (10.0, 50, 10.0, DeadlineRisk.ON_TRACK),  # 5 days of work, 10 to go
        (10.0, 85, 10.0, DeadlineRisk.AT_RISK),  # 8.5 days of work: under 20 % to spare
        (10.0, 150, 10.0, DeadlineRisk.BEHIND),  # 15 days of work
        (None, 150, 10.0, DeadlineRisk.NO_PACE),
        (10.0, 0, 10.0, DeadlineRisk.DONE),
        (10.0, 30, -1.0, DeadlineRisk.MISSED),
    ],
)
def test_deadline_risk(
    rate: float | None, remaining: int, days_left: float, risk: DeadlineRisk
) -> None:
    now = 20_000 * DAY_MS
    deadline = now + round(days_left * DAY_MS)
    counts = {20_000 - d: int(rate) for d in range(1, 15)} if rate else {}
    current = pace(remaining, counts, now, start_ms=now - 14 * DAY_MS)
    outlook = deadline_outlook(current, deadline, now)
    assert outlook.risk is risk
    if risk in (DeadlineRisk.ON_TRACK, DeadlineRisk.AT_RISK, DeadlineRisk.BEHIND):
        assert outlook.required_rate_per_day == pytest.approx(remaining / days_left)
        assert outlook.projected_by_deadline == min(remaining, round(10 * days_left))
        assert outlook.shortfall == remaining - outlook.projected_by_deadline
    if risk is DeadlineRisk.MISSED:
        assert outlook.shortfall == remaining


def test_deadline_risk_of_a_project_read_from_redis(board: TestBoard, clock: ManualClock) -> None:
    to_midnight(clock)
    deadline = clock.now_ms + 4 * DAY_MS
    project = make_project(board, clock, tasks=40, deadline_ms=deadline)
    for _ in range(2):  # 5 results a day: 30 left need 6 days, 2 are left
        clock.advance(12 * 3600)
        for _ in range(5):
            resolve_one(board, project)
        clock.advance(12 * 3600)

    found = read_insights(board, project, now_ms=clock.now_ms)

    assert found.deadline.risk is DeadlineRisk.BEHIND
    assert found.deadline.deadline_ms == deadline
    assert found.deadline.remaining == 30
    assert found.deadline.rate_per_day == pytest.approx(5.0)
    assert found.deadline.required_rate_per_day == pytest.approx(15.0)
    assert found.deadline.projected_by_deadline == 10
    assert found.deadline.shortfall == 20
    assert found.deadline.finish_ms == clock.now_ms + 6 * DAY_MS


# -- the review backlog and its lag ----------------------------------------------------------------


def test_review_lag_on_a_manual_clock(board: TestBoard, clock: ManualClock) -> None:
    project = make_project(board, clock, tasks=3, redundancy=2)
    opened_at = []
    for _ in range(3):  # items opened an hour apart
        opened_at.append(clock.now_ms)
        split_to_review(board, project, (new_volunteer_id(), new_volunteer_id()))
        clock.advance(3600)
    clock.advance(2 * 3600)  # now: 5 h, 4 h and 3 h after they opened

    found = read_insights(board, project, now_ms=clock.now_ms)
    assert found.review.waiting == 3
    assert found.review.oldest_opened_ms == opened_at[0]
    assert found.review.oldest_wait_ms == 5 * HOUR_MS
    assert found.review.median_wait_ms == 4 * HOUR_MS
    assert found.review.decided_median_wait_ms is None
    assert found.review.decided_sample == 0

    clock.advance(3600)  # the oldest is decided 6 h after it opened
    item = review(board, project, new_volunteer_id(), "accept")
    assert item.task_id == found.review.oldest_task_id

    after = read_insights(board, project, now_ms=clock.now_ms)
    assert after.review.waiting == 2
    assert after.review.oldest_opened_ms == opened_at[1]
    assert after.review.oldest_wait_ms == 5 * HOUR_MS
    assert after.review.median_wait_ms == round(4.5 * HOUR_MS)  # 5 h and 4 h
    assert after.review.decided_median_wait_ms == 6 * HOUR_MS
    assert after.review.decided_sample == 1


def test_quality_shares_and_volunteer_quality(board: TestBoard, clock: ManualClock) -> None:
    # Auto-accepted results: four single answers.
    auto = make_project(board, clock, tasks=4)
    for _ in range(4):
        resolve_one(board, auto)
    found = read_insights(board, auto, now_ms=clock.now_ms)
    assert found.quality.results == 4
    assert found.quality.auto_accepted == 4
    assert found.quality.auto_share == 1.0
    assert found.quality.mean_confidence is not None
    assert 0.6 <= found.quality.mean_confidence <= 1.0
    assert found.quality.agreement_rate == 1.0

    # Split pairs: one accepted by a reviewer, one reopened, one rejected.
    project = make_project(board, clock, tasks=3, redundancy=2)
    ada, bob = new_volunteer_id(), new_volunteer_id()
    for _ in range(3):
        split_to_review(board, project, (ada, bob))
    reviewer = new_volunteer_id()
    actions = [review(board, project, reviewer, a) for a in ("accept", "reopen", "reject")]
    assert len(actions) == 3
    # Ada answers two gold tasks, one right, one wrong (scored by the caller, as the API does).
    board.set_policy(project, BoardPolicy(redundancy=2, gold=GoldPolicy(1.0, 1.0)))
    gold_answer = {"answer": {"label": "spam"}}
    board.create_tasks(project, [NewTask(dict(PAYLOAD), gold=gold_answer) for _ in range(2)])
    for correct in (True, False):
        lease = board.run(board.ops.claim(project, ada, draws=(0.0, 0.0)))
        assert isinstance(lease, Claimed) and lease.gold, lease
        label = "spam" if correct else "ok"
        board.run(
            board.ops.submit(
                lease.assignment_id, ada, {"label": label}, 20, float(correct), correct
            )
        )

    found = read_insights(board, project, now_ms=clock.now_ms)
    quality = found.quality
    assert quality.results == 2  # the accepted one and the rejected one
    assert (quality.auto_accepted, quality.reviewed, quality.rejected) == (0, 1, 1)
    assert quality.auto_share == 0.0
    assert quality.mean_confidence is None
    assert (quality.agreed, quality.disagreed) == (0, 3)
    assert quality.agreement_rate == 0.0
    assert quality.review_actions == {"accept": 1, "correct": 0, "reopen": 1, "reject": 1}

    people = {v.volunteer_id: v for v in found.volunteers}
    assert found.volunteers_total == 2
    assert found.volunteers[0].volunteer_id == ada  # most answers first
    assert people[ada].answers == 5
    assert (people[ada].gold_answered, people[ada].gold_correct) == (2, 1)
    assert people[ada].gold_accuracy == 0.5
    assert (people[ada].reopened, people[ada].rejected) == (1, 1)
    assert people[ada].reopen_rate == pytest.approx(1 / 3)
    assert people[bob].answers == 3
    assert people[bob].gold_accuracy is None
    assert people[bob].reopen_rate == pytest.approx(1 / 3)

    # An erasure removes the volunteer's counters.
    board.run(forget_volunteer(board.keys, project, ada))
    again = read_insights(board, project, now_ms=clock.now_ms)
    assert [v.volunteer_id for v in again.volunteers] == [bob]


def test_states_over_time_are_daily_snapshots_carried_over_quiet_days(
    board: TestBoard, clock: ManualClock
) -> None:
    to_midnight(clock)
    project = make_project(board, clock, tasks=6)
    clock.advance(3600)
    fold_project(board, project)  # day 0: 6 open
    clock.advance(24 * 3600)
    for _ in range(2):
        resolve_one(board, project)
    fold_project(board, project)  # day 1: 4 open, 2 resolved
    clock.advance(2 * 24 * 3600)  # day 2 has no fold; day 3 is read

    found = read_insights(board, project, now_ms=clock.now_ms)
    series = found.states_over_time
    assert [s.measured for s in series] == [True, True, False, True]
    assert series[0].counts["open"] == 6
    assert series[1].counts["open"] == 4 and series[1].counts["resolved"] == 2
    assert series[2].counts == series[1].counts
    assert series[3].day.toordinal() - series[0].day.toordinal() == 3
    assert found.counts["resolved"] == 2


# -- the fold --------------------------------------------------------------------------------------


def test_each_event_is_folded_once_whatever_the_chunks_or_concurrency(
    board: TestBoard, clock: ManualClock, redis_client: redis.Redis
) -> None:
    project = make_project(board, clock, tasks=30)
    for _ in range(12):
        resolve_one(board, project)

    # One event per call, from four threads at once.
    def fold_slowly() -> None:
        while board.run(fold_call(board.keys, board.clock, project, limit=1)).more:
            pass

    threads = [threading.Thread(target=fold_slowly) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slow = read_insights(board, project, now_ms=clock.now_ms)

    redis_client.delete(board.keys.project(project).insights)  # fold again from the start
    assert fold_all(board) > 0
    fresh = read_insights(board, project, now_ms=clock.now_ms)
    assert slow.quality.results == fresh.quality.results == 12
    assert slow.answers_per_day == fresh.answers_per_day
    assert sum(d.value for d in fresh.answers_per_day) == 12
    assert fold_all(board) == 0  # nothing new


def test_a_backlog_bigger_than_the_fold_budget_reads_as_incomplete(
    board: TestBoard, clock: ManualClock
) -> None:
    project = make_project(board, clock, tasks=3)
    for _ in range(3):
        resolve_one(board, project)
    partial = read_insights(board, project, now_ms=clock.now_ms, max_fold_calls=0)
    assert not partial.complete
    assert partial.quality.results == 0
    full = read_insights(board, project, now_ms=clock.now_ms)
    assert full.complete and full.quality.results == 3


def test_async_read_equals_the_sync_read(
    board: TestBoard, clock: ManualClock, redis_url: str
) -> None:
    project = make_project(board, clock, tasks=5, redundancy=2)
    split_to_review(board, project, (new_volunteer_id(), new_volunteer_id()))
    clock.advance(600)
    expected = read_insights(board, project, now_ms=clock.now_ms)

    async def read() -> Any:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await read_insights_async(
                AsyncBoard(client, clock=clock), project, now_ms=clock.now_ms
            )
        finally:
            await client.aclose()

    assert asyncio.run(read()) == expected
    assert expected.review.oldest_wait_ms == 600_000


# -- "instructions unclear" ------------------------------------------------------------------------


def test_unclear_reports(board: TestBoard, clock: ManualClock) -> None:
    project = make_project(board, clock, tasks=3)
    ada, bob = new_volunteer_id(), new_volunteer_id()
    first = board.claim(project, ada)
    second = board.claim(project, ada)
    assert isinstance(first, Claimed) and isinstance(second, Claimed)

    report = board.run(record_unclear(board.keys, board.clock, project, ada, first.task_id))
    assert report is not None
    clock.advance(60)
    note = "Is <b>spam</b> the same as an advert?"
    later = board.run(record_unclear(board.keys, board.clock, project, ada, second.task_id, note))
    assert later is not None
    # Once per volunteer and task.
    assert board.run(record_unclear(board.keys, board.clock, project, ada, first.task_id)) is None
    # Bob never claimed the task: the same refusal as a random id.
    with pytest.raises(TaskNotFound):
        board.run(record_unclear(board.keys, board.clock, project, bob, first.task_id))
    with pytest.raises(TaskNotFound):
        board.run(record_unclear(board.keys, board.clock, project, ada, "not-a-task"))
    with pytest.raises(InvalidRequest):
        record_unclear(board.keys, board.clock, project, ada, first.task_id, "x" * 501)
    assert MAX_NOTE_LENGTH == 500

    reports, total = board.run(list_reports(board.keys, project))
    assert total == 2
    assert [r.task_id for r in reports] == [second.task_id, first.task_id]  # newest first
    assert reports[0].note == note and reports[0].volunteer_id == ada
    assert reports[0].at_ms == clock.now_ms and reports[1].at_ms == clock.now_ms - 60_000
    older, _ = board.run(list_reports(board.keys, project, before=reports[0].report_id))
    assert [r.task_id for r in older] == [first.task_id]
    assert read_insights(board, project, now_ms=clock.now_ms).unclear_reports == 2

    assert forget_reports(board.client, board.keys, project, ada) == 2
    assert board.run(list_reports(board.keys, project)) == ([], 0)
    # Forgotten marks: the volunteer may report again.
    assert board.run(record_unclear(board.keys, board.clock, project, ada, first.task_id))


def test_unclear_reports_are_capped(board: TestBoard, clock: ManualClock) -> None:
    project = make_project(board, clock, tasks=5)
    volunteer = new_volunteer_id()
    tasks = []
    for _ in range(5):
        lease = board.claim(project, volunteer)
        assert isinstance(lease, Claimed)
        tasks.append(lease.task_id)
    for task in tasks:
        board.run(record_unclear(board.keys, board.clock, project, volunteer, task, keep=3))
    reports, total = board.run(list_reports(board.keys, project))
    assert total == 3
    assert [r.task_id for r in reports] == tasks[:1:-1]
