"""The quality refit in the pipeline (issue 15): ``tasks.aggregate`` asks for it every so many
decisions, the ``quality.refit`` actor runs it through a real dramatiq worker, and decisions use
what it learnt: at the ceiling the threshold chosen for the review share, below it one more
answer as before (dynamic redundancy)."""

from __future__ import annotations

import json

from dramatiq.brokers.redis import RedisBroker

from core.quality.project_quality import QUALITY_FIELD, REFIT_EARLY
from tests.support.board import TestBoard
from tests.support.pipeline import (
    SAMPLES,
    actor,
    add_task,
    answer,
    drain,
    make_project,
    results,
    running_worker,
    task_record,
)
from workers.routing import QUALITY_QUEUE, QUALITY_REFIT, TASKS_AGGREGATE, TASKS_QUEUE

CHOSEN = {
    "calibration": {"a": 1.0, "b": 0.0, "checks": 0},
    "threshold": {"threshold": 0.8, "reason": "share_target", "expected_share": 0.1,
                  "expected_accuracy": 0.93, "decisions": 200, "note": "chosen"},
}  # fmt: skip


def test_the_chosen_threshold_accepts_at_the_ceiling_and_extends_below_it(
    board: TestBoard, broker: RedisBroker
) -> None:
    payload, _, disagreeing = SAMPLES["moderation"]  # spam, ok, spam: posterior 0.7
    project = make_project(board, "moderation", max_redundancy=4)
    board.client.hset(board.keys.project(project).project, QUALITY_FIELD, json.dumps(CHOSEN))
    task_id = add_task(board, project, payload)

    first = answer(board, project, disagreeing)
    actor(broker, TASKS_AGGREGATE)(project, first[-1].event_id, first[-1].fields)
    # Below the ceiling the type's own 0.9 asks for one more answer (0.7 < 0.9)...
    assert task_record(board, project, task_id)["need"] == 4

    fourth = answer(board, project, [{"label": "spam"}])  # 3 to 1: 0.84
    actor(broker, TASKS_AGGREGATE)(project, fourth[-1].event_id, fourth[-1].fields)
    # ...and at the ceiling 0.84 clears the chosen 0.8: resolved, not sent to a reviewer.
    assert task_record(board, project, task_id)["state"] == "resolved"
    [result] = results(board, project)
    assert json.loads(result["answer"])["label"] == "spam"


def test_aggregation_asks_for_a_refit_which_a_worker_runs(
    board: TestBoard, broker: RedisBroker
) -> None:
    payload, agreeing, _ = SAMPLES["moderation"]
    project = make_project(board, "moderation")
    pk = board.keys.project(project)
    # One decision short of the first refit.
    board.client.hset(pk.project, "quality_since", min(REFIT_EARLY) - 1)
    add_task(board, project, payload)
    submissions = answer(board, project, agreeing)

    with running_worker(broker) as worker:
        actor(broker, TASKS_AGGREGATE)(project, submissions[-1].event_id, submissions[-1].fields)
        drain(broker, worker, [TASKS_QUEUE, QUALITY_QUEUE])

    state = json.loads(str(board.client.hget(pk.project, QUALITY_FIELD)))
    assert state["refit"]["id"] == submissions[-1].event_id
    assert state["refit"]["tasks"] == 1
    assert state["threshold"]["reason"] == "default"  # too few decisions to choose one yet


def test_a_redelivered_refit_message_writes_no_reputation_twice(
    board: TestBoard, broker: RedisBroker
) -> None:
    payload, agreeing, _ = SAMPLES["moderation"]
    project = make_project(board, "moderation")
    add_task(board, project, payload)
    submissions = answer(board, project, agreeing)
    actor(broker, TASKS_AGGREGATE)(project, submissions[-1].event_id, submissions[-1].fields)
    refit = actor(broker, QUALITY_REFIT)
    keys = [board.keys.reputation(s.volunteer_id) for s in submissions]

    refit(project, "e1", {})
    once = [board.client.hgetall(key) for key in keys]
    refit(project, "e1", {})

    assert [board.client.hgetall(key) for key in keys] == once
    assert all(any(str(name).startswith("applied:refit:") for name in found) for found in once)
