"""Actors about tasks: cross-validating a task's answers once they are all in."""

from __future__ import annotations

import structlog
from dramatiq.errors import ActorNotFound

from core.errors import TaskClosed
from core.quality.aggregation import aggregate_task
from workers import runtime
from workers.routing import QUALITY_REFIT, TASKS_AGGREGATE, TASKS_QUEUE, TASKS_REVIEW_STALLED

__all__ = ["aggregate", "review_stalled"]

log = structlog.get_logger(__name__)

# Aggregation is milliseconds of CPU (the default time limit, a minute, means something is
# stuck); retried soon.
_BACKOFF_MS = (500, 60_000)


@runtime.event_actor(TASKS_AGGREGATE, TASKS_QUEUE, backoff_ms=_BACKOFF_MS)
def aggregate(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """An ``answer.submitted`` event that completed its task: resolve it, ask for one more
    answer, or send it to the reviewers (:mod:`core.quality.aggregation`; safe to run twice)."""
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
    if done.refit_due:
        # Every so many decisions: the project's estimates refitted off the hot path, named
        # after this event so a redelivered refit writes nothing twice.
        # The broker this actor is bound to (not the process's current one, which a second
        # broker set up in the same process, as tests do, would replace).
        try:
            refit = aggregate.broker.get_actor(QUALITY_REFIT)
        except ActorNotFound:
            log.warning("quality.refit_missing", project_id=project_id)
        else:
            refit.send(project_id, event_id, {})


# A stalled task may still have leases out (taken before it stalled); the review waits for them
# to end (TaskBusy is transient): back-off from 30 s to 15 min, over about 6 hours in all, more
# than the longest a lease can be kept alive by heartbeats (2 hours by default).
_STALLED_RETRIES = 30
_STALLED_BACKOFF_MS = (30_000, 15 * 60_000)


@runtime.event_actor(
    TASKS_REVIEW_STALLED,
    TASKS_QUEUE,
    retries=_STALLED_RETRIES,
    backoff_ms=_STALLED_BACKOFF_MS,
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
