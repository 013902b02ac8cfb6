"""Actors delivering results by webhook (queue ``results``); the work is in
:mod:`workers.delivery.deliverer`.

Both are thin and safe to run twice: the delivery's due-set claim lets one attempt through.
HTTP failures are not exceptions here — they are recorded and retried on the delivery's own
schedule (up to three days, visible in ``GET /v1/webhook/deliveries``). Only a failure to reach
Redis raises, and dramatiq retries the message (``max_retries`` below, back-off 1 s … 5 min).
"""

from __future__ import annotations

import threading

import dramatiq
import structlog

from core.settings import load_settings
from workers.delivery.deliverer import DELIVER, DELIVER_DUE, QUEUE, Deliverer

__all__ = ["deliver_due", "deliver_result", "install"]

log = structlog.get_logger(__name__)

_MAX_RETRIES = 20
_MIN_BACKOFF_MS = 1_000
_MAX_BACKOFF_MS = 5 * 60 * 1000
_TIME_LIMIT_MS = 60_000  # an attempt is bounded at 15 s (workers.delivery.webhook_client)

_deliverer: Deliverer | None = None
_lock = threading.Lock()


def install(deliverer: Deliverer | None) -> None:
    """Use ``deliverer`` in this process (tests, or an embedding program); None: from settings."""
    global _deliverer
    with _lock:
        _deliverer = deliverer


def _current() -> Deliverer:
    """The process's deliverer, built from the environment's settings on first use."""
    global _deliverer
    with _lock:
        if _deliverer is None:
            _deliverer = Deliverer.from_settings(load_settings())
        return _deliverer


@dramatiq.actor(
    actor_name=DELIVER,
    queue_name=QUEUE,
    max_retries=_MAX_RETRIES,
    min_backoff=_MIN_BACKOFF_MS,
    max_backoff=_MAX_BACKOFF_MS,
    time_limit=_TIME_LIMIT_MS,
)
def deliver_result(project_id: str, event_id: str, fields: dict[str, str]) -> None:
    """A ``result.published`` event (``fields["result"]``: the results feed entry id)."""
    result_id = fields.get("result")
    if not result_id:
        log.warning("webhook.event_without_result", project_id=project_id, event_id=event_id)
        return
    _current().on_result(project_id, result_id)


@dramatiq.actor(
    actor_name=DELIVER_DUE,
    queue_name=QUEUE,
    max_retries=_MAX_RETRIES,
    min_backoff=_MIN_BACKOFF_MS,
    max_backoff=_MAX_BACKOFF_MS,
    time_limit=_TIME_LIMIT_MS,
)
def deliver_due(org_id: str, delivery_id: str, token: int | None = None) -> None:
    """A retry or redelivery the scheduler found due; ``token``: the due score it set."""
    _current().on_due(org_id, delivery_id, token)
