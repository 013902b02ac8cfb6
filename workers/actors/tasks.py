"""Actors about tasks: cross-validating a task's answers once they are all in."""

from __future__ import annotations

import dramatiq
import structlog

from core.aggregation import aggregate_task
from core.errors import TaskClosed
from workers import runtime
from workers.routing import TASKS_AGGREGATE, TASKS_QUEUE, TASKS_REVIEW_STALLED

__all__ = ["aggregate", "review_stalled"]

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


# A stalled task may still have leases out (taken before it stalled); the review waits for them
# to end (TaskBusy is transient): back-off from 30 s to 15 min, over about 6 hours in all, more
# than the longest a lease can be kept alive by heartbeats (2 hours by default).
_STALLED_RETRIES = 30
_STALLED_MIN_BACKOFF_MS = 30_000
_STALLED_MAX_BACKOFF_MS = 15 * 60_000


@dramatiq.actor(
    actor_name=TASKS_REVIEW_STALLED,
    queue_name=TASKS_QUEUE,
    max_retries=_STALLED_RETRIES,
    min_backoff=_STALLED_MIN_BACKOFF_MS,
    max_backoff=_STALLED_MAX_BACKOFF_MS,
    retry_when=runtime.retry_transient(_STALLED_RETRIES),
    time_limit=_TIME_LIMIT_MS,
)
def review_stalled(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """A ``task.stalled`` event (its leases kept expiring): a reviewer decides what becomes of
    it (answer it, reopen it, reject it). Opening twice opens once; a task closed meanwhile (its
    project's deadline passed) is left alone."""
    board = runtime.board()
    task_id = fields["task"]
    try:
        view = board.get_task(project_id, task_id)
        opened = board.open_review(project_id, task_id, "stalled", priority=view.priority)
    except TaskClosed as closed:
        log.info("task.stalled_closed", project_id=project_id, task_id=task_id, state=str(closed))
        return
    log.info("task.stalled_to_review", project_id=project_id, task_id=task_id, opened=opened)
