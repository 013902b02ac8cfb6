"""One realistic scenario per routed actor, for tests/workers/test_actor_idempotency.py.

Each builder brings a real board (real Redis, a manual clock) to the moment just before an
actor runs: the event it reacts to is in the project's stream, and the scenario's ``message``
is exactly what the relay would send for it (``Router``: project id, stream entry id, fields).
``effects`` counts what a person would see of the actor's work — a result in the cursor feed,
a feedback item, a webhook at the receiver, a review opened — and each count is 1 after one run.

Scenarios are keyed by ``(event type, actor name)``, the pairs of ``workers.routing.ROUTES``;
the scheduler's ``results.deliver_due`` (sent by the scheduler's tick, not the relay) has one too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.board.models import GoldPolicy
from core.board.operations import text
from core.board.runner import BoardPolicy, Claimed, NewTask, ReviewClaimed, ReviewDecision
from core.clock import ManualClock
from core.delivery.records import DueDelivery
from core.ids import new_volunteer_id
from core.projects.reevaluation import close_collection
from core.quality.aggregation import aggregate_task
from tests.support.board import TestBoard
from tests.support.delivery import Answer, Clock, Receiver, set_endpoint
from tests.support.pipeline import (
    Submission,
    answer,
    events,
    last_event,
    project_document,
    results,
)
from workers.delivery.deliverer import DELIVER_DUE, Deliverer
from workers.delivery.dispatch import dispatch_due
from workers.delivery.webhook_client import Reply
from workers.routing import (
    PROJECTS_REEVALUATE,
    QUALITY_GOLD,
    RESULTS_DELIVER,
    REVIEWS_SETTLE,
    STATS_RECORD,
    TASKS_AGGREGATE,
    TASKS_REVIEW_STALLED,
)

__all__ = ["SCENARIOS", "SCHEDULER_TICK", "Scenario", "World"]

#: The "event" of the scheduler's due-delivery messages (they do not come from a stream).
SCHEDULER_TICK = "scheduler.tick"
ORG = "org_idempotency"
POST = {"content": "BUY CHEAP PILLS NOW", "labels": ["ok", "spam", "abuse"]}
SPAM, OK = {"label": "spam"}, {"label": "ok"}


@dataclass
class World:
    """What a scenario is built in: the board, the webhook side, and their clocks."""

    board: TestBoard
    board_clock: ManualClock
    redis_url: str
    receiver: Receiver  # a real local HTTP server, the organisation's endpoint
    deliverer: Deliverer  # the one the delivery actors use (installed by the test)
    delivery_clock: Clock


@dataclass(frozen=True)
class Scenario:
    message: tuple[Any, ...]  # the actor's arguments, as its message carries them
    effects: Callable[[], Mapping[str, int]]  # each is 1 after one run


Builder = Callable[[World], Scenario]


# -- shared steps -------------------------------------------------------------------------------


def new_project(world: World, *, redundancy: int = 3, **policy: Any) -> str:
    """A moderation project of the organisation, as ``POST /v1/projects`` leaves it."""
    document = {
        "name": "Forum posts",
        "org_id": ORG,
        "task_type": "moderation",
        "redundancy": redundancy,
        "max_redundancy": policy.pop("max_redundancy", None),
        "review": {"agreement": policy.pop("agreement", None), "spot_check_rate": 0.0},
        "instructions": "Flag rule breakers.",
    }
    board_policy = BoardPolicy(redundancy=redundancy, **policy)
    return world.board.create_project(board_policy, document=document)


def new_task(world: World, project: str) -> str:
    [created] = world.board.create_tasks(project, [NewTask(POST, external_id="post-1")])
    return created.task_id


def agreed_result(world: World) -> tuple[str, tuple[str, dict[str, str]], list[Submission]]:
    """Three agreeing answers, aggregated: the project, its ``result.published`` event, who."""
    project = new_project(world)
    task_id = new_task(world, project)
    submissions = answer(world.board, project, [SPAM, SPAM, SPAM])
    aggregate_task(world.board, project, task_id)
    return project, last_event(world.board, project, "result.published"), submissions


def count(board: TestBoard, project: str, kind: str) -> int:
    return len(events(board, project, kind))


def feedback_items(board: TestBoard, volunteer_id: str) -> int:
    return int(board.client.llen(board.keys.volunteer_feedback(volunteer_id)))


def stat(board: TestBoard, volunteer_id: str, name: str) -> int:
    value = board.client.hget(board.keys.volunteer_stats(volunteer_id), name)
    return int(value or 0)


def gold_evidence(board: TestBoard, volunteer_id: str) -> int:
    """Gold answers applied to the volunteer's reputation (one marker per event applied)."""
    names = board.client.hkeys(board.keys.reputation(volunteer_id))
    return sum(1 for name in names if text(name).startswith("applied:gold"))


