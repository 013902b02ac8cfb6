"""Actors about tasks: cross-validating a task's answers once they are all in."""

from __future__ import annotations

import dramatiq
import structlog

from core.aggregation import aggregate_task
from workers import runtime
from workers.routing import TASKS_AGGREGATE, TASKS_QUEUE

__all__ = ["aggregate"]

log = structlog.get_logger(__name__)

_MAX_RETRIES = 10
_MIN_BACKOFF_MS = 500
_MAX_BACKOFF_MS = 60_000
_TIME_LIMIT_MS = 60_000  # aggregation is milliseconds of CPU; a minute means something is stuck


@dramatiq.actor(
    actor_name=TASKS_AGGREGATE,
    queue_name=TASKS_QUEUE,
    max_retries=_MAX_RETRIES,
    min_backoff=_MIN_BACKOFF_MS,
    max_backoff=_MAX_BACKOFF_MS,
    retry_when=runtime.retry_transient(_MAX_RETRIES),
    time_limit=_TIME_LIMIT_MS,
)
def aggregate(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """An ``answer.submitted`` event that completed its task: resolve it, ask for one more
    answer, or send it to the reviewers (:mod:`core.aggregation`; safe to run twice)."""
    done = aggregate_task(runtime.board(), project_id, fields["task"])
    log.info(
        "task.aggregated",
        project_id=project_id,
        task_id=done.task_id,
        event_id=event_id,
        outcome=done.outcome.value,
        changed=done.changed,
        decision_id=done.decision_id,
        confidence=done.confidence,
        reason=done.reason,
    )
