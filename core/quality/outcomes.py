"""Board operations of the event pipeline: what the aggregate, review and stats actors write.

Like every board operation (:mod:`core.board.script_calls`) each is a value run by ``Board.run``: a
task's aggregation context read in one round trip, ``resolve_task`` and ``extend_task`` on the
project's slot, and the two per-volunteer writes (``record_stats``, ``add_feedback``), each one
script on one key. Every write is idempotent: it names what it applies (a decision id, an expected
need, a marker, an item id) and a second call with the same name writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core import ids
from core.board.script_calls import Commands, OpsBase, ScriptCall, dumps, json_or_none, text
from core.clock import Clock
from core.delivery.results import Result, result_fields
from core.errors import RucheError, TaskNotFound
from core.logging import current_request_id
from core.quality.prior import GOLD_SAMPLE
from core.redis.keys import Keys
from core.redis.scripts import ScriptName

__all__ = [
    "FEEDBACK_KEPT",
    "STATS_MARKER_RETENTION_MS",
    "AggregationContext",
    "NeedCapReached",
    "PipelineOps",
    "Resolution",
    "TaskMovedOn",
]

#: Feedback items kept per volunteer (``GET /v1/me`` shows them, newest first).
FEEDBACK_KEPT = 50
#: How long a stats marker (an update already counted) is kept: far longer than any redelivery
#: (relay takeover after seconds, dramatiq retries within hours), short enough to stay small.
STATS_MARKER_RETENTION_MS = 30 * 24 * 3600 * 1000


def _gold_answers(reply: Any) -> list[dict[str, Any]]:
    """The gold answers in an ``HRANDFIELD … WITHVALUES`` reply (flat or paired), each the
    ``answer`` of a gold record; unreadable records are left out."""
    items = list(reply or [])
    values = (
        [pair[1] for pair in items] if items and isinstance(items[0], list | tuple) else items[1::2]
    )
    answers = []
    for raw in values:
        try:
            record = json.loads(raw)
        except (TypeError, ValueError):
            continue
        answer = record.get("answer") if isinstance(record, dict) else None
        if isinstance(answer, dict):
            answers.append(answer)
    return answers


class TaskMovedOn(RucheError):
    """The task is no longer in the state the decision was computed for (nothing written)."""

    def __init__(self, state: str) -> None:
        super().__init__(f"the task moved on ({state}); this decision no longer applies")
        self.state = state


class NeedCapReached(RucheError):
    """One more answer would pass the project's ``max_redundancy`` (nothing written)."""


@dataclass(frozen=True, slots=True)
class AggregationContext:
    """A task's record, payload and answers and its project's document, read together."""

    task: dict[str, Any] | None  # None: no such task
    payload: dict[str, Any] | None = field(repr=False)
    answers: list[dict[str, Any]] = field(repr=False)
    document: dict[str, Any] = field(repr=False)
    closed: bool = False  # the project is closed or past its deadline: no more answers come
    #: The gold answers of (a random sample of, ``GOLD_SAMPLE``) the project's gold tasks:
    #: the class prior's evidence (core.quality.prior).
    gold: list[dict[str, Any]] = field(default_factory=list, repr=False)
    #: The project's learnt calibration and threshold (core.quality.project_quality), as JSON.
    quality: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Resolution:
    cursor: str  # the result's entry in the results feed
    created: bool  # False: this decision had been applied before (nothing written)


