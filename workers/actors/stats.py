"""Actors about volunteers' stats: answers submitted, minutes, contribution, accepted rate."""

from __future__ import annotations

import structlog

from core.volunteers.stats_updates import record_decision, record_submission
from workers import runtime
from workers.routing import STATS_QUEUE, STATS_RECORD

__all__ = ["record"]

log = structlog.get_logger(__name__)


@runtime.event_actor(STATS_RECORD, STATS_QUEUE)
def record(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """``answer.submitted`` (tasks, minutes, contribution) or ``result.published`` (decided,
    accepted), each counted once (:mod:`core.volunteers.stats_updates`)."""
    board = runtime.board()
    kind = fields.get("type")
    if kind == "answer.submitted":
        at = fields.get("at")
        counted = int(
            record_submission(
                board,
                project_id,
                fields["task"],
                fields["submission"],
                int(at) if at and at.isdigit() else None,
            )
        )
    elif kind == "result.published":
        counted = record_decision(board, project_id, fields["result"])
    else:
        log.warning("stats.unexpected_event", project_id=project_id, type=kind)
        return
    log.info("stats.recorded", project_id=project_id, event_id=event_id, type=kind, counted=counted)
