"""The rollup: a project's event stream folded, incrementally, into small counters.

Every state change already appends an event to ``P:events`` with its board time (``at``);
``fold_insights.lua`` reads the events after a cursor (``XRANGE`` with ``COUNT``: bounded) and
turns them into per-day counts, totals, per-volunteer counts, the review items waiting (by when
they opened) and the waits of the last decisions, moving the cursor in the same script: each
event is folded exactly once, whoever folds and however often. What it writes is in
:mod:`core.redis.keys` (``P:insights…``).

Why a fold of the stream rather than counters in every board script: no hot-path script (claim,
submit, decide) gets slower or changes, the history before this module existed is counted too,
and a new measurement is one more branch here. The price is a lag: figures are as of the last
fold. The scheduler folds every project each :data:`FOLD_INTERVAL_S` (:func:`fold_all`), and a
reader folds what is left before reading (:func:`fold_project`, bounded by ``max_calls``), so a
page shows every event up to the moment it was drawn.

Tasks per state over time are **daily snapshots** of the project's per-state counters, taken by
each fold (the day's last fold wins): those counters are exact and O(1) to read, whereas
replaying every transition from events would need each one evented (open <-> collecting is not)
and would grow with the project's history. A day no fold ran on carries the previous day's
counts (:class:`~core.insights.models.StateSnapshot` ``measured`` False).

Events older than the stream's retention that were never folded are not counted: the scheduler
folds far more often than retention trims.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from core import ids
from core.board.runner import Board
from core.board.script_calls import Commands, ScriptCall, text
from core.clock import Clock
from core.redis.keys import Keys
from core.redis.scripts import ScriptName

__all__ = [
    "DAILY_METRICS",
    "EVENTS_PER_CALL",
    "FOLD_INTERVAL_S",
    "KEEP_DAYS",
    "KEEP_WAITS",
    "Folded",
    "PeriodicFold",
    "fold_all",
    "fold_call",
    "fold_project",
    "forget_volunteer",
]

#: What ``fold_insights.lua`` counts per UTC day (``d:<day>:<metric>``) and in total
#: (``t:<metric>``).
DAILY_METRICS = (
    "created",  # tasks created (gold tasks aside)
    "answers",  # answers submitted, gold answers included
    "gold",  # gold answers
    "agreed",  # aggregations whose answers agreed (resolved, or spot-checked)
    "disagreed",  # aggregations that asked one more answer or went to review for disagreement
    "reviews_opened",
    "reviews_decided",
    "review_accept",
    "review_correct",
    "review_reopen",
    "review_reject",
    "results",  # results published
    "auto",  # of which accepted on agreement (method "agreement")
    "reviewed",  # of which accepted or corrected by a reviewer
    "rejected",  # of which rejected by a reviewer
    "expired",  # tasks left undone when the deadline closed the project
)
EVENTS_PER_CALL = 250  # events one script call folds: Redis is held ~5-20 ms (bench/insights.py)
KEEP_WAITS = 200  # decided review waits kept (the "last N decided" median)
KEEP_DAYS = 400  # per-day fields kept
FOLD_INTERVAL_S = 60.0  # how often the scheduler folds every project


@dataclass(frozen=True, slots=True)
class Folded:
    events: int  # events folded by this call
    more: bool  # events are left after it
    cursor: str  # the last event folded


def fold_call(
    keys: Keys, clock: Clock, project_id: str, limit: int = EVENTS_PER_CALL
) -> ScriptCall[Folded]:
    """One ``fold_insights.lua`` call: up to ``limit`` events folded."""
    pk = keys.project(ids.validate_project_id(project_id))

    def parse(reply: Any) -> Folded:
        return Folded(int(reply[0]), bool(int(reply[1])), text(reply[2]))

    return ScriptCall(
        ScriptName.FOLD_INSIGHTS,
        [
            pk.project,
            pk.events,
            pk.results,
            pk.answers,
            pk.insights,
            pk.insights_volunteers,
            pk.insights_volunteer_rank,
            pk.insights_review_open,
            pk.insights_review_waits,
        ],
        [clock.script_now(), limit, KEEP_WAITS, KEEP_DAYS, *DAILY_METRICS],
        parse,
    )


def fold_project(board: Board, project_id: str, *, max_calls: int = 50) -> Folded:
    """Fold a project's new events with a synchronous board (``Board``): up to ``max_calls``
    script calls; ``more`` tells whether events were left. The asyncio twin is
    :func:`core.insights.reader.fold_project_async`."""
    total, last = 0, Folded(0, False, "0-0")
    for _ in range(max_calls):
        last = board.run(fold_call(board.keys, board.clock, project_id))
        total += last.events
        if not last.more:
            break
    return Folded(total, last.more, last.cursor)


def fold_all(board: Board, project_ids: Iterable[str] | None = None, *, max_calls: int = 40) -> int:
    """Fold every project (the ``projects`` set, or ``project_ids``); returns the events
    folded. Each project gets at most ``max_calls`` calls per round: one busy project cannot
    hold up the others, and what is left waits for the next round."""
    if project_ids is None:
        project_ids = sorted(text(m) for m in board.client.smembers(board.keys.projects))
    folded = 0
    for project_id in project_ids:
        if ids.PROJECT_ID.match(project_id):
            folded += fold_project(board, project_id, max_calls=max_calls).events
    return folded


class PeriodicFold:
    """:func:`fold_all` at most once every ``interval_s`` (the scheduler ticks more often);
    returns the events folded, or None when it was not due."""

    def __init__(
        self,
        interval_s: float = FOLD_INTERVAL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_s = interval_s
        self.monotonic = monotonic
        self._next = 0.0

    def __call__(self, board: Board) -> int | None:
        now = self.monotonic()
        if now < self._next:
            return None
        self._next = now + self.interval_s
        return fold_all(board)


def forget_volunteer(keys: Keys, project_id: str, volunteer_id: str) -> Commands[None]:
    """Remove a volunteer's counters from a project's insights (an erasure); their
    "instructions unclear" reports go with :func:`core.insights.unclear.forget_reports`."""
    pk = keys.project(ids.validate_project_id(project_id))
    ids.validate_volunteer_id(volunteer_id)
    fields = [f"{volunteer_id}:{name}" for name in ("a", "g", "gc", "r", "x")]
    return Commands(
        [
            ("HDEL", pk.insights_volunteers, *fields),
            ("ZREM", pk.insights_volunteer_rank, volunteer_id),
        ],
        lambda _: None,
    )
