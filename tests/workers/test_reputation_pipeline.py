"""Reputations in the event pipeline, on a real Redis through the real actors: the aggregation
weighs answers by them and credits agreement, touching the task's volunteers only; a reviewer
overturning a spot-checked result costs those who agreed, and reopening it takes their credit
back; a policy change decides open tasks again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from core.board.runner import BoardPolicy, Claimed, NewTask, ReviewClaimed, ReviewDecision
from core.clock import ManualClock
from core.ids import new_volunteer_id
from core.projects.reevaluation import EVALUATED_POLICY_FIELD, reevaluate_project
from core.quality.reputation import (
    ReputationOps,
    agreement_updates,
    apply_updates,
    gold_update,
    soft_credit,
)
from core.quality.reputation_model import DEFAULT_HALF_LIFE_DAYS, TypeReputation
from core.settings import Settings
from task_types.moderation import TASK_TYPE as MODERATION
from task_types.moderation import ModerationAnswer
from tests.support.board import TestBoard
from tests.support.pipeline import (
    SAMPLES,
    actor,
    add_task,
    answer,
    events,
    last_event,
    make_project,
    project_document,
    results,
    task_record,
)
from workers import runtime
from workers.routing import (
    PROJECTS_QUEUE,
    PROJECTS_REEVALUATE,
    REVIEWS_SETTLE,
    TASKS_AGGREGATE,
    Router,
)

POST, _, _ = SAMPLES["moderation"]  # labels ok / spam


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def board(redis_client: redis.Redis, clock: ManualClock) -> Iterator[TestBoard]:
    """The actors' board on a manual clock: reputations fade with time, so figures read a few
    milliseconds apart on Redis TIME would differ in their last digits."""
    board = TestBoard(redis_client, clock=clock)
    runtime.install(board)
    yield board
    runtime.install(None)


def train(board: TestBoard, project: str, volunteer: str, right: int, wrong: int) -> None:
    """Gold answers on moderation: ``right`` correct ones, ``wrong`` incorrect ones."""
    payload = MODERATION.parse_payload(POST)
    spam, ok = ModerationAnswer(label="spam"), ModerationAnswer(label="ok")
    for n in range(right + wrong):
        answered = spam if n < right else ok
        update = gold_update(MODERATION, project, f"sub_{volunteer}_{n}", payload, answered, spam)
        apply_updates(board, {volunteer: update})


def standing(board: TestBoard, volunteer: str) -> TypeReputation:
    ops = ReputationOps(board.keys, board.clock)
    return board.run(ops.standings(volunteer, ["moderation"]))["moderation"]


def new_task(board: TestBoard, project: str, external_id: str, priority: int = 0) -> str:
    [created] = board.create_tasks(project, [NewTask(POST, external_id, priority)])
    return created.task_id


def volunteer_keys(raw: redis.Redis) -> dict[bytes, bytes]:
    """Every per-volunteer key with its DUMP (``raw``: a client that does not decode)."""
    dumps: dict[bytes, bytes] = {}
    for key in sorted(raw.keys("ruche:vol:*")):
        dumped = raw.dump(key)
        assert isinstance(key, bytes) and dumped is not None
        dumps[key] = dumped
    return dumps


def test_one_update_touches_only_the_volunteers_of_that_task(
    board: TestBoard, broker: RedisBroker, raw: redis.Redis
) -> None:
    project = make_project(board, "moderation")
    bystanders = [new_volunteer_id() for _ in range(4)]
    for volunteer in bystanders:
        train(board, project, volunteer, 3, 1)
    task_id = add_task(board, project, POST)
    submissions = answer(board, project, [{"label": "spam"}] * 3)
    before = volunteer_keys(raw)

    actor(broker, TASKS_AGGREGATE)(project, submissions[-1].event_id, submissions[-1].fields)

    assert task_record(board, project, task_id)["state"] == "resolved"
    after = volunteer_keys(raw)
    changed = {key for key in after if before.get(key) != after[key]}
    assert changed == {board.keys.reputation(s.volunteer_id).encode() for s in submissions}, (
        "only the answering volunteers' reputations change"
    )
    for submission in submissions:
        assert standing(board, submission.volunteer_id).observations == {"agreement": 1.0}


def test_reputations_let_a_reliable_pair_outvote_an_unreliable_trio(
    board: TestBoard, broker: RedisBroker
) -> None:
    project = make_project(board, "moderation", redundancy=5)
    reliable = [new_volunteer_id() for _ in range(2)]
    unreliable = [new_volunteer_id() for _ in range(3)]
    for volunteer in reliable:
        train(board, project, volunteer, 12, 0)
    for volunteer in unreliable:
        train(board, project, volunteer, 2, 10)
    add_task(board, project, POST)
    submissions = answer(
        board,
        project,
        [{"label": "spam"}] * 2 + [{"label": "ok"}] * 3,
        volunteers=reliable + unreliable,
    )

    actor(broker, TASKS_AGGREGATE)(project, submissions[-1].event_id, submissions[-1].fields)

    [result] = results(board, project)
    assert json.loads(result["answer"])["label"] == "spam"
    assert float(result["confidence"]) >= 0.9


def test_an_overturned_spot_check_lowers_the_reputation_of_those_who_agreed(
    board: TestBoard, broker: RedisBroker
) -> None:
    project = make_project(board, "moderation", spot_check_rate=1.0)
    task_id = add_task(board, project, POST)
    submissions = answer(board, project, [{"label": "spam"}] * 3)
    agreers = [s.volunteer_id for s in submissions]
    before = {volunteer: standing(board, volunteer).accuracy for volunteer in agreers}

    actor(broker, TASKS_AGGREGATE)(project, submissions[-1].event_id, submissions[-1].fields)
    assert task_record(board, project, task_id)["state"] == "in_review"
    credited = {volunteer: standing(board, volunteer).accuracy for volunteer in agreers}
    assert all(credited[v] > before[v] for v in agreers)  # the agreement credit

    reviewer = new_volunteer_id()
    board.client.sadd(board.keys.project(project).reviewers, reviewer)
    item = board.claim_review(project, reviewer)
    assert isinstance(item, ReviewClaimed)
    board.decide_review(item.review_id, reviewer, ReviewDecision("correct", answer={"label": "ok"}))
    event_id, fields = last_event(board, project, "review.decided")
    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)
    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)  # redelivered: no second effect

    for volunteer in agreers:
        after = standing(board, volunteer)
        assert after.accuracy < before[volunteer] < credited[volunteer]
        assert (after.right, after.wrong) == (0.0, 1.0)  # credit taken back, one disagreement
        assert after.observations["review"] == 1.0


def test_a_task_sent_to_review_credits_softly_and_the_review_replaces_it(
    board: TestBoard, broker: RedisBroker, raw: redis.Redis
) -> None:
    """Issue 15: learning only from accepted tasks learns nothing where poor volunteers err.
    A disagreement sent to review credits each author with their answer's posterior; the
    reviewer's answer then replaces that credit (once, however often the event comes)."""
    project = make_project(board, "moderation")
    task_id = add_task(board, project, POST)
    submissions = answer(board, project, [{"label": "spam"}, {"label": "spam"}, {"label": "ok"}])
    authors = [s.volunteer_id for s in submissions]

    actor(broker, TASKS_AGGREGATE)(project, submissions[-1].event_id, submissions[-1].fields)
    assert task_record(board, project, task_id)["state"] == "in_review"
    credited = volunteer_keys(raw)
    actor(broker, TASKS_AGGREGATE)(project, submissions[-1].event_id, submissions[-1].fields)
    assert volunteer_keys(raw) == credited  # redelivered: credited once
    escalated = {volunteer: counts(board, project, volunteer) for volunteer in authors}
    for volunteer in authors:
        assert escalated[volunteer]["observations"] == {"agreement": 1.0}
        assert credit_of(board, project, task_id, volunteer) is not None
    # The majority's answers are more likely right than the dissent's.
    assert escalated[authors[0]]["right"] > escalated[authors[2]]["right"] > 0

    reviewer = new_volunteer_id()
    board.client.sadd(board.keys.project(project).reviewers, reviewer)
    item = board.claim_review(project, reviewer)
    assert isinstance(item, ReviewClaimed)
    board.decide_review(item.review_id, reviewer, ReviewDecision("correct", answer={"label": "ok"}))
    event_id, fields = last_event(board, project, "review.decided")
    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)
    settled = volunteer_keys(raw)
    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)  # redelivered: no second effect
    assert volunteer_keys(raw) == settled

    for volunteer, right in zip(authors, (0.0, 0.0, 1.0), strict=True):
        after = counts(board, project, volunteer)
        assert credit_of(board, project, task_id, volunteer) is None
        assert (after["right"], after["wrong"]) == (right, 1.0 - right)  # the review alone
        assert after["observations"] == {"review": 1.0}