def redundancy_lowered(world: World, project: str, redundancy: int) -> tuple[str, dict[str, str]]:
    """What ``PATCH /v1/projects/{id}`` writes for a new redundancy: document and policy."""
    document = project_document(world.board, project)
    document["redundancy"] = redundancy
    world.board.update_project(project, {"doc": json.dumps(document), "redundancy": redundancy})
    return last_event(world.board, project, "project.updated")


def message(project: str, event: tuple[str, dict[str, str]]) -> tuple[Any, ...]:
    event_id, fields = event
    return (project, event_id, fields)


# -- one builder per route ----------------------------------------------------------------------


def last_answer_to_aggregate(world: World) -> Scenario:
    """``answer.submitted`` completing a task whose three answers agree: one result."""
    project = new_project(world)
    new_task(world, project)
    last = answer(world.board, project, [SPAM, SPAM, SPAM])[-1]
    board = world.board
    return Scenario(
        (project, last.event_id, last.fields),
        lambda: {
            "results in the feed": len(results(board, project)),
            "result.published events": count(board, project, "result.published"),
        },
    )


def closed_collection_to_aggregate(world: World) -> Scenario:
    """``task.collection_closed``: a policy walk closed a task's collection at two agreeing
    answers (the redundancy went from 3 to 2) and died before deciding it."""
    project = new_project(world)
    task_id = new_task(world, project)
    answer(world.board, project, [SPAM, SPAM])
    redundancy_lowered(world, project, 2)
    board = world.board
    assert board.run(close_collection(board.keys, world.board_clock, project, task_id, 2))
    closed = last_event(board, project, "task.collection_closed")
    return Scenario(
        message(project, closed),
        lambda: {"results in the feed": len(results(board, project))},
    )


def answer_to_stats(world: World) -> Scenario:
    """``answer.submitted`` of a volunteer's first answer: counted in their stats."""
    project = new_project(world)
    new_task(world, project)
    [first] = answer(world.board, project, [SPAM], seconds_spent=90)
    board = world.board
    return Scenario(
        (project, first.event_id, first.fields),
        lambda: {"answers counted": stat(board, first.volunteer_id, "tasks")},
    )


def result_to_stats(world: World) -> Scenario:
    """``result.published``: each contributor's answer counted as decided (and accepted)."""
    project, published, submissions = agreed_result(world)
    board = world.board
    return Scenario(
        message(project, published),
        lambda: {
            f"decided answers of contributor {n}": stat(board, s.volunteer_id, "decided")
            for n, s in enumerate(submissions, 1)
        },
    )


def result_to_delivery(world: World) -> Scenario:
    """``result.published`` in a project whose organisation has a webhook: one POST."""
    set_endpoint(world.redis_url, ORG, world.receiver.url)
    project, published, _ = agreed_result(world)
    receiver = world.receiver
    return Scenario(
        message(project, published),
        lambda: {"webhooks received": len(receiver.requests)},
    )


def due_retry_to_delivery(world: World) -> Scenario:
    """The scheduler's ``results.deliver_due`` for a retry: the first attempt got a 503."""
    set_endpoint(world.redis_url, ORG, world.receiver.url)
    project, (_, fields), _ = agreed_result(world)
    world.receiver.answers.append(Answer(503))
    first: Reply | None = world.deliverer.on_result(project, fields["result"])
    assert first is not None and first.status == 503
    world.delivery_clock.advance(10)  # past the first retry's delay (5 s, jitter up to 7.5 s)
    taken: list[DueDelivery] = []
    dispatch_due(world.deliverer.store, taken.append, world.delivery_clock.ms)
    [due] = taken
    world.receiver.requests.clear()
    receiver = world.receiver
    return Scenario(
        (due.org_id, due.delivery_id, due.token),
        lambda: {"webhooks received": len(receiver.requests)},
    )


