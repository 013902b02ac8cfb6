"""Keeping volunteers' stats (``G:vol:<id>:stats``, read by :mod:`core.volunteers.stats`).

Three events feed them (the ``stats.record`` actor):

- ``answer.submitted``: ``tasks`` + 1, ``minutes`` and this week's minutes + the answer's lease
  time, ``contribution:<type>`` + what the answer represents (the type's ``contribution``: words
  translated, fields entered, items moderated), and the same three per organisation and task type
  (``org:<org>:<type>:tasks|minutes|amount``, what a certificate lists);
- ``result.published``: for each contributor, ``decided`` + 1, and ``accepted`` + 1 when their
  answer agrees with the result (the share shown as ``accepted_rate``). A task rejected by a
  reviewer has no answer to agree with and counts for neither;
- ``review.decided``: the reviewer's ``reviews`` + 1 and ``review_minutes`` (and this week's
  minutes) + the review lease time, also per organisation and task type
  (``org:<org>:<type>:reviews|review_minutes``).

Each per-organisation figure is also counted in the calendar month (UTC) of the answer or
decision, ``orgm:<org>:<YYYY-MM>:<type>:<metric>``: what the console's contributor report shows
for a month (:mod:`core.volunteers.contributors`). Months are counted from the release that
brought them; earlier work is in the all-time figures only.

Time is lease time, never what a client reports: an answer counts the time from its claim to its
submission, capped at the project's lease length (``lease_ms``: a lease kept alive by heartbeats
past it, or a tab left open, counts no more than one lease); a review counts the time from its
claim to its decision, which its lease (no heartbeat) already bounds. Answers counted before
this rule kept the ``seconds_spent`` their client reported.

Each update is applied once per marker (``sub:<submission id>``, ``dec:<project>:<decision id>``,
``rev:<review id>``) in one script on the volunteer's stats hash, so a redelivered event is
counted once. The projects a volunteer worked on are kept apart (``G:vol:<id>:projects``, the
latest :data:`PROJECTS_KEPT`), for the impact notes "My work" shows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog

from core.board.runner import Board
from core.board.script_calls import Commands, text
from core.delivery.results import result_entry
from core.ids import VOLUNTEER_ID
from core.quality.aggregation import agrees, parse_task
from core.quality.outcomes import PipelineOps
from core.volunteers.stats import month_of, week_field

__all__ = [
    "PROJECTS_KEPT",
    "answer_minutes",
    "record_decision",
    "record_review",
    "record_submission",
]

log = structlog.get_logger(__name__)

#: Projects remembered per volunteer (newest first), for the impact notes of "My work".
PROJECTS_KEPT = 100


def answer_minutes(claimed_ms: int, submitted_ms: int, lease_ms: int) -> float:
    """An answer's time: from claim to submission, never below 0 nor above one lease."""
    spent = max(0, submitted_ms - claimed_ms)
    if lease_ms > 0:
        spent = min(spent, lease_ms)
    return spent / 60_000.0


def _lease_facts(
    board: Board, project_id: str, record_key: str, record_id: str
) -> Commands[tuple[dict[str, Any] | None, int]]:
    """A lease record (an assignment or a review lease) and the project's lease length."""
    pk = board.keys.project(project_id)

    def parse(replies: list[Any]) -> tuple[dict[str, Any] | None, int]:
        record = json.loads(text(replies[0])) if replies[0] else None
        lease = replies[1]
        return (record if isinstance(record, dict) else None), int(text(lease)) if lease else 0

    return Commands([("HGET", record_key, record_id), ("HGET", pk.project, "lease_ms")], parse)


def _worked_on(board: Board, volunteer_id: str, project_id: str, at_ms: int) -> None:
    """Remember the project among the volunteer's latest (idempotent: a member's score)."""
    key = board.keys.volunteer_projects(volunteer_id)
    board.run(
        Commands(
            [("ZADD", key, at_ms, project_id), ("ZREMRANGEBYRANK", key, 0, -PROJECTS_KEPT - 1)],
            lambda replies: None,
        )
    )


def _org_field(document: Mapping[str, Any], kind: str, metric: str) -> str | None:
    org = document.get("org_id")
    return f"org:{org}:{kind}:{metric}" if isinstance(org, str) and org else None


def _month_field(document: Mapping[str, Any], at_ms: int, kind: str, metric: str) -> str | None:
    org = document.get("org_id")
    if not (isinstance(org, str) and org):
        return None
    return f"orgm:{org}:{month_of(at_ms)}:{kind}:{metric}"