def prior_project(board: TestBoard, **document: Any) -> str:
    """A moderation project asking one answer per task, at the default threshold (0.9)."""
    return board.create_project(
        BoardPolicy(redundancy=1),
        document={"name": "prior", "task_type": "moderation", "redundancy": 1,
                  "max_redundancy": None, "review": {"agreement": None}, **document},
    )  # fmt: skip


def test_the_class_prior_comes_from_the_stated_base_rates_and_the_gold_answers(
    board: TestBoard, broker: RedisBroker
) -> None:
    """Issue 15: a uniform prior weighs a lone newcomer's ``ok`` at 0.7 whatever the project's
    traffic; a project that is 95 % ``ok`` (stated, or seen in its gold) decides it."""
    uniform = prior_project(board)
    stated = prior_project(board, base_rates={"ok": 0.95, "spam": 0.05})
    from_gold = prior_project(board)
    board.create_tasks(from_gold, [NewTask(POST, gold={"answer": {"label": "ok"}})] * 30)
    decided = {}
    for project in (uniform, stated, from_gold):
        task_id = new_task(board, project, "post-1")
        [submission] = answer(board, project, [{"label": "ok"}])
        actor(broker, TASKS_AGGREGATE)(project, submission.event_id, submission.fields)
        decided[project] = task_record(board, project, task_id)["state"]
    assert decided == {uniform: "in_review", stated: "resolved", from_gold: "resolved"}
    [result] = results(board, stated)
    # pi(ok) = (0.95 * 50 + 1) / 52: 0.933 * 0.7 against 0.067 * 0.3.
    assert float(result["confidence"]) == pytest.approx(48.5 * 0.7 / (48.5 * 0.7 + 3.5 * 0.3))