def decision_to_settle(world: World) -> Scenario:
    """``review.decided``: a 1-1 split at its ceiling, the reviewer accepts "spam"."""
    board = world.board
    project = new_project(world, redundancy=2, agreement=0.6)
    task_id = new_task(world, project)
    answered = answer(board, project, [SPAM, OK])
    aggregate_task(board, project, task_id)
    reviewer = new_volunteer_id()
    board.client.sadd(board.keys.project(project).reviewers, reviewer)
    item = board.claim_review(project, reviewer)
    assert isinstance(item, ReviewClaimed)
    spam = next(a for a in item.answers if a["answer"]["label"] == "spam")
    board.decide_review(item.review_id, reviewer, ReviewDecision.accepting(spam, comment="spam"))
    decided = last_event(board, project, "review.decided")
    return Scenario(
        message(project, decided),
        lambda: {
            "results in the feed": len(results(board, project)),
            **{
                f"feedback items of answerer {n}": feedback_items(board, s.volunteer_id)
                for n, s in enumerate(answered, 1)
            },
        },
    )


def decision_to_stats(world: World) -> Scenario:
    """``review.decided``: the reviewer's decision counted in their stats."""
    board = world.board
    project = new_project(world, redundancy=2, agreement=0.6)
    task_id = new_task(world, project)
    answer(board, project, [SPAM, OK])
    aggregate_task(board, project, task_id)
    reviewer = new_volunteer_id()
    board.client.sadd(board.keys.project(project).reviewers, reviewer)
    item = board.claim_review(project, reviewer)
    assert isinstance(item, ReviewClaimed)
    board.decide_review(item.review_id, reviewer, ReviewDecision("reject"))
    decided = last_event(board, project, "review.decided")
    return Scenario(
        message(project, decided),
        lambda: {"review decisions counted": stat(board, reviewer, "reviews")},
    )


def stalled_to_review(world: World) -> Scenario:
    """``task.stalled``: its only allowed lease expired unanswered; a reviewer must decide."""
    board = world.board
    project = new_project(world, lease_seconds=60, max_attempts=1)
    new_task(world, project)
    assert isinstance(board.claim(project, new_volunteer_id()), Claimed)
    world.board_clock.advance(61)
    assert board.expire_leases(project, limit=1)
    stalled = last_event(board, project, "task.stalled")
    return Scenario(
        message(project, stalled),
        lambda: {"reviews opened": count(board, project, "review.opened")},
    )


def gold_answer_to_quality(world: World) -> Scenario:
    """``gold.answered``: a volunteer's correct answer to a gold task, scored at submission."""
    board = world.board
    project = new_project(world, redundancy=1, gold=GoldPolicy(start_rate=1.0, end_rate=1.0))
    gold = {"answer": SPAM, "explanation": "Selling pills is spam."}
    board.create_tasks(project, [NewTask(POST, external_id="gold-1", gold=gold)])
    volunteer = new_volunteer_id()
    lease = board.claim(project, volunteer)
    assert isinstance(lease, Claimed)
    board.run(board.ops.submit(lease.assignment_id, volunteer, SPAM, 30.0, 1.0, True))
    answered = last_event(board, project, "gold.answered")
    return Scenario(
        message(project, answered),
        lambda: {
            "feedback items": feedback_items(board, volunteer),
            "gold evidence applied": gold_evidence(board, volunteer),
        },
    )


def policy_change_to_reevaluate(world: World) -> Scenario:
    """``project.updated`` lowering the redundancy to 2: a task with two agreeing answers is
    now complete, and the walk decides it."""
    project = new_project(world)
    new_task(world, project)
    answer(world.board, project, [SPAM, SPAM])
    updated = redundancy_lowered(world, project, 2)
    board = world.board
    return Scenario(
        message(project, updated),
        lambda: {
            "collections closed": count(board, project, "task.collection_closed"),
            "results in the feed": len(results(board, project)),
        },
    )


SCENARIOS: dict[tuple[str, str], Builder] = {
    ("answer.submitted", TASKS_AGGREGATE): last_answer_to_aggregate,
    ("answer.submitted", STATS_RECORD): answer_to_stats,
    ("review.decided", REVIEWS_SETTLE): decision_to_settle,
    ("review.decided", STATS_RECORD): decision_to_stats,
    ("task.stalled", TASKS_REVIEW_STALLED): stalled_to_review,
    ("gold.answered", QUALITY_GOLD): gold_answer_to_quality,
    ("result.published", RESULTS_DELIVER): result_to_delivery,
    ("result.published", STATS_RECORD): result_to_stats,
    ("project.updated", PROJECTS_REEVALUATE): policy_change_to_reevaluate,
    ("task.collection_closed", TASKS_AGGREGATE): closed_collection_to_aggregate,
    (SCHEDULER_TICK, DELIVER_DUE): due_retry_to_delivery,
}
