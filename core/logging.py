"""Logging for every Ruche process: structlog in front, the standard library behind.

``configure_logging(settings)`` is called once at process start. Afterwards both
``structlog.get_logger()`` and plain ``logging.getLogger()`` (uvicorn, dramatiq, redis) end in one
handler that adds the level, logger name and an ISO timestamp, redacts sensitive fields, and
renders a console line on a terminal or a JSON line otherwise.

Sensitive fields: volunteers' answers and NGOs' payloads may hold personal data, so a value whose
key is in :data:`SENSITIVE_FIELDS` (or in the extra set a caller passes, e.g. the fields task types
declare sensitive) is replaced by ``"[redacted]"`` wherever it sits in the event, however deeply
nested. Free text in a log message is not inspected: log values as key-value fields.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from core.settings import Settings

__all__ = ["REDACTED", "SENSITIVE_FIELDS", "RedactSensitiveFields", "configure_logging"]

REDACTED = "[redacted]"

#: Keys whose values never reach a log line (compared case-insensitively).
SENSITIVE_FIELDS: frozenset[str] = frozenset(
    {
        "source_text",
        "content",
        "document",
        "payload",
        "answer",
        "gold_answer",
        "token",
        "api_key",
        "secret",
        "password",
        "authorization",
        "cookie",
    }
)

_HANDLER_NAME = "ruche"


class RedactSensitiveFields:
    """Processor replacing the value of every sensitive key, at any depth, with ``REDACTED``."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = frozenset(field.lower() for field in fields)

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        return {key: self._clean(key, value) for key, value in event_dict.items()}

    def _clean(self, key: object, value: Any) -> Any:
        if isinstance(key, str) and key.lower() in self.fields:
            return REDACTED
        if isinstance(value, Mapping):
            return {k: self._clean(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(None, item) for item in value]
        return value


def configure_logging(
    settings: Settings,
    *,
    stream: TextIO | None = None,
    sensitive_fields: Iterable[str] = (),
) -> None:
    """Route structlog and the standard library through one redacting handler on ``stream``.

    Calling it again replaces the previous configuration rather than adding a second handler,
    so it is safe to call from every entry point. ``stream`` defaults to ``sys.stderr`` as it is
    at call time (dramatiq points it at a pipe in its worker processes before we get here).
    """
    stream = stream if stream is not None else sys.stderr
    redact = RedactSensitiveFields(SENSITIVE_FIELDS | set(sensitive_fields))

    # Everything that depends on the settings lives in the handler's formatter; structlog's own
    # chain stays fixed. No caching on first use: a module-level logger used before this call
    # (an import-time line, a test) would otherwise keep structlog's defaults for good.
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )

    formatter = structlog.stdlib.ProcessorFormatter(
        # Records from plain `logging` calls get the request/message context too.
        foreign_pre_chain=[structlog.contextvars.merge_contextvars],
        processors=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,  # reads `_record`: before it is removed
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            redact,
            *_renderer(settings, stream),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)


def _renderer(settings: Settings, stream: TextIO) -> list[Processor]:
    is_tty = stream.isatty()
    if settings.log_format == "console" or (settings.log_format == "auto" and is_tty):
        return [
            structlog.dev.ConsoleRenderer(
                colors=is_tty,
                # Plain tracebacks: fancier formatters can print local variables (payloads).
                exception_formatter=structlog.dev.plain_traceback,
            )
        ]
    return [
        structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        ),
        structlog.processors.JSONRenderer(),
    ]
