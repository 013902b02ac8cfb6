"""Actors about volunteers' stats: answers submitted, minutes, contribution, accepted rate,
review decisions made."""

from __future__ import annotations

import structlog

from core.volunteers.stats_updates import record_decision, record_review, record_submission
from workers import runtime
from workers.routing import STATS_QUEUE, STATS_RECORD

__all__ = ["record"]

log = structlog.get_logger(__name__)


@runtime.event_actor(STATS_RECORD, STATS_QUEUE)
def record(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """``answer.submitted`` (tasks, minutes, contribution), ``result.published`` (decided,
    accepted) or ``review.decided`` (the reviewer's reviews and review minutes), each counted
    once (:mod:`core.volunteers.stats_updates`)."""
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
    elif kind == "review.decided":
        at = fields.get("at")
        counted = int(
            record_review(
                board,
                project_id,
                fields["review"],
                fields["reviewer"],
                int(at) if at and at.isdigit() else None,
            )
        )
    else:
        log.warning("stats.unexpected_event", project_id=project_id, type=kind)
        return
    log.info("stats.recorded", project_id=project_id, event_id=event_id, type=kind, counted=counted)
