"""dramatiq middleware of our own: per-message log context and one summary line per message.

The context includes the id of the HTTP request the message's work came from, when there is
one (``request_id``: the API stores it in the events its board operations append, the relay
copies it into the message options), so one request's lines can be followed into the actors.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

import structlog
from dramatiq.broker import Broker, MessageProxy
from dramatiq.middleware import Middleware

from core.logging import REQUEST_ID

__all__ = ["LogContext"]

log = structlog.get_logger(__name__)

# Each worker thread handles one message at a time and has its own context, so a ContextVar holds
# the start time without writing it into the message (whose options are re-enqueued on retry).
_started: ContextVar[float | None] = ContextVar("ruche_message_started", default=None)


class LogContext(Middleware):
    """Binds message id, actor, correlation id and request id to every log line written while a
    message runs.

    A producer that sets ``correlation_id`` or ``request_id`` in the message options (the relay
    does both: the event, and the HTTP request behind it) makes one request's lines and the work
    it caused findable together. Put it first in the middleware list: ``before_*`` hooks run in
    order and ``after_*`` hooks in reverse, so the context is bound before, and cleared after,
    every other middleware logs.
    """

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            message_id=message.message_id,
            actor=message.actor_name,
            queue=message.queue_name,
            correlation_id=message.options.get("correlation_id"),
            retries=message.options.get("retries", 0),
        )
        request_id = message.options.get(REQUEST_ID)
        if isinstance(request_id, str) and request_id:
            structlog.contextvars.bind_contextvars(**{REQUEST_ID: request_id})
        _started.set(time.monotonic())

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            log.info("message.processed", duration_ms=_elapsed_ms())
        else:
            log.warning("message.failed", duration_ms=_elapsed_ms(), error=type(exception).__name__)
        _reset()

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        log.info("message.skipped")
        _reset()


def _elapsed_ms() -> float | None:
    started = _started.get()
    return None if started is None else round((time.monotonic() - started) * 1000, 2)


def _reset() -> None:
    _started.set(None)
    structlog.contextvars.clear_contextvars()
