"""Provisional answers (core.quality.provisional) on the real Redis and the real scripts: a task
sent to review shows the aggregation's best guess, each refit judges it again (label types by
their Dawid-Skene posterior, others by their own aggregation), a reviewer's
decision or the task's deletion removes it, and a refit never brings one back (issue 15)."""

from __future__ import annotations

import threading
from typing import Any

from core.board.runner import NewTask, ReviewClaimed, ReviewDecision
from core.ids import new_volunteer_id
from core.privacy.projects import task_deletion
from core.quality import provisional
from core.quality.aggregation import Outcome, aggregate_task
from core.quality.project_quality import parse_recent
from core.quality.refit import refit_project
from core.quality.reputation import Update, apply_updates
from core.quality.reputation_model import Source, evidence_deltas
from task_types.reliability import Evidence
from tests.support.board import TestBoard
from tests.support.quality import (
    LABELS,
    PAYLOAD,
    answer_and_aggregate,
    ceiling_project,
    moderation_project,
    store_decided,
    store_decided_task,
)


def stored(board: TestBoard, project: str, task_id: str) -> provisional.Provisional | None:
    return provisional.parse(board.client.hget(board.keys.project(project).provisional, task_id))


def test_a_task_sent_to_review_shows_the_aggregations_guess_until_a_reviewer_decides(
    board: TestBoard,
) -> None:
    project = moderation_project(board, agreement=0.99)
    board.create_tasks(project, [NewTask(dict(PAYLOAD)) for _ in range(2)])
    split, outcome = answer_and_aggregate(board, project, ["ok", "spam", "ok"])
    assert outcome is Outcome.REVIEW

    shown = stored(board, project, split)
    assert shown is not None and shown.by == "aggregation"
    assert shown.answer["label"] == "ok" and 0.0 < shown.confidence < 0.99
    view = board.get_task(project, split)
    assert view.state == "in_review" and view.provisional == shown.model_dump(exclude_none=True)
    # The decision is remembered as one that sent its task to review (the refit counts them).
    [member] = parse_recent(board.client.zrange(board.keys.project(project).quality_recent, 0, -1))
    assert (member.task_id, member.reviewed) == (split, True)
    # A redelivered aggregation changes nothing.
    assert aggregate_task(board, project, split).outcome is Outcome.NOTHING
    assert stored(board, project, split) == shown

    reviewer = new_volunteer_id()
    board.client.sadd(board.keys.project(project).reviewers, reviewer)
    item = board.claim_review(project, reviewer)
    assert isinstance(item, ReviewClaimed) and item.task_id == split
    correction = ReviewDecision("correct", answer={"label": "spam"})
    board.decide_review(item.review_id, reviewer, correction)

    assert stored(board, project, split) is None
    assert board.get_task(project, split).provisional is None


def test_an_accepted_task_has_no_provisional_answer(board: TestBoard) -> None:
    project = moderation_project(board, agreement=0.5)
    board.create_tasks(project, [NewTask(dict(PAYLOAD))])
    task_id, outcome = answer_and_aggregate(board, project, ["spam", "spam", "spam"])
    assert outcome is Outcome.RESOLVED
    assert stored(board, project, task_id) is None
    [member] = parse_recent(board.client.zrange(board.keys.project(project).quality_recent, 0, -1))
    assert (member.task_id, member.reviewed) == (task_id, False)
    assert board.get_task(project, task_id).provisional is None


def test_the_refit_judges_a_task_waiting_for_review_again(board: TestBoard) -> None:
    """Sent to review early with the wrong guess: two of three said ``ok``, but one of them
    always answers the other label, which the project's later tasks show."""
    project = moderation_project(board, agreement=0.99)
    good = [new_volunteer_id() for _ in range(3)]
    liar, newcomer = new_volunteer_id(), new_volunteer_id()
    early = provisional.encode({"label": "ok"}, 0.55, "aggregation")
    waiting = store_decided(
        board,
        project,
        0,
        [(good[0], "spam"), (liar, "ok"), (newcomer, "ok")],
        guess=early,
        confidence=0.6,
    )
    for task in range(1, 61):
        truth, other = LABELS[task % 2], LABELS[1 - task % 2]
        store_decided(board, project, task, [*((v, truth) for v in good), (liar, other)])

    done = refit_project(board, project, "r1")

    assert done is not None
    shown = stored(board, project, waiting)
    assert shown is not None and shown.by == "refit" and shown.refit_id == "r1"
    assert shown.answer == {"label": "spam"} and shown.confidence > 0.5
    # Only the task waiting for a reviewer got one; a redelivered refit writes the same.
    assert board.client.hlen(board.keys.project(project).provisional) == 1
    refit_project(board, project, "r1")
    assert stored(board, project, waiting) == shown


