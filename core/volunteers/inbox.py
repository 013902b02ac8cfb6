"""What became of a volunteer's answers, for "My work": each feedback item (reviews and gold
tasks, :func:`core.volunteers.stats.read_feedback`) with the task as the volunteer saw it, their
own answer and the reviewer's decision.

The feedback list names things, never copies them (``core.review.settlement``): the payload,
the answer and the decision are read from the project here, so they go when the project's
data goes (deletion, retention), and the item then says only what it recorded. A payload is
shown only when the volunteer's own answer is still among the task's answers: they saw it while
they held the task (DESIGN.md, invariant 6). Items written before the feedback named the
volunteer's submission find their answer by the volunteer's id.

Reads: one pipeline for every item's project document, payload, answers, decision (and gold
answer), whatever the number of items.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio

from core.board.script_calls import text
from core.redis.keys import Keys

__all__ = ["InboxItem", "read_inbox"]


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: str
    kind: str  # review | gold
    project_id: str
    task_id: str
    outcome: str  # upheld | overturned | rejected | reopened (review); correct | incorrect (gold)
    action: str | None  # the reviewer's decision: accept | correct | reject | reopen
    comment: str | None
    at_ms: int
    #: The project's name and task type; None once the project is gone.
    project_name: str | None
    task_type: str | None
    org_id: str | None
    #: What the volunteer saw and answered; None once gone (or not theirs to see).
    payload: dict[str, Any] | None
    my_answer: dict[str, Any] | None
    #: The answer the reviewer chose or wrote (accept, correct), or the gold answer.
    final_answer: dict[str, Any] | None
    explanation: str | None = None  # gold: the NGO's explanation
    score: float | None = None  # gold: the answer's score against the gold answer


def _json(raw: Any) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(text(raw))
    except ValueError:
        return None


def _mine(
    answers: Sequence[Any], volunteer_id: str, submission_id: str | None
) -> dict[str, Any] | None:
    """The volunteer's answer entry among the task's (by submission when the item names it)."""
    for entry in answers:
        if not isinstance(entry, dict) or entry.get("volunteer_id") != volunteer_id:
            continue
        if submission_id is None or entry.get("submission_id") == submission_id:
            return entry
    return None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _submission_of(item: Mapping[str, Any]) -> str | None:
    named = _string(item.get("submission_id"))
    if named is None and item.get("kind") == "gold":
        # Gold items are named "<project>:gold:<submission id>".
        named = _string(str(item.get("id", "")).rpartition(":gold:")[2])
    return named


async def read_inbox(
    client: redis.asyncio.Redis,
    keys: Keys,
    volunteer_id: str,
    feedback: Sequence[Mapping[str, Any]],
) -> list[InboxItem]:
    """The feedback items with what they refer to, in the order given."""
    items = [
        item
        for item in feedback
        if _string(item.get("project_id")) and _string(item.get("task_id"))
    ]
    async with client.pipeline(transaction=False) as pipe:
        for item in items:
            pk = keys.project(str(item["project_id"]))
            task_id = str(item["task_id"])
            pipe.hget(pk.project, "doc")
            pipe.hget(pk.payloads, task_id)
            pipe.hget(pk.answers, task_id)
            pipe.hget(pk.decisions, task_id)
        replies: list[Any] = await pipe.execute()
    found = []
    for index, item in enumerate(items):
        raw_doc, raw_payload, raw_answers, raw_decision = replies[4 * index : 4 * index + 4]
        document = _json(raw_doc)
        document = document if isinstance(document, dict) else None
        answers = _json(raw_answers)
        answers = answers if isinstance(answers, list) else []
        mine = _mine(answers, volunteer_id, _submission_of(item))
        payload = _json(raw_payload) if mine is not None else None
        my_answer = mine.get("answer") if mine is not None else None
        found.append(
            InboxItem(
                id=str(item.get("id", "")),
                kind=str(item.get("kind", "review")),
                project_id=str(item["project_id"]),
                task_id=str(item["task_id"]),
                outcome=str(item.get("outcome", "")),
                action=_string(item.get("action")),
                comment=_string(item.get("comment")),
                at_ms=int(item["at"]) if isinstance(item.get("at"), int) else 0,
                project_name=str(document.get("name", "")) if document else None,
                task_type=str(document.get("task_type", "")) if document else None,
                org_id=_string(document.get("org_id")) if document else None,
                payload=payload if isinstance(payload, dict) else None,
                my_answer=my_answer if isinstance(my_answer, dict) else None,
                final_answer=_final_answer(item, _json(raw_decision), document is not None),
                explanation=_string(item.get("explanation")),
                score=float(item["score"]) if isinstance(item.get("score"), int | float) else None,
            )
        )
    return found


def _final_answer(item: Mapping[str, Any], decision: Any, project_exists: bool) -> Any:
    if item.get("kind") == "gold":
        expected = item.get("expected")
        return expected if isinstance(expected, dict) and project_exists else None
    if not isinstance(decision, dict) or decision.get("action") not in ("accept", "correct"):
        return None
    # P:decisions holds the task's latest decision: this item's, when the review (or, for an
    # item from before reviews were named, the time) is the same.
    same = (
        decision.get("review") == item.get("review")
        if item.get("review")
        else decision.get("at") == item.get("at")
    )
    answer = decision.get("answer")
    return answer if same and isinstance(answer, dict) else None
