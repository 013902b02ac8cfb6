"""Provisional answers: what a task waiting for a reviewer would be if nobody came.

A task whose answers do not reach the project's threshold goes to a reviewer; until one
decides, its NGO still wants to know what the crowd most likely said (a backlog of reviews
should not leave every hard task blank). So each such task keeps a provisional answer in the
project's ``provisional`` hash:

- when it is sent to review, the aggregation's best guess, with the confidence it was refused
  at (``by: "aggregation"``; written by ``record_decision.lua`` in the step that records the
  decision, so a crash cannot leave one without the other);
- after each refit (:mod:`core.quality.refit`), the refit's guess (``by: "refit"``): for a
  label type, the label the Dawid-Skene posterior over the project's recent answers puts first,
  at that posterior calibrated; for the others (data entry, translation), the answer the type's
  own aggregation gives with the volunteers' reliabilities as they are then. A task sent to
  review early, before anyone's record meant much, is judged again on everything the project
  saw since. The refit replaces only entries still there (``replace_provisional.lua``).

A reviewer's decision removes the entry (``decide_review.lua``), as does the task's deletion;
the task's API view shows it only while the task is in ``review``. A provisional answer is
never a result: it is not published, not sent by webhook, and not counted in anyone's
reputation; the reviewer decides as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.board.script_calls import Batch, ScriptCall, dumps, text
from core.redis.keys import ProjectKeys
from core.redis.scripts import ScriptName

__all__ = ["Provisional", "encode", "parse", "replacements"]

#: Tasks whose provisional answer one script call replaces.
_PER_CALL = 200


class Provisional(BaseModel):
    """A task's provisional answer while it waits for a reviewer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    answer: dict[str, Any]
    confidence: float = Field(ge=0.0, le=1.0)
    by: Literal["aggregation", "refit"]
    refit_id: str | None = None


def encode(
    answer: Mapping[str, Any],
    confidence: float,
    by: Literal["aggregation", "refit"],
    refit_id: str | None = None,
) -> str:
    """The JSON a provisional answer is stored as."""
    stored = Provisional(
        answer=dict(answer),
        confidence=round(min(1.0, max(0.0, float(confidence))), 6),
        by=by,
        refit_id=refit_id,
    )
    return dumps(stored.model_dump(exclude_none=True))


def parse(raw: Any) -> Provisional | None:
    """A stored provisional answer, or None when there is none (or it cannot be read)."""
    if raw is None:
        return None
    try:
        return Provisional.model_validate(json.loads(text(raw)))
    except (ValueError, ValidationError):
        return None


def replacements(pk: ProjectKeys, guesses: Mapping[str, str]) -> Batch[int, int]:
    """``replace_provisional.lua`` over ``guesses`` (task id -> encoded provisional answer),
    in calls of :data:`_PER_CALL` tasks; how many were replaced."""
    pairs = sorted(guesses.items())
    calls: list[ScriptCall[int]] = [
        ScriptCall(
            ScriptName.REPLACE_PROVISIONAL,
            [pk.provisional],
            [item for pair in pairs[start : start + _PER_CALL] for item in pair],
            int,
        )
        for start in range(0, len(pairs), _PER_CALL)
    ]
    return Batch(calls, _total)


def _total(replies: list[int]) -> int:
    return sum(replies)
