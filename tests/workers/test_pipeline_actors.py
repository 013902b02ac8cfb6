"""The pipeline's actors on a real Redis: what each event turns into, and that a message handled
twice — in sequence, from concurrent threads, or through a real dramatiq worker — has one
visible effect (one result in the feed, one result.published event, stats counted once)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from core.board.operations import text
from core.board.runner import Claimed, ReviewClaimed, ReviewDecision
from core.ids import new_volunteer_id
from tests.support.board import TestBoard
from tests.support.pipeline import (
    SAMPLES,
    TYPES,
    Submission,
    actor,
    add_task,
    answer,
    call_concurrently,
    drain,
    events,
    last_event,
    make_project,
    results,
    running_worker,
    snapshot,
    task_record,
)
from workers.routing import (
    RESULTS_DELIVER,
    REVIEWS_QUEUE,
    REVIEWS_SETTLE,
    ROUTES,
    STATS_QUEUE,
    STATS_RECORD,
    TASKS_AGGREGATE,
    TASKS_QUEUE,
    Router,
)


def aggregated(board: TestBoard, broker: RedisBroker, project_id: str, last: Submission) -> None:
    actor(broker, TASKS_AGGREGATE)(project_id, last.event_id, last.fields)


# -- names and policies -------------------------------------------------------------------------


def test_actors_have_stable_names_queues_and_explicit_retries(broker: RedisBroker) -> None:
    for name, queue in (
        (TASKS_AGGREGATE, TASKS_QUEUE),
        (REVIEWS_SETTLE, REVIEWS_QUEUE),
        (STATS_RECORD, STATS_QUEUE),
    ):
        found = actor(broker, name)
        assert found.queue_name == queue
        assert found.options["max_retries"] == 10
        retry_when = found.options["retry_when"]
        assert retry_when(0, ConnectionError("redis away"))  # transient: retried
        assert not retry_when(10, ConnectionError("redis away"))  # up to max_retries
        assert not retry_when(0, KeyError("task"))  # a malformed message never helps


# -- aggregation --------------------------------------------------------------------------------


@pytest.mark.parametrize("task_type", TYPES)
def test_agreement_resolves_the_task_and_publishes_one_result(
    board: TestBoard, broker: RedisBroker, task_type: str
) -> None:
    payload, agreeing, _ = SAMPLES[task_type]
    project = make_project(board, task_type)
    task_id = add_task(board, project, payload)
    submissions = answer(board, project, agreeing)

    aggregated(board, broker, project, submissions[-1])

    assert task_record(board, project, task_id)["state"] == "resolved"
    [result] = results(board, project)
    assert result["method"] == "agreement"
    assert result["decision_id"] == f"{task_id}:3"
    assert result["external_id"] == "ext-1"
    assert json.loads(result["contributors"]) == [s.volunteer_id for s in submissions]
    assert 0.6 <= float(result["confidence"]) <= 1.0
    assert json.loads(result["answer"])  # the type's canonical answer
    assert [f["task"] for _, f in events(board, project, "result.published")] == [task_id]
    assert [f["task"] for _, f in events(board, project, "task.resolved")] == [task_id]
    counts = board.counts(project)
    assert (counts["resolved"], counts["aggregating"]) == (1, 0)


@pytest.mark.parametrize("task_type", TYPES)
def test_disagreement_below_the_ceiling_asks_for_one_more_answer(
    board: TestBoard, broker: RedisBroker, task_type: str
) -> None:
    payload, _, disagreeing = SAMPLES[task_type]
    project = make_project(board, task_type, max_redundancy=4)
    task_id = add_task(board, project, payload)
    submissions = answer(board, project, disagreeing)

    aggregated(board, broker, project, submissions[-1])

    record = task_record(board, project, task_id)
    assert (record["state"], record["need"], record["answers"]) == ("collecting", 4, 3)
    assert results(board, project) == []
    [(_, extended)] = events(board, project, "task.extended")
    assert extended["need"] == "4"
    # Claimable again, by someone new only.
    assert board.claim(project, submissions[0].volunteer_id).__class__.__name__ == "NothingToClaim"
    assert isinstance(board.claim(project, new_volunteer_id()), Claimed)


@pytest.mark.parametrize("task_type", TYPES)
def test_disagreement_at_the_ceiling_opens_a_review(
    board: TestBoard, broker: RedisBroker, task_type: str
) -> None:
    payload, _, disagreeing = SAMPLES[task_type]
    project = make_project(board, task_type)  # max_redundancy unset: the redundancy is the cap
    task_id = add_task(board, project, payload)
    submissions = answer(board, project, disagreeing)

    aggregated(board, broker, project, submissions[-1])

    assert task_record(board, project, task_id)["state"] == "in_review"
    [(_, opened)] = events(board, project, "review.opened")
    assert (opened["task"], opened["reason"]) == (task_id, "disagreement")
    assert results(board, project) == []


def test_disagreement_after_the_deadline_goes_to_review_not_back_to_volunteers(
    board: TestBoard, broker: RedisBroker
) -> None:
    payload, _, disagreeing = SAMPLES["moderation"]
    project = make_project(board, "moderation", max_redundancy=4)
    task_id = add_task(board, project, payload)
    submissions = answer(board, project, disagreeing)
    seconds, micros = board.client.time()
    board.update_project(project, {"deadline_ms": seconds * 1000 + micros // 1000})

    aggregated(board, broker, project, submissions[-1])

    assert task_record(board, project, task_id)["state"] == "in_review"
    assert events(board, project, "task.extended") == []


def test_a_fourth_answer_that_settles_it_resolves_with_a_new_decision_id(
    board: TestBoard, broker: RedisBroker
) -> None:
    payload, _, disagreeing = SAMPLES["moderation"]
    project = make_project(board, "moderation", max_redundancy=4, agreement=0.8)
    task_id = add_task(board, project, payload)
    first = answer(board, project, disagreeing)  # spam, ok, spam: posterior 0.7 < 0.8
    aggregated(board, broker, project, first[-1])
    fourth = answer(board, project, [{"label": "spam"}])  # spam x3, ok x1: 0.84

    aggregated(board, broker, project, fourth[-1])

    [result] = results(board, project)
    assert result["decision_id"] == f"{task_id}:4"
    assert json.loads(result["answer"])["label"] == "spam"
    assert len(json.loads(result["contributors"])) == 4


def test_an_agreed_task_sampled_for_spot_check_goes_to_review_unpublished(
    board: TestBoard, broker: RedisBroker
) -> None:
    payload, agreeing, _ = SAMPLES["moderation"]
    project = make_project(board, "moderation", spot_check_rate=1.0)
    task_id = add_task(board, project, payload)
    submissions = answer(board, project, agreeing)

    aggregated(board, broker, project, submissions[-1])

    assert task_record(board, project, task_id)["state"] == "in_review"
    assert last_event(board, project, "review.opened")[1]["reason"] == "spot_check"
    assert results(board, project) == []


def test_the_projects_agreement_threshold_is_used(board: TestBoard, broker: RedisBroker) -> None:
    payload, _, split = SAMPLES["moderation"]  # 2 of 3: posterior 0.7
    project = make_project(board, "moderation", agreement=0.6)
    add_task(board, project, payload)
    submissions = answer(board, project, split)

    aggregated(board, broker, project, submissions[-1])

    [result] = results(board, project)
    assert json.loads(result["answer"])["label"] == "spam"


# -- twice, in sequence and at once ------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["agree", "extend", "review"])
def test_aggregate_twice_in_sequence_changes_nothing_the_second_time(
    board: TestBoard, broker: RedisBroker, raw: redis.Redis, outcome: str
) -> None:
    payload, agreeing, disagreeing = SAMPLES["translation"]
    project = make_project(board, "translation", max_redundancy=4 if outcome == "extend" else None)
    add_task(board, project, payload)
    submissions = answer(board, project, agreeing if outcome == "agree" else disagreeing)

    aggregated(board, broker, project, submissions[-1])
    after_first = snapshot(raw)
    aggregated(board, broker, project, submissions[-1])

    assert snapshot(raw) == after_first


@pytest.mark.parametrize("outcome", ["agree", "extend", "review"])
def test_aggregate_from_eight_threads_at_once_has_one_effect(
    board: TestBoard, broker: RedisBroker, outcome: str
) -> None:
    payload, agreeing, disagreeing = SAMPLES["data_entry"]
    project = make_project(board, "data_entry", max_redundancy=4 if outcome == "extend" else None)
    task_id = add_task(board, project, payload)
    last = answer(board, project, agreeing if outcome == "agree" else disagreeing)[-1]

    call_concurrently(lambda: aggregated(board, broker, project, last), times=8)

    record = task_record(board, project, task_id)
    if outcome == "agree":
        assert record["state"] == "resolved"
        assert len(results(board, project)) == 1
        assert len(events(board, project, "result.published")) == 1
    elif outcome == "extend":
        assert (record["state"], record["need"]) == ("collecting", 4)
        assert len(events(board, project, "task.extended")) == 1
    else:
        assert record["state"] == "in_review"
        assert len(events(board, project, "review.opened")) == 1
    assert sum(board.counts(project).values()) == 1  # per-state counts stayed in step


def test_duplicate_messages_through_a_real_worker_publish_one_result(
    board: TestBoard, broker: RedisBroker
) -> None:
    payload, agreeing, _ = SAMPLES["moderation"]
    project = make_project(board, "moderation")
    add_task(board, project, payload)
    last = answer(board, project, agreeing)[-1]
    aggregate = actor(broker, TASKS_AGGREGATE)
    for _ in range(4):
        aggregate.send(project, last.event_id, last.fields)

    with running_worker(broker, threads=4) as worker:
        drain(broker, worker, [TASKS_QUEUE])

    assert len(results(board, project)) == 1
    assert len(events(board, project, "result.published")) == 1


# -- reviews ------------------------------------------------------------------------------------


def disputed(board: TestBoard, broker: RedisBroker) -> tuple[str, str, list[Submission]]:
    """A moderation task split 1-1 at its ceiling, sent to review."""
    payload, _, _ = SAMPLES["moderation"]
    project = make_project(board, "moderation", redundancy=2, agreement=0.6)
    task_id = add_task(board, project, payload)
    submissions = answer(board, project, [{"label": "spam"}, {"label": "ok"}])
    aggregated(board, broker, project, submissions[-1])
    assert task_record(board, project, task_id)["state"] == "in_review"
    return project, task_id, submissions


def decide(
    board: TestBoard, project: str, decision: ReviewDecision | None, action: str = "accept"
) -> tuple[str, dict[str, str], ReviewClaimed]:
    reviewer = new_volunteer_id()
    board.client.sadd(board.keys.project(project).reviewers, reviewer)
    item = board.claim_review(project, reviewer)
    assert isinstance(item, ReviewClaimed)
    if decision is None:
        spam = next(a for a in item.answers if a["answer"]["label"] == "spam")
        decision = ReviewDecision.accepting(spam, comment="clearly spam")
    board.decide_review(item.review_id, reviewer, decision)
    event_id, fields = last_event(board, project, "review.decided")
    return event_id, fields, item


def feedback(board: TestBoard, volunteer_id: str) -> list[dict[str, Any]]:
    raw = board.client.lrange(board.keys.volunteer_feedback(volunteer_id), 0, -1)
    return [json.loads(item) for item in raw]


def test_an_accepted_answer_is_published_and_both_volunteers_hear_of_it(
    board: TestBoard, broker: RedisBroker
) -> None:
    project, task_id, (spammer, okayer) = disputed(board, broker)
    event_id, fields, item = decide(board, project, None)

    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)

    [result] = results(board, project)
    assert (result["method"], float(result["confidence"])) == ("review", 1.0)
    assert json.loads(result["answer"]) == {"label": "spam", "reasons": []}
    assert result["decision_id"] == f"{task_id}:{item.review_id.rsplit('.', 1)[1]}"
    [upheld] = feedback(board, spammer.volunteer_id)
    [overturned] = feedback(board, okayer.volunteer_id)
    assert (upheld["outcome"], overturned["outcome"]) == ("upheld", "overturned")
    assert upheld["comment"] == "clearly spam"
    assert upheld["task_id"] == task_id and upheld["project_id"] == project
    assert (upheld["action"], upheld["review"]) == ("accept", item.review_id)
    assert upheld["submission_id"] == spammer.submission_id
    assert overturned["submission_id"] == okayer.submission_id
    assert "answer" not in upheld  # feedback never carries answers or payloads


def test_a_correction_is_published_in_its_canonical_form(
    board: TestBoard, broker: RedisBroker
) -> None:
    project, _, (spammer, okayer) = disputed(board, broker)
    correction = ReviewDecision("correct", answer={"label": "OK", "reasons": ["polite"]})
    event_id, fields, _ = decide(board, project, correction, "correct")

    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)

    [result] = results(board, project)
    assert result["method"] == "review"
    assert json.loads(result["answer"]) == {"label": "ok", "reasons": ["polite"]}
    assert feedback(board, okayer.volunteer_id)[0]["outcome"] == "upheld"
    assert feedback(board, spammer.volunteer_id)[0]["outcome"] == "overturned"


def test_a_rejection_is_published_without_an_answer(board: TestBoard, broker: RedisBroker) -> None:
    project, _, submissions = disputed(board, broker)
    event_id, fields, _ = decide(board, project, ReviewDecision("reject"), "reject")

    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)

    [result] = results(board, project)
    assert (result["method"], json.loads(result["answer"])) == ("rejected", None)
    assert {feedback(board, s.volunteer_id)[0]["outcome"] for s in submissions} == {"rejected"}


def test_a_reopen_publishes_nothing_and_the_next_round_decides(
    board: TestBoard, broker: RedisBroker
) -> None:
    project, task_id, submissions = disputed(board, broker)
    reopen = ReviewDecision("reopen", comment="Keep the brand name in English.")
    event_id, fields, _ = decide(board, project, reopen, "reopen")

    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)
    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)  # a second run adds nothing

    assert results(board, project) == []
    # Each answerer reads that the task was reopened, and why, with their own answer named.
    for submission in submissions:
        [item] = feedback(board, submission.volunteer_id)
        assert (item["outcome"], item["comment"]) == ("reopened", reopen.comment)
        assert item["action"] == "reopen"
        assert item["submission_id"] == submission.submission_id
        assert "answer" not in item
    assert task_record(board, project, task_id)["state"] == "collecting"
    third = answer(board, project, [{"label": "spam"}])  # 2 of 3 agree: 0.7 >= 0.6
    aggregated(board, broker, project, third[-1])
    [result] = results(board, project)
    assert result["decision_id"] == f"{task_id}:3"


@pytest.mark.parametrize("action", ["accept", "correct", "reject"])
def test_settle_twice_in_sequence_and_at_once_has_one_effect(
    board: TestBoard, broker: RedisBroker, raw: redis.Redis, action: str
) -> None:
    project, _, submissions = disputed(board, broker)
    decision = {
        "accept": None,
        "correct": ReviewDecision("correct", answer={"label": "spam"}),
        "reject": ReviewDecision("reject"),
    }[action]
    event_id, fields, _ = decide(board, project, decision, action)
    settle = actor(broker, REVIEWS_SETTLE)

    settle(project, event_id, fields)
    after_first = snapshot(raw)
    settle(project, event_id, fields)
    call_concurrently(lambda: settle(project, event_id, fields), times=8)

    assert snapshot(raw) == after_first
    assert len(results(board, project)) == 1
    assert len(events(board, project, "result.published")) == 1
    assert all(len(feedback(board, s.volunteer_id)) == 1 for s in submissions)


# -- stats --------------------------------------------------------------------------------------


def stats(board: TestBoard, volunteer_id: str) -> dict[str, str]:
    raw = board.client.hgetall(board.keys.volunteer_stats(volunteer_id))
    fields = {text(k): text(v) for k, v in raw.items()}
    return {k: v for k, v in fields.items() if not k.startswith(("applied:", "markers_"))}


@pytest.mark.parametrize("task_type", TYPES)
def test_a_submission_is_counted_once_however_often_it_is_recorded(
    board: TestBoard, broker: RedisBroker, task_type: str
) -> None:
    payload, agreeing, _ = SAMPLES[task_type]
    project = make_project(board, task_type)
    add_task(board, project, payload)
    [first] = answer(board, project, agreeing[:1], seconds_spent=90)
    record = actor(broker, STATS_RECORD)

    record(project, first.event_id, first.fields)
    record(project, first.event_id, first.fields)
    call_concurrently(lambda: record(project, first.event_id, first.fields), times=8)

    counted = stats(board, first.volunteer_id)
    assert counted["tasks"] == "1"
    # Lease time (claimed and submitted at once here), not the 90 s the client reported:
    # tests/workers/test_stats_time.py measures it on a manual clock.
    assert float(counted["minutes"]) < 1.5
    [week] = [k for k in counted if k.startswith("week:")]
    assert float(counted[week]) == pytest.approx(float(counted["minutes"]))
    expected = {"translation": 9, "data_entry": 1, "moderation": 1}[task_type]  # words
    assert counted[f"contribution:{task_type}"] == str(expected)


def test_a_result_counts_decided_and_accepted_answers_once(
    board: TestBoard, broker: RedisBroker
) -> None:
    payload, _, split = SAMPLES["moderation"]  # spam, ok, spam
    project = make_project(board, "moderation", agreement=0.6)
    add_task(board, project, payload)
    submissions = answer(board, project, split)
    aggregated(board, broker, project, submissions[-1])
    event_id, fields = last_event(board, project, "result.published")
    record = actor(broker, STATS_RECORD)

    record(project, event_id, fields)
    call_concurrently(lambda: record(project, event_id, fields), times=4)

    tallies = [stats(board, s.volunteer_id) for s in submissions]
    assert [(t["decided"], t["accepted"]) for t in tallies] == [("1", "1"), ("1", "0"), ("1", "1")]


def test_the_whole_chain_through_a_real_worker(board: TestBoard, broker: RedisBroker) -> None:
    """Every event routed as the relay would, duplicated, through one real worker."""
    payload, agreeing, _ = SAMPLES["translation"]
    project = make_project(board, "translation")
    add_task(board, project, payload)
    submissions = answer(board, project, agreeing)
    # Webhook delivery has tests of its own (and this organisation no endpoint).
    routes = {
        kind: tuple(r for r in chosen if r.actor != RESULTS_DELIVER)
        for kind, chosen in ROUTES.items()
    }
    router = Router(broker, routes)
    with running_worker(broker, threads=4) as worker:
        for _ in range(2):
            for event_id, fields in events(board, project):
                router(project, event_id, fields)
        drain(broker, worker, [TASKS_QUEUE, STATS_QUEUE])
        for _ in range(2):  # the result.published the aggregation added
            for event_id, fields in events(board, project, "result.published"):
                router(project, event_id, fields)
        drain(broker, worker, [STATS_QUEUE])

    assert len(results(board, project)) == 1
    for submission in submissions:
        counted = stats(board, submission.volunteer_id)
        assert (counted["tasks"], counted["decided"], counted["accepted"]) == ("1", "1", "1")
