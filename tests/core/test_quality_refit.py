"""The periodic per-project refit (core.quality.refit) on the real Redis and the real scripts:
Dawid-Skene over the project's recent answers replaces the online confusion counts, once per
refit, reading a bounded window, never touching a decided task (issue 15)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import redis

from core.board.runner import NewTask
from core.clock import ManualClock
from core.ids import new_volunteer_id
from core.quality.aggregation import Outcome, aggregate_task
from core.quality.project_quality import (
    QUALITY_FIELD,
    REFIT_EARLY,
    RecentMember,
    parse_recent,
    record_decision,
)
from core.quality.refit import SHARE_WINDOW, refit_project
from core.quality.reputation import ReputationOps, Update, apply_updates
from core.quality.reputation_model import Source, evidence_deltas
from task_types.reliability import Evidence, Reliability
from tests.support.board import TestBoard
from tests.support.quality import (
    LABELS,
    PAYLOAD,
    answer_and_aggregate,
    moderation_project,
    store_decided,
)
from tests.support.snapshots import store_contents


def theta(board: TestBoard, project: str, volunteer: str, true: str) -> float:
    """The volunteer's estimated probability of answering ``true`` when it is the truth."""
    [found] = board.run(
        ReputationOps(board.keys, board.clock).reliabilities(project, "moderation", [volunteer])
    )
    assert isinstance(found, Reliability)
    return math.exp(found.label_log_likelihoods(true, LABELS)[LABELS.index(true)])


def wrongly_credit(board: TestBoard, project: str, volunteer: str, times: int) -> None:
    """Early mistakes: credits saying ``volunteer`` answered ``ok`` right, many times."""
    for n in range(times):
        evidence = Evidence(right=1.0, label="ok", truth={"ok": 1.0})
        deltas = tuple(evidence_deltas("moderation", project, evidence, Source.AGREEMENT))
        apply_updates(board, {volunteer: Update(f"early:{project}:{n}", deltas)})


def crowd_with_a_liar(board: TestBoard, project: str, tasks: int) -> tuple[list[str], str]:
    """Three volunteers who answer right and one who always answers the other label."""
    good = [new_volunteer_id() for _ in range(3)]
    liar = new_volunteer_id()
    for task in range(tasks):
        truth = LABELS[task % 2]
        other = LABELS[1 - task % 2]
        store_decided(board, project, task, [*((v, truth) for v in good), (liar, other)])
    return good, liar


def test_the_refit_corrects_early_mistakes(board: TestBoard) -> None:
    project = moderation_project(board)
    good, liar = crowd_with_a_liar(board, project, tasks=60)
    wrongly_credit(board, project, liar, times=20)
    assert theta(board, project, liar, "ok") > 0.8  # the online counts trust the liar

    done = refit_project(board, project, "r1")

    assert done is not None and done.tasks == 60 and done.volunteers == 4
    assert theta(board, project, liar, "ok") < 0.3
    assert theta(board, project, liar, "spam") < 0.3
    for volunteer in good:
        assert theta(board, project, volunteer, "ok") > 0.8
        assert theta(board, project, volunteer, "spam") > 0.8


def rep_hashes(board: TestBoard, volunteers: Sequence[str]) -> dict[str, Any]:
    return {v: board.client.hgetall(board.keys.reputation(v)) for v in volunteers}


def test_a_redelivered_refit_writes_nothing_again(board: TestBoard, clock: ManualClock) -> None:
    project = moderation_project(board)
    good, liar = crowd_with_a_liar(board, project, tasks=30)
    first = refit_project(board, project, "r7")
    assert first is not None and first.volunteers == 4
    after_first = rep_hashes(board, [*good, liar])
    # Online evidence arrives after the refit; the redelivered refit must not undo it.
    wrongly_credit(board, project, liar, times=3)
    after_credit = rep_hashes(board, [*good, liar])
    clock.advance(1)  # a redelivery comes later

    again = refit_project(board, project, "r7")

    assert again is not None and again.volunteers == 0
    assert rep_hashes(board, [*good, liar]) == after_credit
    assert after_credit[liar] != after_first[liar]


def test_a_refit_reads_a_bounded_window_of_the_newest_tasks(board: TestBoard) -> None:
    project = moderation_project(board)
    crowd_with_a_liar(board, project, tasks=50)
    done = refit_project(board, project, "r1", max_tasks=20)
    assert done is not None
    assert (done.tasks, done.answers) == (20, 80)
    state = json.loads(str(board.client.hget(board.keys.project(project).project, QUALITY_FIELD)))
    assert state["refit"]["tasks"] == 20


def test_a_decision_is_recorded_once_and_the_refit_comes_due(board: TestBoard) -> None:
    project = moderation_project(board)
    pk = board.keys.project(project)
    due = []
    for task in range(400):
        recorded = board.run(record_decision(pk, board.clock, f"t{task:010d}", 3, 0.9))
        due.append(recorded.refit_due)
    # Early and often while the project is young (every 20 up to 200), then every 200.
    young = [20, 40, 60, 80, 100, 120, 140, 160, 180, 200]
    assert [i + 1 for i, d in enumerate(due) if d] == sorted({*REFIT_EARLY, *young, 400})
    # The same decision again (a redelivered message) is not counted twice.
    again = board.run(record_decision(pk, board.clock, "t0000000019", 3, 0.9))
    assert not again.refit_due
    assert board.client.zcard(pk.quality_recent) == 400