# -- reopens -----------------------------------------------------------------------------------


def counts(board: TestBoard, project: str, volunteer: str) -> dict[str, Any]:
    """What the volunteer's reputation holds on moderation and on ``project``: zeros left out (a
    credit taken back leaves its cells at 0), float dust rounded away."""
    ops = ReputationOps(board.keys, board.clock)
    [found] = board.run(ops.reliabilities(project, "moderation", [volunteer]))
    overall = standing(board, volunteer)

    def kept(values: dict[str, float]) -> dict[str, float]:
        return {name: round(value, 9) for name, value in values.items() if round(value, 9)}

    confusion = {true: kept(dict(row)) for true, row in found.confusion.items()}
    return {
        "right": round(overall.right, 9),
        "wrong": round(overall.wrong, 9),
        "observations": kept(dict(overall.observations)),
        "confusion": {true: row for true, row in confusion.items() if row},
    }


def trained(board: TestBoard, volunteers: list[str]) -> str:
    """A project whose results all go to a reviewer (up to 5 answers a task), and volunteers
    with 3 right and 1 wrong gold answers behind them."""
    project = make_project(board, "moderation", spot_check_rate=1.0, max_redundancy=5)
    for volunteer in volunteers:
        train(board, project, volunteer, 3, 1)
    return project


def agree(board: TestBoard, broker: RedisBroker, project: str, volunteers: list[str]) -> str:
    """The volunteers agree on a new task: credited, and the task is in review."""
    task_id = add_task(board, project, POST)
    submissions = answer(board, project, [{"label": "spam"}] * 3, volunteers=volunteers)
    actor(broker, TASKS_AGGREGATE)(project, submissions[-1].event_id, submissions[-1].fields)
    assert task_record(board, project, task_id)["state"] == "in_review"
    return task_id


def reopen(board: TestBoard, project: str) -> tuple[str, dict[str, str]]:
    """A reviewer reopens the project's review item; its ``review.decided`` event."""
    reviewer = new_volunteer_id()
    board.client.sadd(board.keys.project(project).reviewers, reviewer)
    item = board.claim_review(project, reviewer)
    assert isinstance(item, ReviewClaimed)
    board.decide_review(item.review_id, reviewer, ReviewDecision("reopen"))
    return last_event(board, project, "review.decided")


def credit_of(
    board: TestBoard, project: str, task_id: str, volunteer: str
) -> dict[str, Any] | None:
    raw = board.client.hget(board.keys.reputation(volunteer), soft_credit(project, task_id))
    return None if raw is None else dict(json.loads(raw))