def test_a_refit_never_brings_back_a_provisional_answer_a_decision_removed(
    board: TestBoard,
) -> None:
    """Reviewers settle tasks (the entry goes, as decide_review.lua does) while refits write
    their guesses, on real threads: no settled task shows a provisional answer afterwards."""
    project = moderation_project(board, agreement=0.99)
    pk = board.keys.project(project)
    volunteers = [new_volunteer_id() for _ in range(3)]
    guess = provisional.encode({"label": "ok"}, 0.55, "aggregation")
    tasks = [
        store_decided(
            board, project, t, [(v, LABELS[t % 2]) for v in volunteers], guess=guess, confidence=0.6
        )
        for t in range(200)
    ]
    settled = tasks[::2]
    start = threading.Barrier(2)

    def settle() -> None:
        start.wait()
        for task_id in settled:
            board.client.hdel(pk.provisional, task_id)

    def refit() -> None:
        start.wait()
        for n in range(5):
            refit_project(board, project, f"r{n}")

    threads = [threading.Thread(target=settle), threading.Thread(target=refit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    left = set(board.client.hkeys(pk.provisional))
    assert left == set(tasks[1::2])
    assert all(stored(board, project, t) is not None for t in tasks[1::2])


def test_deleting_a_task_removes_its_provisional_answer(board: TestBoard) -> None:
    project = moderation_project(board, agreement=0.99)
    board.create_tasks(project, [NewTask(dict(PAYLOAD))])
    task_id, outcome = answer_and_aggregate(board, project, ["ok", "spam", "ok"])
    assert outcome is Outcome.REVIEW and stored(board, project, task_id) is not None

    board.run(task_deletion(board.keys, project, task_id))

    assert stored(board, project, task_id) is None


FORM = {"document": {"text": "donation slip"}, "fields": [{"name": "name", "type": "string"}]}


def named(name: str) -> dict[str, Any]:
    """A data-entry answer to FORM."""
    return {"values": {"name": name}}


def field_record(board: TestBoard, project: str, volunteer: str, right: float, n: int) -> None:
    """``n`` gold readings of the name field, right with probability ``right``."""
    evidence = Evidence(right=right, fields={"name": right})
    deltas = tuple(evidence_deltas("data_entry", project, evidence, Source.GOLD))
    for k in range(n):
        apply_updates(board, {volunteer: Update(f"gold:{project}:{volunteer}:{k}", deltas)})


def test_the_refit_judges_a_data_entry_task_waiting_for_review_again(board: TestBoard) -> None:
    """Three readings nobody shared, sent to review while nobody had a record; the guess was
    the careless volunteer's. The refit, with the record each has built since, shows the
    careful one's (data entry has no EM: its own aggregation, with today's reliabilities)."""
    project, _ = ceiling_project(board, "data_entry")
    careful, careless, stranger = (new_volunteer_id() for _ in range(3))
    early = provisional.encode(named("Fatou Ba"), 0.34, "aggregation")
    waiting = store_decided_task(
        board,
        project,
        0,
        FORM,
        [
            (careless, named("Fatou Ba")),
            (careful, named("Awa Sow")),
            (stranger, named("Jean Dupont")),
        ],
        0.4,
        guess=early,
    )
    accepted = store_decided_task(
        board, project, 1, FORM, [(careful, named("Ami Fall")), (careless, named("Ami Fall"))], 0.9
    )
    field_record(board, project, careful, 1.0, 30)
    field_record(board, project, careless, 0.0, 30)
    # Out of time before it starts: the guess stays (the refit is bounded in time).
    refit_project(board, project, "r0", max_seconds=0.0)
    assert stored(board, project, waiting) == provisional.parse(early)

    done = refit_project(board, project, "r1")

    assert done is not None
    shown = stored(board, project, waiting)
    assert shown is not None and (shown.by, shown.refit_id) == ("refit", "r1")
    assert shown.answer == {"values": {"name": "Awa Sow"}}
    assert shown.confidence > 0.5
    # Only the task waiting for a reviewer; a redelivered refit writes the same.
    assert stored(board, project, accepted) is None
    refit_project(board, project, "r1")
    assert stored(board, project, waiting) == shown
