"""A project's policy changed: decide again the open tasks that have answers.

NGOs tune redundancy, the ``max_redundancy`` ceiling and the agreement threshold while a project
runs (a long-standing complaint against PyBossa and Panoptes is that such a change only applies
to tasks created afterwards). :func:`reevaluate_project` runs on ``project.updated`` (the
``projects.reevaluate`` actor) and walks the project's tasks once (``HSCAN``):

- an ``aggregating`` task is aggregated (:func:`core.quality.aggregation.aggregate_task`), under the
  new policy;
- a ``collecting`` task with at least the project's (new) ``redundancy`` answers, none of them
  still being written (no live lease), is weighed as it stands: when its answers are now enough
  (the verdict is agreed) or the ceiling allows no more, it stops collecting
  (``close_collection``: need = answers, state aggregating, in one script) and is aggregated,
  which resolves it or, at the ceiling, opens a review. Otherwise it keeps collecting.

Tasks with no answers, with a lease live, in review or decided are left alone. Every step is
idempotent (the script checks the task still has the answers the decision saw, the aggregation
names its decision), so a walk run twice, or at the same time as the pipeline, decides each task
once. The policy a walk ran under is recorded in the project hash (``evaluated_policy``): an edit
that changes none of the three (a new impact note, a pause) does not walk the tasks again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core import ids
from core.board.runner import Board
from core.board.script_calls import Commands, ScriptCall, dumps, json_or_none, text
from core.clock import Clock
from core.errors import TaskNotFound
from core.quality.aggregation import aggregate_task, parse_task, weigh
from core.quality.outcomes import PipelineOps
from core.quality.prior import class_counts
from core.quality.project_quality import ProjectQuality
from core.redis.keys import Keys
from core.redis.scripts import ScriptName

__all__ = ["EVALUATED_POLICY_FIELD", "Reevaluated", "close_collection", "reevaluate_project"]

#: Field of the project hash: the policy (JSON) the last walk ran under.
EVALUATED_POLICY_FIELD = "evaluated_policy"
_SCAN_BATCH = 500


@dataclass(frozen=True, slots=True)
class Reevaluated:
    project_id: str
    walked: bool  # False: the policy had been evaluated already (or there is no project)
    seen: int = 0  # tasks looked at
    closed: int = 0  # collections this walk closed
    outcomes: Mapping[str, int] = field(default_factory=dict)  # aggregation outcomes


def close_collection(
    keys: Keys, clock: Clock, project_id: str, task_id: str, answers: int
) -> ScriptCall[bool]:
    """Stop collecting on a task that still has exactly ``answers`` answers and no live lease;
    True when closed now (it is then aggregating)."""
    pk = keys.project(ids.validate_project_id(project_id))
    ids.validate_task_id(task_id)

    def parse(reply: Sequence[Any]) -> bool:
        if text(reply[0]) == "err":
            raise TaskNotFound("no such task")
        return bool(int(reply[1]))

    args: list[str | int] = [clock.script_now(), task_id, int(answers)]
    return ScriptCall(
        ScriptName.CLOSE_COLLECTION, [pk.project, pk.tasks, pk.ready, pk.events], args, parse
    )


def policy_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a project's policy that decides its tasks."""
    review = document.get("review") or {}
    return {
        "redundancy": document.get("redundancy"),
        "max_redundancy": document.get("max_redundancy"),
        "agreement": review.get("agreement") if isinstance(review, Mapping) else None,
    }


def reevaluate_project(board: Board, project_id: str, *, force: bool = False) -> Reevaluated:
    """Walk the project's tasks and decide again those whose answers may now be enough."""
    pk = board.keys.project(ids.validate_project_id(project_id))
    raw_document, evaluated = board.run(
        Commands(
            [("HMGET", pk.project, "doc", EVALUATED_POLICY_FIELD)],
            lambda replies: tuple(replies[0]),
        )
    )
    document = json_or_none(raw_document)
    if not isinstance(document, dict):
        return Reevaluated(project_id, walked=False)
    policy = dumps(policy_of(document))
    if not force and evaluated is not None and text(evaluated) == policy:
        return Reevaluated(project_id, walked=False)

    redundancy = int(document.get("redundancy") or 1)
    ceiling = int(document.get("max_redundancy") or redundancy)
    seen, closed = 0, 0
    outcomes: Counter[str] = Counter()
    for task_id, raw in board.client.hscan_iter(pk.tasks, count=_SCAN_BATCH):
        seen += 1
        record = json.loads(raw)
        state, answers = record.get("state"), int(record.get("answers", 0))
        task = text(task_id)
        if state == "collecting" and _may_close(record, redundancy, ceiling):
            if not _enough(board, project_id, task, document, answers, ceiling):
                continue
            if not board.run(close_collection(board.keys, board.clock, project_id, task, answers)):
                continue
            closed += 1
        elif state != "aggregating":
            continue
        outcomes[aggregate_task(board, project_id, task).outcome.value] += 1
    board.client.hset(pk.project, EVALUATED_POLICY_FIELD, policy)
    return Reevaluated(project_id, True, seen, closed, dict(outcomes))


def _may_close(record: Mapping[str, Any], redundancy: int, ceiling: int) -> bool:
    answers, need = int(record.get("answers", 0)), int(record.get("need", 0))
    return (
        answers >= 1
        and int(record.get("live", 0)) == 0
        and answers < need
        and (answers >= redundancy or answers >= ceiling)
    )


def _enough(
    board: Board,
    project_id: str,
    task_id: str,
    document: Mapping[str, Any],
    answers: int,
    ceiling: int,
) -> bool:
    """Whether a collecting task's answers settle it under the policy: agreed, or as many as
    the ceiling allows (a reviewer then settles it)."""
    if answers >= ceiling:
        return True
    ops = PipelineOps(board.keys, board.clock)
    context = board.run(ops.aggregation_context(project_id, task_id))
    if context.task is None:
        return False
    review = document.get("review") or {}
    threshold = review.get("agreement") if isinstance(review, Mapping) else None
    prior = class_counts(document.get("base_rates"), context.gold)
    quality = ProjectQuality.from_json(context.quality)
    weighed = weigh(board, project_id, task_id, parse_task(context), threshold, prior, quality)
    return weighed.verdict.agreed