def test_a_reopen_takes_back_the_agreement_credit_once(
    board: TestBoard, broker: RedisBroker, raw: redis.Redis
) -> None:
    agreers = [new_volunteer_id() for _ in range(3)]
    project = trained(board, agreers)
    before = {volunteer: counts(board, project, volunteer) for volunteer in agreers}
    task_id = agree(board, broker, project, agreers)
    for volunteer in agreers:
        credited = counts(board, project, volunteer)
        assert credited["observations"]["agreement"] == 1.0
        assert credited["right"] > before[volunteer]["right"]

    event_id, fields = reopen(board, project)
    assert fields["action"] == "reopen"
    assert task_record(board, project, task_id)["state"] == "collecting"
    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)

    for volunteer in agreers:
        assert counts(board, project, volunteer) == before[volunteer]  # that credit, all of it
        assert credit_of(board, project, task_id, volunteer) is None
    settled = volunteer_keys(raw)
    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)  # redelivered
    assert volunteer_keys(raw) == settled


def test_the_next_decision_after_a_reopen_credits_again(
    board: TestBoard, broker: RedisBroker, clock: ManualClock
) -> None:
    agreers = [new_volunteer_id() for _ in range(3)]
    project = trained(board, agreers)
    task_id = agree(board, broker, project, agreers)
    event_id, fields = reopen(board, project)
    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)
    before = {volunteer: counts(board, project, volunteer) for volunteer in agreers}

    fourth = new_volunteer_id()
    voters = [*agreers, fourth]
    ops = ReputationOps(board.keys, board.clock)
    weights = board.run(ops.reliabilities(project, "moderation", voters, deciding=task_id))
    [last] = answer(board, project, [{"label": "spam"}], volunteers=[fourth])
    actor(broker, TASKS_AGGREGATE)(project, last.event_id, last.fields)

    assert task_record(board, project, task_id)["state"] == "in_review"  # spot-checked again
    expected = agreement_updates(
        MODERATION, project, task_id, f"{task_id}:4", MODERATION.parse_payload(POST),
        [ModerationAnswer(label="spam")] * 4, weights, voters,
    )  # fmt: skip
    for volunteer in agreers:
        again = counts(board, project, volunteer)
        gained = {path: amount for _, path, amount in expected[volunteer].deltas}
        assert again["observations"] == {"gold": 4.0, "agreement": 1.0}
        assert again["right"] == pytest.approx(before[volunteer]["right"] + gained[("r",)])
        assert credit_of(board, project, task_id, volunteer) == {
            "at": clock.now_ms,
            "n": 4,
            "d": [[name, list(path), amount] for name, path, amount in expected[volunteer].deltas],
        }


def test_a_reopen_settled_after_the_next_decision_leaves_its_credit(
    board: TestBoard, broker: RedisBroker
) -> None:
    """The events race: the task was reopened, answered and decided again before the reopen's
    settlement ran. That settlement must not take back the new decision's credit."""
    agreers = [new_volunteer_id() for _ in range(3)]
    project = trained(board, agreers)
    task_id = agree(board, broker, project, agreers)
    event_id, fields = reopen(board, project)
    [last] = answer(board, project, [{"label": "spam"}])
    actor(broker, TASKS_AGGREGATE)(project, last.event_id, last.fields)
    decided_again = {volunteer: counts(board, project, volunteer) for volunteer in agreers}
    credits = {volunteer: credit_of(board, project, task_id, volunteer) for volunteer in agreers}
    assert all(credit and credit["n"] == 4 for credit in credits.values())

    actor(broker, REVIEWS_SETTLE)(project, event_id, fields)  # the reopen, late

    for volunteer in agreers:
        assert counts(board, project, volunteer) == decided_again[volunteer]
        assert counts(board, project, volunteer)["observations"]["agreement"] == 1.0
        assert credit_of(board, project, task_id, volunteer) == credits[volunteer]


# -- policy changes ---------------------------------------------------------------------------


def patch_policy(board: TestBoard, project: str, **changes: Any) -> tuple[str, dict[str, str]]:
    """What PATCH /v1/projects/{id} does to the board: a new document (and redundancy)."""
    document = project_document(board, project)
    for name, value in changes.items():
        if name == "agreement":
            document["review"] = {**document["review"], "agreement": value}
        else:
            document[name] = value
    board.update_project(
        project, {"doc": json.dumps(document), "redundancy": int(document["redundancy"])}
    )
    return last_event(board, project, "project.updated")


