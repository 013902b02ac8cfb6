"""What a reviewer's decision turns into: the task's result, and feedback to its volunteers.

:func:`settle_review` runs on ``review.decided`` (the ``reviews.settle`` actor). The decision was
recorded, and the task resolved, rejected or reopened, by ``decide_review`` in the same script
that emitted the event; what is left:

- ``accept`` / ``correct``: publish the result (method ``review``, confidence 1.0, the chosen or
  corrected answer from ``P:decisions``, in its type's canonical form);
- ``reject``: publish a result with no answer (method ``rejected``), so the NGO hears that the
  task is closed and why;
- ``reopen``: nothing to publish (the task collects one more answer and is decided again later,
  under a new decision id); each volunteer who answered hears that it was reopened, with the
  reviewer's comment.

Each volunteer who answered gets one feedback item: ``upheld`` (their answer agrees with the
final one), ``overturned``, ``rejected`` or ``reopened``, with the reviewer's comment if any,
the decision (``action``: accept, correct, reject, reopen), the ``review`` id and the
volunteer's own ``submission_id``; never the answer or the payload, which "My work" reads from the
project (so they go when the project's data goes). Items written before these three fields have
``outcome`` and ``comment`` only. The result is published once per decision (decision id
``<task>:<review token>``), and a feedback item once per volunteer (its id), so a second run
changes nothing.

Reputations (:mod:`core.quality.reputation`): accept and correct judge every answer against the
final one (hard evidence), after taking back the soft credit an agreement gave on the task, so a
spot-checked result the reviewer overturns costs those who agreed on it. A rejected task takes
the credit back only, and so does a reopen (QUALITY.md: "reopen / reject → retract the stored
soft part"): the result the volunteers were credited for no longer stands. The reopen names the
answers the task now asks for, so it only takes back a credit from a decision on fewer: when the
task was already decided again by the time this runs (the events race), the new decision's
credit stays. Once per review, like the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from core.board.runner import Board
from core.delivery.results import Result, publish_result
from core.ids import VOLUNTEER_ID
from core.quality.aggregation import ParsedTask, agrees, canonical_answer, parse_task
from core.quality.outcomes import PipelineOps
from core.quality.reputation import apply_updates, review_updates
from task_types import InvalidAnswer

__all__ = ["Settled", "settle_review"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Settled:
    task_id: str
    published: bool  # a result was published by this call (False: none to publish, or before)
    cursor: str | None = None  # the result's entry in the results feed
    feedback: int = 0  # feedback items added by this call
    reason: str = ""  # why nothing was published
    reputations: int = 0  # volunteers whose reputation this call updated


def settle_review(
    board: Board, project_id: str, task_id: str, review_id: str, action: str
) -> Settled:
    if action == "reopen":
        return _reopened(board, project_id, task_id, review_id)
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
        if not volunteer or not VOLUNTEER_ID.match(str(volunteer)):
            continue  # none, or an erased volunteer's pseudonym: no feedback to give
        if final is None:
            outcome = "rejected"
        elif (action == "accept" and entry.get("submission_id") == accepted) or agrees(
            parsed.kind, parsed.payload, answer, final
        ):
            outcome = "upheld"
        else:
            outcome = "overturned"
        item = _feedback_item(
            f"{project_id}:{decision_id}", project_id, task_id, review_id, decision, entry
        )
        item["outcome"] = outcome
        added += int(board.run(ops.add_feedback(str(volunteer), item)))
    judged = _judge_answers(board, project_id, task_id, review_id, parsed, final)
    return Settled(task_id, published.created, published.cursor, added, reputations=judged)


def _feedback_item(
    item_id: str,
    project_id: str,
    task_id: str,
    review_id: str,
    decision: dict[str, Any],
    entry: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": item_id,
        "kind": "review",
        "project_id": project_id,
        "task_id": task_id,
        "review": review_id,
        "action": decision.get("action"),
        "submission_id": entry.get("submission_id"),
        "comment": decision.get("comment"),
        "at": int(decision["at"]),
    }


def _reopened(board: Board, project_id: str, task_id: str, review_id: str) -> Settled:
    """A reopen publishes nothing; the agreement credit on the task, if any, goes, and the
    volunteers who answered hear of it."""
    ops = PipelineOps(board.keys, board.clock)
    context = board.run(ops.aggregation_context(project_id, task_id))
    if context.task is None:
        return Settled(task_id, False, reason="reopened")
    # A decision is taken on `need` answers and a reopen raises the need past them: a credit
    # from a decision on fewer answers than the need now is from before this reopen (or from
    # before a later one, which undid it too).
    need = int(context.task.get("need", 0))
    parsed = parse_task(context)
    added = 0
    # P:decisions keeps the latest decision: this reopen's, unless another came since (then
    # the later decision tells the volunteers what became of the task).
    decision = board.decision(project_id, task_id)
    if decision is not None and decision.get("review") == review_id:
        item_id = f"{project_id}:{task_id}:{review_id.rsplit('.', 1)[-1]}"
        for entry in parsed.entries:
            volunteer = entry.get("volunteer_id")
            if not volunteer or not VOLUNTEER_ID.match(str(volunteer)):
                continue
            if int(entry.get("at", 0)) > int(decision["at"]):
                continue  # answered after the reopen: not what the reviewer saw
            item = _feedback_item(item_id, project_id, task_id, review_id, decision, entry)
            item["outcome"] = "reopened"
            added += int(board.run(ops.add_feedback(str(volunteer), item)))
    judged = _judge_answers(board, project_id, task_id, review_id, parsed, None, reopened_to=need)
    return Settled(task_id, False, reason="reopened", feedback=added, reputations=judged)


def _judge_answers(
    board: Board,
    project_id: str,
    task_id: str,
    review_id: str,
    parsed: ParsedTask,
    final: dict[str, Any] | None,
    *,
    reopened_to: int | None = None,
) -> int:
    """The decision's effect on the reputations of the task's volunteers."""
    authored = [
        (str(entry["volunteer_id"]), answer)
        for entry, answer in zip(parsed.entries, parsed.answers, strict=True)
        if VOLUNTEER_ID.match(str(entry.get("volunteer_id") or ""))
    ]
    truth: BaseModel | None = None
    if final is not None:
        try:
            model = parsed.kind.answer_model.model_validate(final)
            truth = parsed.kind.normalise(parsed.payload, model)
        except (ValidationError, InvalidAnswer):
            truth = None  # a final answer its type no longer reads: only the credit goes
    updates = review_updates(
        parsed.kind,
        project_id,
        task_id,
        review_id,
        parsed.payload,
        [answer for _, answer in authored],
        [volunteer for volunteer, _ in authored],
        truth,
        reopened_to=reopened_to,
    )
    return apply_updates(board, updates)
