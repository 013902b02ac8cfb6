"""Actors about the worker fleet itself."""

from __future__ import annotations

import dramatiq
import structlog

__all__ = ["PING", "ping"]

log = structlog.get_logger(__name__)

#: Stable names: messages already in Redis keep finding their actor after a refactor.
PING = "system.ping"
QUEUE = "system"


@dramatiq.actor(actor_name=PING, queue_name=QUEUE, max_retries=0)
def ping(note: str = "") -> None:
    """Proves a worker is consuming: logs one line. Nothing to retry, so no retries."""
    log.info("system.pong", note=note)