def test_a_policy_change_decides_again_the_open_tasks_with_answers(
    board: TestBoard, broker: RedisBroker, raw: redis.Redis
) -> None:
    project = make_project(board, "moderation", max_redundancy=5)
    split = [{"label": "spam"}, {"label": "spam"}, {"label": "ok"}]
    # Waiting: 2-1 is short of 0.9, so it asked for a 4th answer. Served last (priority).
    waiting = new_task(board, project, "waiting", priority=-5)
    last = answer(board, project, split)[-1]
    actor(broker, TASKS_AGGREGATE)(project, last.event_id, last.fields)
    assert task_record(board, project, waiting)["state"] == "collecting"
    # Aggregating: all answers in, its aggregation message still on its way.
    pending = new_task(board, project, "pending")
    answer(board, project, split)
    assert task_record(board, project, pending)["state"] == "aggregating"
    # Being answered: someone holds the lease on its 4th slot.
    busy = new_task(board, project, "busy")
    last = answer(board, project, split)[-1]
    actor(broker, TASKS_AGGREGATE)(project, last.event_id, last.fields)
    lease = board.claim(project, new_volunteer_id())
    assert isinstance(lease, Claimed) and lease.task_id == busy
    # No answer yet, whatever the policy.
    young = new_task(board, project, "young")
    young_lease = board.claim(project, new_volunteer_id())
    assert isinstance(young_lease, Claimed) and young_lease.task_id == young

    event_id, fields = patch_policy(board, project, agreement=0.65)
    assert PROJECTS_REEVALUATE in Router(broker).actors_for(fields)
    actor(broker, PROJECTS_REEVALUATE)(project, event_id, fields)

    decided = {r["task_id"]: json.loads(r["answer"])["label"] for r in results(board, project)}
    assert decided == {waiting: "spam", pending: "spam"}
    assert task_record(board, project, busy)["state"] == "collecting"  # its lease is live
    assert task_record(board, project, young)["state"] == "collecting"
    [(_, closed)] = events(board, project, "task.collection_closed")
    assert closed["task"] == waiting
    assert TASKS_AGGREGATE in Router(broker).actors_for(closed)
    assert raw.hget(board.keys.project(project).project, EVALUATED_POLICY_FIELD)

    # The same policy again (a rename, a redelivered event): nothing walked.
    assert not reevaluate_project(board, project).walked
    forced = reevaluate_project(board, project, force=True)
    assert forced.walked and forced.closed == 0 and forced.outcomes == {}
    assert len(results(board, project)) == 2


def test_a_lower_ceiling_sends_waiting_tasks_to_review(
    board: TestBoard, broker: RedisBroker
) -> None:
    project = make_project(board, "moderation", max_redundancy=5)
    task_id = add_task(board, project, POST)
    submissions = answer(board, project, [{"label": "spam"}, {"label": "ok"}, {"label": "spam"}])
    actor(broker, TASKS_AGGREGATE)(project, submissions[-1].event_id, submissions[-1].fields)
    assert task_record(board, project, task_id)["need"] == 4

    event_id, fields = patch_policy(board, project, max_redundancy=3)
    actor(broker, PROJECTS_REEVALUATE)(project, event_id, fields)

    assert task_record(board, project, task_id)["state"] == "in_review"
    assert results(board, project) == []


def test_the_reevaluation_actor_has_a_stable_name_and_retries(broker: RedisBroker) -> None:
    found = actor(broker, PROJECTS_REEVALUATE)
    assert found.queue_name == PROJECTS_QUEUE
    assert found.options["max_retries"] == 10
    assert not found.options["retry_when"](0, KeyError("doc"))
    pause = {"type": "project.updated", "fields": "state"}
    assert Router(broker).actors_for(pause) == []  # a pause alone decides nothing


def test_the_workers_board_fades_reputations_with_the_configured_half_life() -> None:
    settings = Settings(redis_url="redis://localhost:1", reputation_half_life_days=30)
    assert runtime.board_from_settings(settings).reputation_half_life_days == 30
    default = Settings.model_fields["reputation_half_life_days"].default
    assert default == DEFAULT_HALF_LIFE_DAYS == 90
