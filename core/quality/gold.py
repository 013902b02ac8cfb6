"""What a volunteer's answer to a gold task turns into, once scored (``gold.answered``).

The API scores a gold answer as it is submitted (``core.board.answers.score_gold``; submit.lua keeps
the qualification record in the same step). This runs afterwards, in the ``quality.gold``
actor: the volunteer gets a feedback item (their score, the expected answer, the NGO's
explanation when there is one) and their reputation takes the gold evidence. Both are
idempotent (the feedback item's id and the reputation update's event id are the submission's),
so a redelivered event changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError

from core.board.runner import Board
from core.board.script_calls import Commands
from core.quality.outcomes import PipelineOps
from core.quality.reputation import apply_updates, gold_update
from task_types import InvalidAnswer
from task_types import get as get_task_type

__all__ = ["GoldSettled", "settle_gold_answer"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class GoldSettled:
    feedback: bool  # a feedback item was added by this call
    reputation: bool  # the reputation update was applied by this call


def _gold_context(board: Board, project_id: str, task_id: str) -> Commands[list[Any]]:
    pk = board.keys.project(project_id)
    commands = [
        ("HGET", pk.project, "doc"),
        ("HGET", pk.payloads, task_id),
        ("HGET", pk.gold, task_id),
        ("HGET", pk.answers, task_id),
    ]
    return Commands(commands, lambda replies: [json.loads(r) if r else None for r in replies])


def settle_gold_answer(board: Board, project_id: str, fields: Mapping[str, str]) -> GoldSettled:
    task_id, volunteer = fields["task"], fields["volunteer"]
    submission = fields["submission"]
    document, payload, gold, answers = board.run(_gold_context(board, project_id, task_id))
    if not (document and payload is not None and gold):
        log.warning("gold.context_missing", project_id=project_id, task_id=task_id)
        return GoldSettled(False, False)
    entry = next((a for a in answers or [] if a.get("submission_id") == submission), None)
    if entry is not None and entry.get("volunteer_id") != volunteer:
        return GoldSettled(False, False)  # the volunteer was erased since: nobody to tell
    correct = fields.get("correct") == "1"
    item = {
        "id": f"{project_id}:gold:{submission}",
        "kind": "gold",
        "project_id": project_id,
        "task_id": task_id,
        "outcome": "correct" if correct else "incorrect",
        "score": float(fields.get("score") or 0.0),
        "expected": gold.get("answer"),
        "explanation": gold.get("explanation"),
        "qualification": fields.get("qualification") or None,
        "at": int(fields.get("at") or 0),
    }
    ops = PipelineOps(board.keys, board.clock)
    added = bool(board.run(ops.add_feedback(volunteer, item)))
    applied = False
    if entry is not None:
        applied = _reputation(
            board, project_id, volunteer, submission, document, payload, gold, entry
        )
    return GoldSettled(added, applied)


def _reputation(
    board: Board,
    project_id: str,
    volunteer: str,
    submission: str,
    document: Mapping[str, Any],
    payload: Mapping[str, Any],
    gold: Mapping[str, Any],
    entry: Mapping[str, Any],
) -> bool:
    kind = get_task_type(str(document.get("task_type")))
    try:
        parsed = kind.parse_payload(payload)
        answer = kind.normalise(parsed, kind.answer_model.model_validate(entry.get("answer")))
        expected = kind.normalise(parsed, kind.answer_model.model_validate(gold.get("answer")))
    except (ValidationError, InvalidAnswer):
        log.warning("gold.unreadable", project_id=project_id, submission=submission)
        return False
    update = gold_update(kind, project_id, submission, parsed, answer, expected)
    return apply_updates(board, {volunteer: update}) > 0