def resolve(board: TestBoard, project: str, labels: Sequence[str]) -> str:
    task_id, outcome = answer_and_aggregate(board, project, labels)
    assert outcome in (Outcome.RESOLVED, Outcome.REVIEW), outcome
    return task_id


def decided_state(raw: redis.Redis, board: TestBoard, project: str) -> dict[bytes, Any]:
    """Every key of the project, its hash without the refit's own ``quality`` field."""
    tag = f"{{p:{project}}}".encode()
    contents = store_contents(raw, lambda key: tag in key)
    project_key = board.keys.project(project).project.encode()
    kind, fields, expires = contents[project_key]
    contents[project_key] = (kind, [(k, v) for k, v in fields if k != b"quality"], expires)
    return contents


def test_the_refit_never_changes_a_recorded_decision(board: TestBoard, redis_url: str) -> None:
    project = moderation_project(board, agreement=0.6)
    board.create_tasks(project, [NewTask(dict(PAYLOAD)) for _ in range(6)])
    decided = [resolve(board, project, ["spam", "spam", "ok"]) for _ in range(3)]
    decided += [resolve(board, project, ["ok", "spam", "ok"]) for _ in range(3)]
    raw = redis.Redis.from_url(redis_url)
    before = decided_state(raw, board, project)

    done = refit_project(board, project, "r1")

    assert done is not None and done.tasks == 6
    assert decided_state(raw, board, project) == before
    for task_id in decided:  # a redelivered aggregation still finds nothing to do
        assert aggregate_task(board, project, task_id).outcome is Outcome.NOTHING
    assert decided_state(raw, board, project) == before
    raw.close()


def test_the_threshold_is_chosen_on_the_newest_decisions(
    board: TestBoard, clock: ManualClock
) -> None:
    """Confidences rise as records grow: older, less confident decisions would make the
    chosen threshold send fewer tasks to review than the target."""
    project = moderation_project(board)
    pk = board.keys.project(project)
    old = [0.5] * 100  # a young project's decisions, all at the ceiling
    new = [0.80 + 0.19 * n / (SHARE_WINDOW - 1) for n in range(SHARE_WINDOW)]
    for task, confidence in enumerate([*old, *new]):
        clock.advance(1)
        board.run(record_decision(pk, board.clock, f"t{task:010d}", 3, confidence))

    done = refit_project(board, project, "r1")

    assert done is not None and done.choice.decisions == SHARE_WINDOW
    assert done.choice.reason == "share_target"
    # A tenth of the newest decisions lie under the threshold (on all 300, a third would).
    assert 0.81 < done.choice.threshold < 0.83


def test_the_share_the_newest_decisions_sent_to_review_steers_the_next_threshold(
    board: TestBoard, clock: ManualClock
) -> None:
    """4 % of the newest decisions went to review for a 10 % target: the refit aims at 13 %."""
    project = moderation_project(board)
    pk = board.keys.project(project)
    for task in range(SHARE_WINDOW):
        clock.advance(1)
        confidence = 0.85 + 0.149 * task / (SHARE_WINDOW - 1)
        recording = record_decision(
            pk, board.clock, f"t{task:010d}", 3, confidence, reviewed=task % 25 == 0
        )
        board.run(recording)
    members = parse_recent(board.client.zrange(pk.quality_recent, 0, -1))
    assert sum(m.reviewed for m in members) == SHARE_WINDOW // 25

    done = refit_project(board, project, "r1")

    assert done is not None and done.choice.reason == "share_target"
    assert done.choice.expected_share is not None
    assert 0.12 < done.choice.expected_share <= 0.13
    assert "4% of the last 200 decisions went to review" in done.choice.note


def test_a_member_recorded_before_the_review_flag_reads_as_not_reviewed() -> None:
    old, new = "t0000000001|3|0.910000", "t0000000002|5|0.610000|r"
    assert parse_recent([old, new, "garbage", "t3|x|0.5"]) == [
        RecentMember("t0000000001", 3, 0.91, False),
        RecentMember("t0000000002", 5, 0.61, True),
    ]


def test_a_task_decided_again_counts_as_its_newest_decision(
    board: TestBoard, clock: ManualClock
) -> None:
    """Reopened by a reviewer and decided again: the refit reads the newest decision of each
    task, not the first one it was given."""
    project = moderation_project(board)
    pk = board.keys.project(project)
    for again, confidence in ((False, 0.5), (True, 0.99)):
        for task in range(20):
            clock.advance(1)
            recording = record_decision(
                pk, board.clock, f"t{task:010d}", 3 + again, confidence, reviewed=not again
            )
            board.run(recording)

    done = refit_project(board, project, "r1")

    assert done is not None and done.choice.decisions == 20
    assert done.choice.reason == "share_target", done.choice.note
    assert done.choice.expected_accuracy == 0.99
