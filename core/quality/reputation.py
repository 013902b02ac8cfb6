"""Volunteers' reputations in Redis: reading them for a task, and applying evidence event by event.

The model is :mod:`core.quality.reputation_model`; here are the operations (values run by
``Board.run`` or ``AsyncBoard.run``, like every board operation) and the functions the pipeline
calls:

- :meth:`ReputationOps.reliabilities`: the answering volunteers' reliabilities for one task,
  one pipelined ``read_reputation`` per volunteer (the aggregation's one extra round trip);
- :func:`agreement_updates`: an accepted (or spot-checked) result credits each author with the
  posterior that their answer is right, as a *soft* credit kept per task;
- :func:`review_updates`: a reviewer's decision takes the soft credit back and, for accept and
  correct, adds hard evidence against the final answer, so an overturned result costs those
  who agreed on it; a reopen takes the credit back only, and only a credit from before it;
- :func:`gold_update`: a gold answer scored at submission (hard evidence, the strongest);
- :func:`excluded_task_types` and :func:`reputation_summary`: what the claim path and the
  volunteer and NGO views read.

Every update names the event it applies (``agree:…``, ``review:…``, ``gold:…``) and runs as one
script on the volunteer's own hash (``apply_reputation``), so a replayed event changes nothing,
concurrent updates of one volunteer lose nothing, and an update touches the hashes of that
task's volunteers only. A soft credit records the answers of the decision that gave it, and an
update naming an older decision than the stored credit's changes nothing: a reopen settled after
the task was decided again leaves the new credit alone, whatever order the events run in.

Evidence fades with time (:mod:`core.quality.reputation_model`): the write and the read scripts
bring each document up to the board's clock, with the half-life the board was given
(``Board.reputation_half_life_days``, from ``RUCHE_REPUTATION_HALF_LIFE_DAYS``) and stored in the
document, so reads need no setting and agree with writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from core import ids
from core.board.runner import AsyncBoard, Board
from core.board.script_calls import Batch, Commands, Op, ScriptCall, dumps
from core.clock import Clock
from core.quality.reputation_model import (
    DEFAULT_HALF_LIFE_DAYS,
    Delta,
    Source,
    TypeReputation,
    describe,
    evidence_deltas,
    excluded,
    project_field,
    reliability,
    type_field,
)
from core.redis.keys import Keys
from core.redis.scripts import ScriptName
from task_types import TaskType
from task_types import names as task_type_names
from task_types.reliability import Evidence, Reliability

__all__ = [
    "REPUTATION_RETENTION_MS",
    "ReputationOps",
    "Update",
    "agreement_updates",
    "apply_updates",
    "excluded_task_types",
    "excluded_task_types_async",
    "gold_update",
    "reputation_summary",
    "reputation_summary_async",
    "review_updates",
    "soft_credit",
]

AnyType = TaskType[Any, Any]

#: How long an applied-event marker and a soft credit are kept: far longer than any
#: redelivery, and than a task normally waits for its review.
REPUTATION_RETENTION_MS = 30 * 24 * 3600 * 1000
_DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Update:
    """One event's effect on one volunteer: increments, and what becomes of a soft credit."""

    event_id: str
    deltas: tuple[Delta, ...]
    soft_credit: str = ""  # the credit taken back first ("" for none)
    keep_as_soft_credit: bool = False  # store these deltas under ``soft_credit``
    #: Answers of the decision this update stands for (None: any credit is taken back). A
    #: credit stored from a decision on as many answers or more is newer: the update is then
    #: stale and changes nothing. A kept credit records it.
    answers: int | None = None


def soft_credit(project_id: str, task_id: str) -> str:
    """The name of the agreement credit a volunteer received on one task."""
    return f"soft:{project_id}:{task_id}"


