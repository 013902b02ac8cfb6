"""Keeping volunteers' stats (``G:vol:<id>:stats``, read by :mod:`core.volunteers.stats`).

Two events feed them (the ``stats.record`` actor):

- ``answer.submitted``: ``tasks`` + 1, ``minutes`` and this week's minutes + the time the
  volunteer reported, ``contribution:<type>`` + what the answer represents (the type's
  ``contribution``: words translated, fields entered, items moderated);
- ``result.published``: for each contributor, ``decided`` + 1, and ``accepted`` + 1 when their
  answer agrees with the result (the share shown as ``accepted_rate``). A task rejected by a
  reviewer has no answer to agree with and counts for neither.

Each update is applied once per marker (``sub:<submission id>``, ``dec:<project>:<decision id>``)
in one script on the volunteer's stats hash, so a redelivered event is counted once.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from core.board.runner import Board
from core.delivery.results import result_entry
from core.quality.aggregation import agrees, parse_task
from core.quality.outcomes import PipelineOps
from core.volunteers.stats import week_field

__all__ = ["record_decision", "record_submission"]

log = structlog.get_logger(__name__)


def record_submission(
    board: Board, project_id: str, task_id: str, submission_id: str, at_ms: int | None = None
) -> bool:
    """Count one submitted answer in its volunteer's stats; False when counted before (or when
    the submission is unknown)."""
    ops = PipelineOps(board.keys, board.clock)
    parsed = parse_task(board.run(ops.aggregation_context(project_id, task_id)))
    found = [
        (entry, answer)
        for entry, answer in zip(parsed.entries, parsed.answers, strict=True)
        if entry.get("submission_id") == submission_id
    ]
    if not found:
        log.warning("stats.unknown_submission", project_id=project_id, task_id=task_id)
        return False
    entry, answer = found[0]
    seconds = entry.get("seconds_spent")
    minutes = max(0.0, float(seconds)) / 60.0 if isinstance(seconds, int | float) else 0.0
    at = at_ms if at_ms is not None else int(entry.get("at", 0))
    contribution = 0 if answer is None else parsed.kind.contribution(parsed.payload, answer)
    increments: Mapping[str, int | float] = {
        "tasks": 1,
        "minutes": minutes,
        week_field(at): minutes,
        f"contribution:{parsed.kind.name}": int(contribution),
    }
    return board.run(
        ops.record_stats(str(entry["volunteer_id"]), f"sub:{submission_id}", increments)
    )


def record_decision(board: Board, project_id: str, cursor: str) -> int:
    """Count a published result in its contributors' stats; returns how many were counted now."""
    result = board.run(result_entry(board.keys, project_id, cursor))
    if result is None or result.answer is None:
        return 0
    ops = PipelineOps(board.keys, board.clock)
    parsed = parse_task(board.run(ops.aggregation_context(project_id, result.task_id)))
    contributors = set(result.contributors)
    counted = 0
    for entry, answer in zip(parsed.entries, parsed.answers, strict=True):
        volunteer = entry.get("volunteer_id")
        if not volunteer or volunteer not in contributors:
            continue  # answered after this decision (a reopened task)
        agreed = agrees(parsed.kind, parsed.payload, answer, result.answer)
        increments = {"decided": 1, "accepted": int(agreed)}
        marker = f"dec:{project_id}:{result.decision_id}"
        counted += int(board.run(ops.record_stats(str(volunteer), marker, increments)))
    return counted
