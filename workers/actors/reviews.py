"""Actors about reviews: turning a reviewer's decision into a result and feedback."""

from __future__ import annotations

import structlog

from core.review.settlement import settle_review
from workers import runtime
from workers.routing import REVIEWS_QUEUE, REVIEWS_SETTLE

__all__ = ["settle"]

log = structlog.get_logger(__name__)

# A decision waits on nothing slow: retried soon.
_BACKOFF_MS = (500, 60_000)


@runtime.event_actor(REVIEWS_SETTLE, REVIEWS_QUEUE, backoff_ms=_BACKOFF_MS)
def settle(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """A ``review.decided`` event: publish the result the decision made, and tell the
    volunteers concerned (:mod:`core.review.settlement`; safe to run twice)."""
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