class ReputationOps:
    """Builds the reputation operations (keys, arguments, reply parsing). ``half_life_days``
    is what written evidence fades with (0: it never fades); reads need none (it is stored)."""

    def __init__(
        self, keys: Keys, clock: Clock, half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    ) -> None:
        self.keys = keys
        self.clock = clock
        self.half_life_ms = round(half_life_days * _DAY_MS)

    def read(
        self, volunteer_id: str, fields: Sequence[str], leaving_out: str = ""
    ) -> ScriptCall[list[Any]]:
        """The volunteer's documents ``fields`` as they stand now (faded), None where absent;
        without the soft credit ``leaving_out`` (a :func:`soft_credit` name) if they hold it."""
        key = self.keys.reputation(ids.validate_volunteer_id(volunteer_id))
        args: list[str | int] = [self.clock.script_now(), leaving_out, *fields]
        return ScriptCall(ScriptName.READ_REPUTATION, [key], args, list)

    def reliabilities(
        self,
        project_id: str,
        task_type: str,
        volunteer_ids: Sequence[str],
        *,
        deciding: str | None = None,
    ) -> Batch[list[Reliability], list[Any]]:
        """Each volunteer's reliability on one project's task of ``task_type``, in order. For
        ``deciding`` a task (its id), what their agreement on that very task earned is left
        out: a decision never feeds on itself, and two runs deciding it (one before the other's
        credit, one after: a duplicate message, a crash mid-way) agree."""
        fields = (type_field(task_type), project_field(task_type, project_id))
        own_credit = "" if deciding is None else soft_credit(project_id, deciding)

        def parse(replies: list[list[Any]]) -> list[Reliability]:
            return [
                reliability(TypeReputation.from_json(task_type, overall), detail)
                for overall, detail in replies
            ]

        reads = [self.read(volunteer, fields, own_credit) for volunteer in volunteer_ids]
        return Batch(reads, parse)

    def standings(
        self, volunteer_id: str, task_types: Sequence[str]
    ) -> Op[dict[str, TypeReputation]]:
        """The volunteer's standing on each of ``task_types`` (one script call, or none)."""
        wanted = list(task_types)
        if not wanted:
            return Commands([], lambda _: {})
        read = self.read(volunteer_id, [type_field(name) for name in wanted])

        def parse(reply: Any) -> dict[str, TypeReputation]:
            return {
                name: TypeReputation.from_json(name, raw)
                for name, raw in zip(wanted, read.parse(reply), strict=True)
            }

        return ScriptCall(read.script, read.keys, read.args, parse)

    def apply(self, volunteer_id: str, update: Update) -> ScriptCall[bool]:
        """Apply ``update`` unless its event was applied already; True when applied now (a
        stale update, see :attr:`Update.answers`, is recorded as applied but changes nothing:
        False)."""
        args: list[str | int] = [
            self.clock.script_now(),
            update.event_id,
            REPUTATION_RETENTION_MS,
            update.soft_credit,
            "1" if update.keep_as_soft_credit else "0",
            dumps([[name, list(path), amount] for name, path, amount in update.deltas]),
            "" if update.answers is None else int(update.answers),
            self.half_life_ms,
        ]
        key = self.keys.reputation(ids.validate_volunteer_id(volunteer_id))
        return ScriptCall(ScriptName.APPLY_REPUTATION, [key], args, lambda r: int(r) == 1)


# -- what each event means for the volunteers concerned -------------------------------------


def agreement_updates(
    kind: AnyType,
    project_id: str,
    task_id: str,
    decision_id: str,
    payload: BaseModel,
    answers: Sequence[BaseModel],
    reliabilities: Sequence[Reliability],
    volunteers: Sequence[str],
) -> dict[str, Update]:
    """Per volunteer, the soft credit of an agreed decision: the evidence their answer gives
    under the decision's posterior, replacing any credit they had on this task from an earlier
    decision. ``decision_id`` is ``<task>:<answers>``: the credit records the answers."""
    evidence = kind.answer_evidence(payload, answers, reliabilities)
    event = f"agree:{project_id}:{decision_id}"
    credit = soft_credit(project_id, task_id)
    decided_on = _decision_answers(decision_id)
    return {
        volunteer: Update(
            event,
            _deltas(kind.name, project_id, found, Source.AGREEMENT),
            soft_credit=credit,
            keep_as_soft_credit=True,
            answers=decided_on,
        )
        for volunteer, found in zip(volunteers, evidence, strict=True)
    }