class PipelineOps(OpsBase):
    """Builds the pipeline's operations (keys, arguments, reply parsing)."""

    def __init__(self, keys: Keys, clock: Clock) -> None:
        super().__init__(keys, clock, claim_scan_limit=0)

    # -- reads -------------------------------------------------------------------------------

    def aggregation_context(self, project_id: str, task_id: str) -> Commands[AggregationContext]:
        pk = self.project_keys(project_id)
        ids.validate_task_id(task_id)

        def parse(replies: list[Any]) -> AggregationContext:
            raw_task, raw_payload, raw_answers, raw_doc, (state, deadline), now, gold, quality = (
                replies
            )
            deadline_ms = int(text(deadline)) if deadline not in (None, "", b"") else None
            closed = (state is not None and text(state) == "closed") or (
                deadline_ms is not None and self.now_from(now) >= deadline_ms
            )
            return AggregationContext(
                task=json_or_none(raw_task),
                payload=json_or_none(raw_payload),
                answers=list(json_or_none(raw_answers) or []),
                document=json_or_none(raw_doc) or {},
                closed=closed,
                gold=_gold_answers(gold),
                quality=None if quality is None else text(quality),
            )

        return Commands(
            [
                ("HGET", pk.tasks, task_id),
                ("HGET", pk.payloads, task_id),
                ("HGET", pk.answers, task_id),
                ("HGET", pk.project, "doc"),
                ("HMGET", pk.project, "state", "deadline_ms"),
                ("TIME",),
                ("HRANDFIELD", pk.gold, GOLD_SAMPLE, "WITHVALUES"),
                ("HGET", pk.project, "quality"),
            ],
            parse,
        )

    # -- the task's outcome ------------------------------------------------------------------

    def resolve_task(
        self, project_id: str, result: Result, *, decision_id: str, answers: int
    ) -> ScriptCall[Resolution]:
        """Publish ``result`` and resolve its task, which must still be aggregating with
        ``answers`` answers; once per ``decision_id``."""
        pk = self.project_keys(project_id)
        ids.validate_task_id(result.task_id)

        def parse(reply: Sequence[Any]) -> Resolution:
            if text(reply[0]) == "err":
                code, detail = text(reply[1]), text(reply[2])
                if code == "no_task":
                    raise TaskNotFound("no such task")
                raise TaskMovedOn(detail if code == "task_state" else f"{detail} answers")
            return Resolution(text(reply[1]), bool(int(reply[2])))

        keys = [pk.project, pk.tasks, pk.ready, pk.results, pk.published, pk.events]
        args: list[str | int] = [
            self.clock.script_now(),
            result.task_id,
            decision_id,
            int(answers),
            "" if result.decided_at_ms is None else int(result.decided_at_ms),
            current_request_id(),  # the actor's, from the event it handles (its log lines too)
            *result_fields(result),
        ]
        return ScriptCall(ScriptName.RESOLVE_TASK, keys, args, parse)

    def extend_task(
        self, project_id: str, task_id: str, *, expected_need: int, ceiling: int
    ) -> ScriptCall[bool]:
        """Ask for one more answer on an aggregating task whose need is ``expected_need``.
        True when extended, False when a previous call did it (or the task moved on)."""
        pk = self.project_keys(project_id)
        ids.validate_task_id(task_id)

        def parse(reply: Sequence[Any]) -> bool:
            if text(reply[0]) == "err":
                if text(reply[1]) == "no_task":
                    raise TaskNotFound("no such task")
                raise NeedCapReached(f"the project allows at most {text(reply[2])} answers")
            return bool(int(reply[1]))

        keys = [pk.project, pk.tasks, pk.ready, pk.events]
        args: list[str | int] = [
            self.clock.script_now(), task_id, int(expected_need), int(ceiling),
        ]  # fmt: skip
        return ScriptCall(ScriptName.EXTEND_TASK, keys, args, parse)

    # -- volunteers --------------------------------------------------------------------------

    def record_stats(
        self, volunteer_id: str, marker: str, increments: Mapping[str, int | float]
    ) -> ScriptCall[bool]:
        """Add ``increments`` to the volunteer's stats unless ``marker`` was applied already.

        Integers go through HINCRBY, floats through HINCRBYFLOAT (a field must keep one kind).
        """
        ids.validate_volunteer_id(volunteer_id)
        args: list[str | int] = [self.clock.script_now(), marker, STATS_MARKER_RETENTION_MS]
        for name, amount in increments.items():
            if isinstance(amount, bool) or not isinstance(amount, int | float):
                raise TypeError(f"increment of {name!r} must be a number")
            args += [name, f"{amount:.6f}" if isinstance(amount, float) else str(amount)]
        return ScriptCall(
            ScriptName.RECORD_STATS,
            [self.keys.volunteer_stats(volunteer_id)],
            args,
            lambda reply: bool(int(reply)),
        )

    def add_feedback(self, volunteer_id: str, item: Mapping[str, Any]) -> ScriptCall[bool]:
        """Put ``item`` (a JSON-able mapping with a stable ``id``) at the head of the
        volunteer's feedback list, unless it is there already."""
        ids.validate_volunteer_id(volunteer_id)
        args: list[str | int] = [str(item["id"]), dumps(dict(item)), FEEDBACK_KEPT]
        return ScriptCall(
            ScriptName.ADD_FEEDBACK,
            [self.keys.volunteer_feedback(volunteer_id)],
            args,
            lambda reply: bool(int(reply)),
        )
