"""Actors about reviews: turning a reviewer's decision into a result and feedback."""

from __future__ import annotations

import dramatiq
import structlog

from core.settlement import settle_review
from workers import runtime
from workers.routing import REVIEWS_QUEUE, REVIEWS_SETTLE

__all__ = ["settle"]

log = structlog.get_logger(__name__)

_MAX_RETRIES = 10
_MIN_BACKOFF_MS = 500
_MAX_BACKOFF_MS = 60_000
_TIME_LIMIT_MS = 60_000


@dramatiq.actor(
    actor_name=REVIEWS_SETTLE,
    queue_name=REVIEWS_QUEUE,
    max_retries=_MAX_RETRIES,
    min_backoff=_MIN_BACKOFF_MS,
    max_backoff=_MAX_BACKOFF_MS,
    retry_when=runtime.retry_transient(_MAX_RETRIES),
    time_limit=_TIME_LIMIT_MS,
)
def settle(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """A ``review.decided`` event: publish the result the decision made, and tell the
    volunteers concerned (:mod:`core.settlement`; safe to run twice)."""
    done = settle_review(
        runtime.board(), project_id, fields["task"], fields["review"], fields["action"]
    )
    log.info(
        "review.settled",
        project_id=project_id,
        task_id=done.task_id,
        event_id=event_id,
        action=fields["action"],
        published=done.published,
        cursor=done.cursor,
        feedback=done.feedback,
        reputations=done.reputations,
        reason=done.reason,
    )
