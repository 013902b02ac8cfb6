"""Actors about gold (control) tasks: what a scored gold answer turns into."""

from __future__ import annotations

import dramatiq
import structlog

from core.gold import settle_gold_answer
from workers import runtime
from workers.routing import QUALITY_GOLD, QUALITY_QUEUE

__all__ = ["settle"]

log = structlog.get_logger(__name__)

_MAX_RETRIES = 10
_MIN_BACKOFF_MS = 1_000
_MAX_BACKOFF_MS = 5 * 60_000
_TIME_LIMIT_MS = 60_000


@dramatiq.actor(
    actor_name=QUALITY_GOLD,
    queue_name=QUALITY_QUEUE,
    max_retries=_MAX_RETRIES,
    min_backoff=_MIN_BACKOFF_MS,
    max_backoff=_MAX_BACKOFF_MS,
    retry_when=runtime.retry_transient(_MAX_RETRIES),
    time_limit=_TIME_LIMIT_MS,
)
def settle(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """``gold.answered``: feedback to the volunteer and the gold evidence to their reputation,
    each once (:mod:`core.gold`)."""
    settled = settle_gold_answer(runtime.board(), project_id, fields)
    log.info(
        "gold.settled",
        project_id=project_id,
        task_id=fields.get("task"),
        feedback=settled.feedback,
        reputation=settled.reputation,
    )
