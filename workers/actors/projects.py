"""Actors about projects: deciding open tasks again when the project's policy changes."""

from __future__ import annotations

import structlog

from core.projects.reevaluation import reevaluate_project
from workers import runtime
from workers.routing import PROJECTS_QUEUE, PROJECTS_REEVALUATE

__all__ = ["reevaluate"]

log = structlog.get_logger(__name__)

# A walk is one HSCAN of the project's tasks plus a decision for each open one with answers:
# seconds for tens of thousands of tasks.
_TIME_LIMIT_MS = 10 * 60_000


@runtime.event_actor(PROJECTS_REEVALUATE, PROJECTS_QUEUE, time_limit_ms=_TIME_LIMIT_MS)
def reevaluate(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """A ``project.updated`` event: decide again the open tasks whose answers the new policy
    may find enough (:mod:`core.projects.reevaluation`; safe to run twice)."""
    done = reevaluate_project(runtime.board(), project_id)
    log.info(
        "project.reevaluated",
        project_id=project_id,
        event_id=event_id,
        walked=done.walked,
        seen=done.seen,
        closed=done.closed,
        outcomes=dict(done.outcomes),
    )
