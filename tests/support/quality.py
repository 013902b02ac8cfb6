"""A moderation project for the quality tests (refit, provisional answers), and its tasks as
the board keeps them: answered through the real claim and submit scripts and aggregated, or
written as decided (payload, answers, a recorded decision)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from core.board.runner import BoardPolicy, Claimed
from core.ids import new_volunteer_id
from core.quality.aggregation import Outcome, aggregate_task
from core.quality.project_quality import record_decision
from tests.support.board import TestBoard

LABELS = ["ok", "spam"]
PAYLOAD = {"content": "Win a prize", "labels": LABELS}


def moderation_project(board: TestBoard, agreement: float | None = None) -> str:
    """Three answers per task, no ceiling above them, no spot checks."""
    document = {
        "name": "quality",
        "task_type": "moderation",
        "redundancy": 3,
        "review": {"agreement": agreement, "spot_check_rate": 0.0},
        "instructions": "Label it.",
        "created_at_ms": board.clock.script_now() or 0,
    }
    return board.create_project(BoardPolicy(redundancy=3), document=document)


def ceiling_project(board: TestBoard, task_type: str = "moderation") -> tuple[str, dict[str, Any]]:
    """A project of ``task_type`` asking 3 answers, one more at a time up to 5; no spot checks.
    Its id and its document."""
    document: dict[str, Any] = {
        "name": "quality",
        "task_type": task_type,
        "redundancy": 3,
        "max_redundancy": 5,
        "review": {"agreement": None, "spot_check_rate": 0.0},
        "instructions": "Answer it.",
        "created_at_ms": board.clock.script_now() or 0,
    }
    return board.create_project(BoardPolicy(redundancy=3), document=document), document


def store_gold_task(
    board: TestBoard,
    project: str,
    task: int,
    payload: Mapping[str, Any],
    truth: Mapping[str, Any],
    given: Sequence[Mapping[str, Any]],
) -> None:
    """A gold task as the board keeps it (its answer ``truth``), with the answers new
    volunteers gave it."""
    pk = board.keys.project(project)
    task_id = f"g{task:010d}"
    board.client.hset(pk.gold, task_id, json.dumps({"answer": truth}))
    board.client.hset(pk.payloads, task_id, json.dumps(payload))
    entries = [{"volunteer_id": new_volunteer_id(), "answer": answer} for answer in given]
    board.client.hset(pk.answers, task_id, json.dumps(entries))


def answer_and_aggregate(
    board: TestBoard, project: str, labels: Sequence[str]
) -> tuple[str, Outcome]:
    """New volunteers claim the next task and give it ``labels``; then it is aggregated."""
    task_id = ""
    for label in labels:
        volunteer = new_volunteer_id()
        lease = board.claim(project, volunteer)
        assert isinstance(lease, Claimed), lease
        board.submit(lease.assignment_id, volunteer, {"label": label})
        task_id = lease.task_id
    return task_id, aggregate_task(board, project, task_id).outcome


def store_decided(
    board: TestBoard,
    project: str,
    task: int,
    votes: Sequence[tuple[str, str]],
    *,
    confidence: float = 0.9,
    guess: str = "",
) -> str:
    """A decided moderation task as the board keeps it: payload, answers, a recorded decision
    (with a provisional answer when ``guess`` is given: a task sent to review)."""
    answers = [(volunteer, {"label": label}) for volunteer, label in votes]
    return store_decided_task(board, project, task, PAYLOAD, answers, confidence, guess)


def store_decided_task(
    board: TestBoard,
    project: str,
    task: int,
    payload: Mapping[str, Any],
    answers: Sequence[tuple[str, Mapping[str, Any]]],
    confidence: float,
    guess: str = "",
) -> str:
    """A decided task of any type as the board keeps it (``answers``: volunteer, answer);
    sent to review, with ``guess`` as its provisional answer, when one is given."""
    pk = board.keys.project(project)
    task_id = f"t{task:010d}"
    entries = [{"volunteer_id": volunteer, "answer": answer} for volunteer, answer in answers]
    board.client.hset(pk.payloads, task_id, json.dumps(payload))
    board.client.hset(pk.answers, task_id, json.dumps(entries))
    recording = record_decision(
        pk, board.clock, task_id, len(entries), confidence, provisional=guess, reviewed=bool(guess)
    )
    board.run(recording)
    return task_id
