"""Actors about gold (control) tasks: what a scored gold answer turns into."""

from __future__ import annotations

import structlog

from core.quality.gold import settle_gold_answer
from workers import runtime
from workers.routing import QUALITY_GOLD, QUALITY_QUEUE

__all__ = ["settle"]

log = structlog.get_logger(__name__)


@runtime.event_actor(QUALITY_GOLD, QUALITY_QUEUE)
def settle(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """``gold.answered``: feedback to the volunteer and the gold evidence to their reputation,
    each once (:mod:`core.quality.gold`)."""
    settled = settle_gold_answer(runtime.board(), project_id, fields)
    log.info(
        "gold.settled",
        project_id=project_id,
        task_id=fields.get("task"),
        feedback=settled.feedback,
        reputation=settled.reputation,
    )
