"""Actors about a project's quality estimates: the periodic refit, off the hot path."""

from __future__ import annotations

import structlog

from core.quality.refit import refit_project
from workers import runtime
from workers.routing import QUALITY_QUEUE, QUALITY_REFIT

__all__ = ["refit"]

log = structlog.get_logger(__name__)

# A refit reads a bounded window (core.quality.refit: 2,000 tasks) and stops its EM after 20 s;
# writing the reputations is a pipeline per 500 volunteers.
_TIME_LIMIT_MS = 5 * 60_000


@runtime.event_actor(QUALITY_REFIT, QUALITY_QUEUE, retries=3, time_limit_ms=_TIME_LIMIT_MS)
def refit(project_id: str, refit_id: str, fields: dict[str, str]) -> None:
    """Refit the project's estimates from its recent answers and gold (Dawid-Skene EM, the
    calibration, the threshold; :mod:`core.quality.refit`). ``refit_id`` names the refit (the
    event whose decision made it due), so a redelivered message writes no reputation twice."""
    done = refit_project(runtime.board(), project_id, refit_id)
    if done is None:
        log.info("quality.refit_skipped", project_id=project_id, refit_id=refit_id)
