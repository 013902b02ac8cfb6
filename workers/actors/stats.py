"""Actors about volunteers' stats: answers submitted, minutes, contribution, accepted rate."""

from __future__ import annotations

import dramatiq
import structlog

from core.stats_updates import record_decision, record_submission
from workers import runtime
from workers.routing import STATS_QUEUE, STATS_RECORD

__all__ = ["record"]

log = structlog.get_logger(__name__)

_MAX_RETRIES = 10
_MIN_BACKOFF_MS = 1_000
_MAX_BACKOFF_MS = 5 * 60_000
_TIME_LIMIT_MS = 60_000


@dramatiq.actor(
    actor_name=STATS_RECORD,
    queue_name=STATS_QUEUE,
    max_retries=_MAX_RETRIES,
    min_backoff=_MIN_BACKOFF_MS,
    max_backoff=_MAX_BACKOFF_MS,
    retry_when=runtime.retry_transient(_MAX_RETRIES),
    time_limit=_TIME_LIMIT_MS,
)
def record(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """``answer.submitted`` (tasks, minutes, contribution) or ``result.published`` (decided,
    accepted), each counted once (:mod:`core.stats_updates`)."""
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
