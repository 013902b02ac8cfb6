"""Reading a project's insights: fold what is new, then a few bounded reads, then arithmetic.

:func:`read_insights` (``Board``) and :func:`read_insights_async` (``AsyncBoard``, the pages)
do the same steps:

1. fold the events not folded yet (:mod:`core.insights.rollup`; up to ``max_fold_calls`` script
   calls, usually one that finds little);
2. one pipeline: the project hash (per-state counters, deadline, creation time), the per-day
   fields of the last :data:`DAYS` days and the totals (one ``HMGET``), the oldest review items
   waiting, the last decided waits, the most active volunteers, the report count;
3. one pipeline: the middle of the waiting items (``ZRANGE`` by rank: the exact median wait
   without reading them all), the top volunteers' counters, the oldest items' task states.

Nothing reads every task, answer or result: the cost depends on the days shown, the volunteers
listed and the events since the last fold, never on the project's size (``bench/insights.py``).

Every time-based figure is measured at ``now_ms``, which the caller passes (the board clock in
tests, the wall clock in production).

Ownership is the caller's: check the organisation owns the project first
(``Projects.require_owned``).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core import ids
from core.board.runner import AsyncBoard, Board
from core.board.script_calls import Commands, score_pairs, text
from core.errors import ProjectNotFound
from core.insights.models import (
    OPEN_STATES,
    DayCount,
    ProjectInsights,
    QualityShare,
    ReviewLag,
    StateSnapshot,
    VolunteerQuality,
)
from core.insights.pace import WINDOW_DAYS, day_of, deadline_outlook, pace
from core.insights.rollup import DAILY_METRICS, Folded, fold_call, fold_project
from core.redis.keys import Keys, ProjectKeys

__all__ = [
    "DAYS",
    "TOP_VOLUNTEERS",
    "fold_project_async",
    "read_insights",
    "read_insights_async",
]

DAYS = 30  # days of per-day series
TOP_VOLUNTEERS = 50  # volunteers listed, most answers first
_OLDEST = 10  # oldest waiting review items looked at (a deleted task's item is skipped)
_SERIES = ("answers", "results", "created")
_VOLUNTEER_FIELDS = ("a", "g", "gc", "r", "x")


@dataclass(frozen=True, slots=True)
class _First:
    project: dict[str, str]
    day_fields: dict[str, str | None]
    oldest: list[tuple[str, float]]
    waits: list[int]
    top: list[tuple[str, float]]
    volunteers_total: int
    waiting_items: int
    reports: int
    last_event: str  # the stream's newest event id ("0-0": none)


def _day_field_names(today: int, days: int) -> list[str]:
    names = [f"t:{metric}" for metric in DAILY_METRICS] + ["t:confidence_sum", "cursor"]
    for day in range(today - days + 1, today + 1):
        names += [f"d:{day}:{metric}" for metric in _SERIES]
        names.append(f"s:{day}")
    return names


def _first_read(pk: ProjectKeys, today: int, days: int, volunteers: int) -> Commands[_First]:
    names = _day_field_names(today, max(days, WINDOW_DAYS))  # the rate looks back WINDOW_DAYS

    def parse(replies: list[Any]) -> _First:
        project, values, oldest, waits, top, total, waiting, reports, last = replies
        fields = {text(k): text(v) for k, v in dict(project or {}).items()}
        if not fields:
            raise ProjectNotFound("no such project")
        return _First(
            fields,
            {n: None if v is None else text(v) for n, v in zip(names, values, strict=True)},
            score_pairs(oldest),
            [int(float(text(w))) for w in waits],
            score_pairs(top),
            int(total),
            int(waiting),
            int(reports),
            text(last[0][0]) if last else "0-0",
        )

    return Commands(
        [
            ("HGETALL", pk.project),
            ("HMGET", pk.insights, *names),
            ("ZRANGE", pk.insights_review_open, 0, _OLDEST - 1, "WITHSCORES"),
            ("LRANGE", pk.insights_review_waits, 0, -1),
            ("ZREVRANGE", pk.insights_volunteer_rank, 0, volunteers - 1, "WITHSCORES"),
            ("ZCARD", pk.insights_volunteer_rank),
            ("ZCARD", pk.insights_review_open),
            ("XLEN", pk.unclear),
            ("XREVRANGE", pk.events, "+", "-", "COUNT", 1),
        ],
        parse,
    )


@dataclass(frozen=True, slots=True)
class _Second:
    middle: list[tuple[str, float]]
    volunteer_values: list[str | None]
    oldest_states: list[str | None]


def _second_read(pk: ProjectKeys, first: _First) -> Commands[_Second]:
    n = first.waiting_items
    low, high = (n - 1) // 2, n // 2
    vol_fields = [f"{v}:{name}" for v, _ in first.top for name in _VOLUNTEER_FIELDS]
    commands: list[tuple[str | int, ...]] = [
        ("ZRANGE", pk.insights_review_open, low, high, "WITHSCORES"),
        ("HMGET", pk.insights_volunteers, *vol_fields) if vol_fields else ("ECHO", ""),
        ("HMGET", pk.tasks, *[t for t, _ in first.oldest]) if first.oldest else ("ECHO", ""),
    ]

    def parse(replies: list[Any]) -> _Second:
        middle, values, tasks = replies
        states: list[str | None] = []
        for raw in tasks if first.oldest else []:
            states.append(None if raw is None else str(json.loads(raw).get("state")))
        return _Second(
            score_pairs(middle) if n else [],
            [None if v is None else text(v) for v in values] if vol_fields else [],
            states,
        )

    return Commands(commands, parse)


def _int(values: Mapping[str, str | None], name: str) -> int:
    raw = values.get(name)
    return int(float(raw)) if raw else 0


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _series(first: _First, metric: str, today: int, days: int) -> list[DayCount]:
    return [
        DayCount(_date(day), _int(first.day_fields, f"d:{day}:{metric}"))
        for day in range(today - days + 1, today + 1)
    ]


def _date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)


def _snapshots(first: _First, today: int, days: int) -> list[StateSnapshot]:
    found: list[StateSnapshot] = []
    carried: dict[str, int] | None = None
    for day in range(today - days + 1, today + 1):
        raw = first.day_fields.get(f"s:{day}")
        if raw:
            carried = {str(k): int(v) for k, v in json.loads(raw).items()}
            found.append(StateSnapshot(_date(day), dict(carried)))
        elif carried is not None:
            found.append(StateSnapshot(_date(day), dict(carried), measured=False))
    return found


def _counts(project: Mapping[str, str]) -> dict[str, int]:
    return {
        name.removeprefix("count:"): int(value)
        for name, value in project.items()
        if name.startswith("count:")
    }


def _median(values: Sequence[float]) -> int | None:
    return round(statistics.median(values)) if values else None


def _review(first: _First, second: _Second, now_ms: int) -> ReviewLag:
    # The oldest item still in review (an item whose task was deleted is skipped; one decided
    # since the fold shows as not in review and is skipped too).
    oldest = next(
        (
            (task, int(opened))
            for (task, opened), state in zip(first.oldest, second.oldest_states, strict=True)
            if state == "in_review"
        ),
        None,
    )
    waiting = [max(0, now_ms - int(opened)) for _, opened in second.middle]
    return ReviewLag(
        waiting=int(_counts(first.project).get("in_review", 0)),
        oldest_task_id=oldest[0] if oldest else None,
        oldest_opened_ms=oldest[1] if oldest else None,
        oldest_wait_ms=max(0, now_ms - oldest[1]) if oldest else None,
        median_wait_ms=_median(waiting),
        decided_median_wait_ms=_median(first.waits),
        decided_sample=len(first.waits),
    )


def _quality(values: Mapping[str, str | None]) -> QualityShare:
    results, auto = _int(values, "t:results"), _int(values, "t:auto")
    agreed, disagreed = _int(values, "t:agreed"), _int(values, "t:disagreed")
    confidence_sum = float(values.get("t:confidence_sum") or 0)
    return QualityShare(
        results=results,
        auto_accepted=auto,
        reviewed=_int(values, "t:reviewed"),
        rejected=_int(values, "t:rejected"),
        auto_share=_ratio(auto, results),
        mean_confidence=_ratio(confidence_sum, auto),
        agreed=agreed,
        disagreed=disagreed,
        agreement_rate=_ratio(agreed, agreed + disagreed),
        review_actions={
            action: _int(values, f"t:review_{action}")
            for action in ("accept", "correct", "reopen", "reject")
        },
    )


def _volunteers(first: _First, second: _Second) -> list[VolunteerQuality]:
    found = []
    width = len(_VOLUNTEER_FIELDS)
    for index, (volunteer, _) in enumerate(first.top):
        raw = second.volunteer_values[index * width : (index + 1) * width]
        answers, gold, gold_ok, reopened, rejected = (int(v) if v else 0 for v in raw)
        found.append(
            VolunteerQuality(
                volunteer_id=volunteer,
                answers=answers,
                gold_answered=gold,
                gold_correct=gold_ok,
                gold_accuracy=_ratio(gold_ok, gold),
                reopened=reopened,
                rejected=rejected,
                reopen_rate=_ratio(reopened, answers - gold),
            )
        )
    return found


def _stream_id(value: str) -> tuple[int, int]:
    millis, _, sequence = value.partition("-")
    return int(millis), int(sequence or 0)


def _assemble(
    project_id: str, first: _First, second: _Second, now_ms: int, days: int
) -> ProjectInsights:
    today = day_of(now_ms)
    counts = _counts(first.project)
    remaining = sum(counts.get(state, 0) for state in OPEN_STATES)
    results = {
        day: _int(first.day_fields, f"d:{day}:results")
        for day in range(today - max(days, WINDOW_DAYS) + 1, today + 1)
    }
    document = json.loads(first.project["doc"]) if first.project.get("doc") else {}
    created = document.get("created_at_ms")
    deadline = first.project.get("deadline_ms") or None
    now_pace = pace(remaining, results, now_ms, start_ms=int(created) if created else None)
    return ProjectInsights(
        project_id=project_id,
        now_ms=now_ms,
        counts=counts,
        states_over_time=_snapshots(first, today, days),
        answers_per_day=_series(first, "answers", today, days),
        results_per_day=_series(first, "results", today, days),
        created_per_day=_series(first, "created", today, days),
        pace=now_pace,
        deadline=deadline_outlook(now_pace, int(deadline) if deadline else None, now_ms),
        review=_review(first, second, now_ms),
        quality=_quality(first.day_fields),
        volunteers=_volunteers(first, second),
        volunteers_total=first.volunteers_total,
        unclear_reports=first.reports,
        complete=_stream_id(first.day_fields.get("cursor") or "0-0")
        >= _stream_id(first.last_event),
    )


def _check(keys: Keys, project_id: str, days: int) -> ProjectKeys:
    if not 1 <= days <= 366:
        raise ValueError("days must be within 1..366")
    return keys.project(ids.validate_project_id(project_id))


def read_insights(
    board: Board,
    project_id: str,
    *,
    now_ms: int,
    days: int = DAYS,
    volunteers: int = TOP_VOLUNTEERS,
    max_fold_calls: int = 100,
) -> ProjectInsights:
    """A project's insights at ``now_ms`` with a synchronous board (bench, CLI, tests)."""
    pk = _check(board.keys, project_id, days)
    fold_project(board, project_id, max_calls=max_fold_calls)
    first = board.run(_first_read(pk, day_of(now_ms), days, max(1, volunteers)))
    second = board.run(_second_read(pk, first))
    return _assemble(project_id, first, second, now_ms, days)


async def fold_project_async(board: AsyncBoard, project_id: str, *, max_calls: int = 50) -> Folded:
    """:func:`core.insights.rollup.fold_project` for an ``AsyncBoard``."""
    total, last = 0, Folded(0, False, "0-0")
    for _ in range(max_calls):
        last = await board.run(fold_call(board.keys, board.clock, project_id))
        total += last.events
        if not last.more:
            break
    return Folded(total, last.more, last.cursor)


async def read_insights_async(
    board: AsyncBoard,
    project_id: str,
    *,
    now_ms: int,
    days: int = DAYS,
    volunteers: int = TOP_VOLUNTEERS,
    max_fold_calls: int = 100,
) -> ProjectInsights:
    """A project's insights at ``now_ms`` with the pages' ``AsyncBoard``."""
    pk = _check(board.keys, project_id, days)
    await fold_project_async(board, project_id, max_calls=max_fold_calls)
    first = await board.run(_first_read(pk, day_of(now_ms), days, max(1, volunteers)))
    second = await board.run(_second_read(pk, first))
    return _assemble(project_id, first, second, now_ms, days)