def record_submission(
    board: Board, project_id: str, task_id: str, submission_id: str, at_ms: int | None = None
) -> bool:
    """Count one submitted answer in its volunteer's stats; False when counted before (or when
    the submission is unknown)."""
    ops = PipelineOps(board.keys, board.clock)
    context = board.run(ops.aggregation_context(project_id, task_id))
    parsed = parse_task(context)
    found = [
        (entry, answer)
        for entry, answer in zip(parsed.entries, parsed.answers, strict=True)
        if entry.get("submission_id") == submission_id
    ]
    if not found:
        log.warning("stats.unknown_submission", project_id=project_id, task_id=task_id)
        return False
    entry, answer = found[0]
    if not VOLUNTEER_ID.match(str(entry.get("volunteer_id") or "")):
        return False  # an erased volunteer's answer (a pseudonym): nobody's stats
    at = at_ms if at_ms is not None else int(entry.get("at", 0))
    minutes = _submission_minutes(board, project_id, entry, at)
    contribution = 0 if answer is None else parsed.kind.contribution(parsed.payload, answer)
    kind = parsed.kind.name
    increments: dict[str, int | float] = {
        "tasks": 1,
        "minutes": minutes,
        week_field(at): minutes,
        f"contribution:{kind}": int(contribution),
    }
    for metric, amount in (("tasks", 1), ("minutes", minutes), ("amount", int(contribution))):
        for name in (
            _org_field(context.document, kind, metric),
            _month_field(context.document, at, kind, metric),
        ):
            if name is not None:
                increments[name] = amount
    volunteer = str(entry["volunteer_id"])
    counted = board.run(ops.record_stats(volunteer, f"sub:{submission_id}", increments))
    _worked_on(board, volunteer, project_id, at)
    return counted


def _submission_minutes(
    board: Board, project_id: str, entry: Mapping[str, Any], submitted_ms: int
) -> float:
    """The answer's lease time (claim to submission, capped at the project's lease length); for
    an answer whose assignment record is gone, the time its client reported, under the same cap."""
    assignment_id = str(entry.get("assignment_id") or "")
    record, lease_ms = None, 0
    if assignment_id:
        pk = board.keys.project(project_id)
        record, lease_ms = board.run(_lease_facts(board, project_id, pk.assignments, assignment_id))
    if record is not None and isinstance(record.get("claimed"), int | float):
        ended = record.get("ended")
        end = int(ended) if isinstance(ended, int | float) else submitted_ms
        return answer_minutes(int(record["claimed"]), end, lease_ms)
    seconds = entry.get("seconds_spent")
    reported = max(0.0, float(seconds)) if isinstance(seconds, int | float) else 0.0
    if lease_ms > 0:
        reported = min(reported, lease_ms / 1000.0)
    return reported / 60.0


def record_review(
    board: Board, project_id: str, review_id: str, reviewer_id: str, at_ms: int | None = None
) -> bool:
    """Count one review decision in its reviewer's stats (count and lease time, per organisation
    and task type); False when counted before, or when the review lease record is gone."""
    pk = board.keys.project(project_id)
    record, _ = board.run(_lease_facts(board, project_id, pk.review_assignments, review_id))
    if record is None or record.get("vol") != reviewer_id or record.get("state") != "decided":
        log.warning("stats.unknown_review", project_id=project_id, review_id=review_id)
        return False
    ops = PipelineOps(board.keys, board.clock)
    document = board.run(ops.aggregation_context(project_id, str(record.get("task")))).document
    claimed = int(record.get("claimed", 0))
    ended = int(record.get("ended", at_ms or claimed))
    # No heartbeat extends a review lease: its own length bounds the time.
    minutes = answer_minutes(claimed, ended, int(record.get("expires", ended)) - claimed)
    kind = str(document.get("task_type", ""))
    increments: dict[str, int | float] = {
        "reviews": 1,
        "review_minutes": minutes,
        week_field(ended): minutes,
    }
    for metric, amount in (("reviews", 1), ("review_minutes", minutes)):
        if not kind:
            continue
        for name in (
            _org_field(document, kind, metric),
            _month_field(document, ended, kind, metric),
        ):
            if name is not None:
                increments[name] = amount
    counted = board.run(ops.record_stats(reviewer_id, f"rev:{review_id}", increments))
    _worked_on(board, reviewer_id, project_id, ended)
    return counted


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
        if not VOLUNTEER_ID.match(str(volunteer)):
            continue  # an erased volunteer (a pseudonym): nobody's stats
        agreed = agrees(parsed.kind, parsed.payload, answer, result.answer)
        increments = {"decided": 1, "accepted": int(agreed)}
        marker = f"dec:{project_id}:{result.decision_id}"
        counted += int(board.run(ops.record_stats(str(volunteer), marker, increments)))
    return counted