def review_updates(
    kind: AnyType,
    project_id: str,
    task_id: str,
    review_id: str,
    payload: BaseModel,
    answers: Sequence[BaseModel | None],
    volunteers: Sequence[str],
    final: BaseModel | None,
    *,
    reopened_to: int | None = None,
) -> dict[str, Update]:
    """Per volunteer, what a review decision does: the soft credit on the task is taken back
    and, when the decision has a ``final`` answer (accept, correct), each answer is judged
    against it. Without one (reject, reopen) only the credit goes.

    A reopen gives ``reopened_to``, the answers the task asks for since (its ``need``, read
    any time after the reopen): only a credit from a decision on fewer answers is taken back,
    so one given by a later decision, if the task was decided again before this runs, stays."""
    readable = [index for index, answer in enumerate(answers) if answer is not None]
    judged: dict[int, Evidence | None] = {}
    if final is not None and readable:
        found = kind.hard_evidence(payload, [answers[i] for i in readable], final)
        judged = dict(zip(readable, found, strict=True))
    event = f"review:{project_id}:{review_id}"
    credit = soft_credit(project_id, task_id)
    return {
        volunteer: Update(
            event,
            _deltas(kind.name, project_id, judged.get(index), Source.REVIEW),
            soft_credit=credit,
            answers=reopened_to,
        )
        for index, volunteer in enumerate(volunteers)
    }


def gold_update(
    kind: AnyType,
    project_id: str,
    submission_id: str,
    payload: BaseModel,
    answer: BaseModel,
    gold: BaseModel,
) -> Update:
    """A volunteer's (normalised) answer to a gold task, judged against the gold answer:
    the strongest evidence there is, applied once per submission."""
    [found] = kind.hard_evidence(payload, [answer], gold)
    return Update(
        f"gold:{project_id}:{submission_id}", _deltas(kind.name, project_id, found, Source.GOLD)
    )


def _decision_answers(decision_id: str) -> int | None:
    """The answers an agreement decision (``<task>:<answers>``) was taken on."""
    _, _, count = decision_id.rpartition(":")
    return int(count) if count.isdecimal() else None


def _deltas(
    task_type: str, project_id: str, evidence: Evidence | None, source: Source
) -> tuple[Delta, ...]:
    if evidence is None:
        return ()
    return tuple(evidence_deltas(task_type, project_id, evidence, source))


# -- running them ------------------------------------------------------------------------------


def apply_updates(board: Board, updates: Mapping[str, Update]) -> int:
    """Apply each volunteer's update (one pipeline); returns how many were applied now."""
    if not updates:
        return 0
    ops = ReputationOps(board.keys, board.clock, board.reputation_half_life_days)
    calls = [ops.apply(volunteer, update) for volunteer, update in updates.items()]
    return board.run(Batch(calls, lambda applied: sum(1 for done in applied if done)))


def excluded_task_types(
    board: Board, volunteer_id: str, floors: Mapping[str, float | None]
) -> frozenset[str]:
    """The task types (keys of ``floors``, each with its floor) the volunteer should no longer
    be served: enough evidence puts their accuracy below the floor."""
    ops = ReputationOps(board.keys, board.clock)
    standings = board.run(ops.standings(volunteer_id, list(floors)))
    return excluded(standings, floors)


async def excluded_task_types_async(
    board: AsyncBoard, volunteer_id: str, floors: Mapping[str, float | None]
) -> frozenset[str]:
    ops = ReputationOps(board.keys, board.clock)
    standings = await board.run(ops.standings(volunteer_id, list(floors)))
    return excluded(standings, floors)


def reputation_summary(
    board: Board,
    volunteer_id: str,
    floors: Mapping[str, float | None] | None = None,
    task_types: Iterable[str] | None = None,
) -> dict[str, Any]:
    """:func:`core.quality.reputation_model.describe` for one volunteer: per task type (every
    registered one by default), the accuracy estimate, its evidence, and the floor's verdict."""
    ops = ReputationOps(board.keys, board.clock)
    wanted = sorted(task_types if task_types is not None else task_type_names())
    return describe(board.run(ops.standings(volunteer_id, wanted)).values(), floors)


async def reputation_summary_async(
    board: AsyncBoard,
    volunteer_id: str,
    floors: Mapping[str, float | None] | None = None,
    task_types: Iterable[str] | None = None,
) -> dict[str, Any]:
    ops = ReputationOps(board.keys, board.clock)
    wanted = sorted(task_types if task_types is not None else task_type_names())
    return describe((await board.run(ops.standings(volunteer_id, wanted))).values(), floors)
