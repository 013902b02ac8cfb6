"""Project deadlines: when one passes, the project closes and its unfinished tasks expire.

A project's ``deadline`` (ISO 8601 in its document) is also kept as ``deadline_ms`` in the board's
project hash (written by :mod:`core.projects.store` on create and edit), where the Lua scripts read
it:

- from the deadline on, ``claim.lua`` serves nothing more (``closed``) and ``create_tasks.lua``
  refuses new tasks (409 ``project_closed``), whether or not a sweep has run yet;
- ``expire_deadline.lua``, run by the scheduler on every tick for every project, marks the project
  ``closed`` (final: its state and deadline no longer change; the close also raises the project's
  revision, so an edit read before it is refused as stale and reads the project again, see
  :mod:`core.projects.store`), ends the leases still out, and
  turns every task still waiting for answers (``open``, ``collecting``, ``stalled``) into
  ``expired``, in bounded batches. Tasks whose answers are in (``aggregating``, ``in_review``)
  are left to finish: their results still reach the NGO. ``resolved``, ``rejected`` and
  ``expired`` tasks are untouched.

Leases still out at the deadline end with it (their assignment turns ``expired``, with
``why: deadline``; a later submit gets 409 ``lease_not_live``): the deadline is the NGO's cut-off,
and an answer recorded on an expired task would bring it back to life. The volunteer's slot in
their live-assignment cap is given back at once.

Every step of the script moves state forward only, so two schedulers sweeping at once, or a tick
repeated, is harmless; a call with nothing left to do writes nothing. The project stream gets one
``project.closed`` event, then at most one ``assignments.ended`` and one ``tasks.expired`` event
per batch, each listing the ids (a lean audit trail rather than one event per task).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from core.board.operations import Batch, Commands, ScriptCall, checked, text
from core.board.runner import Board
from core.board.script_calls import OpsBase
from core.redis.scripts import ScriptName

__all__ = [
    "DEFAULT_LIMIT",
    "DeadlineSweep",
    "SweepTotals",
    "expire_deadline",
    "expire_deadline_op",
    "follow_up",
    "sweep_deadlines",
]

log = structlog.get_logger(__name__)

#: Leases and tasks looked at per project and call: a few milliseconds of Redis at most.
DEFAULT_LIMIT = 500
#: Projects whose script calls go down one pipeline.
PROJECTS_PER_ROUND_TRIP = 100


@dataclass(frozen=True, slots=True)
class DeadlineSweep:
    """What one ``expire_deadline.lua`` call did to one project."""

    project_id: str
    due: bool  # the deadline has passed (the project is closed)
    newly_closed: bool = False
    more: bool = False  # work is left for the next call
    ended: list[tuple[str, str]] = field(default_factory=list)  # (assignment id, volunteer id)
    expired: list[str] = field(default_factory=list)  # task ids


@dataclass(slots=True)
class SweepTotals:
    """One sweep over every project."""

    closed: int = 0
    expired: int = 0
    ended: int = 0
    pending: int = 0  # projects with work left for the next sweep


def expire_deadline_op(ops: OpsBase, project_id: str, limit: int) -> ScriptCall[DeadlineSweep]:
    pk = ops.project_keys(project_id)

    def parse(reply: Sequence[Any]) -> DeadlineSweep:
        status = text(checked(reply)[0])
        if status == "open":
            return DeadlineSweep(project_id, due=False)
        flat = [text(value) for value in reply[3]]
        return DeadlineSweep(
            project_id,
            due=True,
            newly_closed=bool(int(reply[1])),
            more=bool(int(reply[2])),
            ended=list(zip(flat[::2], flat[1::2], strict=True)),
            expired=[text(task_id) for task_id in reply[4]],
        )

    keys = [pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases, pk.events, pk.unclaimed]
    args: list[str | int] = [ops.clock.script_now(), limit]
    return ScriptCall(ScriptName.EXPIRE_DEADLINE, keys, args, parse)


def follow_up(ops: OpsBase, sweeps: Sequence[DeadlineSweep]) -> Commands[None]:
    """Writes outside the project's slot: the volunteers' cap slots of the leases that ended, and
    the claim index entry of a project that closed. Both idempotent."""
    commands: list[tuple[str | int, ...]] = []
    for sweep in sweeps:
        for assignment_id, volunteer_id in sweep.ended:
            commands.append(("ZREM", ops.keys.volunteer_live(volunteer_id), assignment_id))
        if sweep.newly_closed:
            commands.append(("HDEL", ops.keys.project_index, sweep.project_id))
    return Commands(commands, lambda _: None)


def _report(sweep: DeadlineSweep) -> None:
    if sweep.newly_closed:
        log.info("deadline.project_closed", project_id=sweep.project_id)
    if sweep.expired or sweep.ended:
        log.info(
            "deadline.expired",
            project_id=sweep.project_id,
            tasks=len(sweep.expired),
            leases=len(sweep.ended),
            more=sweep.more,
        )


def expire_deadline(board: Board, project_id: str, limit: int = DEFAULT_LIMIT) -> DeadlineSweep:
    """One bounded step of deadline expiry on one project (nothing before its deadline)."""
    sweep = board.run(expire_deadline_op(board.ops, project_id, limit))
    board.run(follow_up(board.ops, [sweep]))
    _report(sweep)
    return sweep


def sweep_deadlines(board: Board, limit_per_project: int = DEFAULT_LIMIT) -> SweepTotals:
    """One bounded step on every project (the scheduler's tick); a project with more work left
    gets its next step on the next tick. Calls go down one pipeline per hundred projects."""
    totals = SweepTotals()
    project_ids = list(board.project_ids())
    for start in range(0, len(project_ids), PROJECTS_PER_ROUND_TRIP):
        chunk = project_ids[start : start + PROJECTS_PER_ROUND_TRIP]
        calls = [expire_deadline_op(board.ops, pid, limit_per_project) for pid in chunk]
        sweeps: list[DeadlineSweep] = board.run(Batch(calls, list))
        board.run(follow_up(board.ops, sweeps))
        for sweep in sweeps:
            _report(sweep)
            totals.closed += sweep.newly_closed
            totals.expired += len(sweep.expired)
            totals.ended += len(sweep.ended)
            totals.pending += sweep.more
    return totals
