"""What a reviewer's decision turns into: the task's result, and feedback to its volunteers.

:func:`settle_review` runs on ``review.decided`` (the ``reviews.settle`` actor). The decision was
recorded, and the task resolved, rejected or reopened, by ``decide_review`` in the same script
that emitted the event; what is left:

- ``accept`` / ``correct``: publish the result (method ``review``, confidence 1.0, the chosen or
  corrected answer from ``P:decisions``, in its type's canonical form);
- ``reject``: publish a result with no answer (method ``rejected``), so the NGO hears that the
  task is closed and why;
- ``reopen``: nothing to publish (the task collects one more answer and is decided again later,
  under a new decision id).

Each volunteer who answered gets one feedback item: ``upheld`` (their answer agrees with the
final one), ``overturned``, or ``rejected``, with the reviewer's comment if any; never the answer
or the payload. The result is published once per decision (decision id
``<task>:<review token>``), and a feedback item once per volunteer (its id), so a second run
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from core.aggregation import agrees, canonical_answer, parse_task
from core.board import Board
from core.pipeline_ops import PipelineOps
from core.results import Result, publish_result

__all__ = ["Settled", "settle_review"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Settled:
    task_id: str
    published: bool  # a result was published by this call (False: none to publish, or before)
    cursor: str | None = None  # the result's entry in the results feed
    feedback: int = 0  # feedback items added by this call
    reason: str = ""  # why nothing was published


def settle_review(
    board: Board, project_id: str, task_id: str, review_id: str, action: str
) -> Settled:
    if action == "reopen":
        return Settled(task_id, False, reason="reopened")
    decision = board.decision(project_id, task_id)
    # P:decisions keeps the latest decision only. An older one can only have been a reopen
    # (accept, correct and reject close the task), which publishes nothing.
    if decision is None or decision.get("review") != review_id:
        return Settled(task_id, False, reason="superseded")
    ops = PipelineOps(board.keys, board.clock)
    parsed = parse_task(board.run(ops.aggregation_context(project_id, task_id)))
    decision_id = f"{task_id}:{review_id.rsplit('.', 1)[-1]}"
    contributors = [str(e["volunteer_id"]) for e in parsed.entries if e.get("volunteer_id")]
    decided_at = int(decision["at"])

    final: dict[str, Any] | None
    if action in ("accept", "correct") and isinstance(decision.get("answer"), dict):
        final = canonical_answer(parsed.kind, parsed.payload, decision["answer"])
        method = "review"
    elif action == "reject":
        final, method = None, "rejected"
    else:
        log.warning("review.unknown_decision", task_id=task_id, action=action)
        return Settled(task_id, False, reason="unknown_action")

    result = Result(
        task_id,
        final,
        confidence=1.0,
        method=method,
        decided_at_ms=decided_at,
        contributors=contributors,
    )
    published = board.run(publish_result(board.keys, project_id, result, decision_id=decision_id))

    added = 0
    accepted = decision.get("submission_id")
    for entry, answer in zip(parsed.entries, parsed.answers, strict=True):
        volunteer = entry.get("volunteer_id")
        if not volunteer:
            continue
        if final is None:
            outcome = "rejected"
        elif (action == "accept" and entry.get("submission_id") == accepted) or agrees(
            parsed.kind, parsed.payload, answer, final
        ):
            outcome = "upheld"
        else:
            outcome = "overturned"
        item = {
            "id": f"{project_id}:{decision_id}",
            "kind": "review",
            "project_id": project_id,
            "task_id": task_id,
            "outcome": outcome,
            "comment": decision.get("comment"),
            "at": decided_at,
        }
        added += int(board.run(ops.add_feedback(str(volunteer), item)))
    return Settled(task_id, published.created, published.cursor, added)
