"""Logging for every Ruche process: structlog in front, the standard library behind.

``configure_logging(settings)`` is called once at process start. Afterwards both
``structlog.get_logger()`` and plain ``logging.getLogger()`` (uvicorn, dramatiq, redis) end in one
handler that adds the level, logger name and an ISO timestamp, redacts sensitive fields, and
renders a console line on a terminal or a JSON line otherwise.

Sensitive fields: volunteers' answers and NGOs' payloads may hold personal data, so a value whose
key is in :data:`SENSITIVE_FIELDS`, in the fields the installed task types declare sensitive, or
in the extra set a caller passes, is replaced by ``"[redacted]"`` wherever it sits in the event,
however deeply nested. Free text in a log message is not inspected: log values as key-value
fields.

Tracebacks never show local variables (a frame's locals are where payloads and answers sit while
they are worked on), in JSON and on the console alike, and the message of a pydantic
``ValidationError`` anywhere in an exception's chain is rewritten without the input values
pydantic puts in it.

Secrets in text: tokens (``rk_admin_…``, ``rk_org_…``, ``rk_vol_…``), webhook secrets
(``whsec_…``) and the value of any query parameter whose name says it holds one (``token=``,
``api_key=``, ``password=``, ``signature=``…) are cut out of every string a log line holds,
uvicorn's access lines included: clients do put tokens in query strings, and the path uvicorn
logs keeps its query string.

Request ids: the API binds :data:`REQUEST_ID` for a whole request, the workers for a whole
message; :func:`current_request_id` reads it back so the work a request triggers can carry it.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import structlog
from pydantic import ValidationError
from structlog.typing import EventDict, ExcInfo, Processor, WrappedLogger

from core.settings import Settings

__all__ = [
    "HANDLER_NAME",
    "REDACTED",
    "REQUEST_ID",
    "SENSITIVE_FIELDS",
    "RedactSensitiveFields",
    "configure_logging",
    "current_request_id",
    "safe_exception_dicts",
    "safe_plain_traceback",
    "scrub_secrets",
]

REDACTED = "[redacted]"

#: The log field (and event field, and message option) naming the request some work came from.
REQUEST_ID = "request_id"

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

#: The name of the root handler configure_logging installs (and replaces when called again).
HANDLER_NAME = "ruche"


class RedactSensitiveFields:
    """Processor replacing the value of every sensitive key, at any depth, with ``REDACTED``."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = frozenset(field.lower() for field in fields)

    def extend(self, fields: Iterable[str]) -> None:
        self.fields = self.fields | {field.lower() for field in fields}

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


# A token or webhook secret wherever it appears (also with its underscores percent-encoded).
_SECRET_VALUE = re.compile(
    r"rk(?:_|%5f)(?:admin|org|vol)(?:_|%5f)[^\s&;#?/\"'<>]*|whsec_[A-Za-z0-9+/=%]*",
    re.IGNORECASE,
)
# A query parameter whose name says it holds a secret: its value goes, its name stays.
_SECRET_PARAMETER = re.compile(
    r"([?&;][^=&;#\s]*(?:token|key|secret|passw|auth|sig|session|credential|cookie)"
    r"[^=&;#\s]*=)[^&;#\s\"']*",
    re.IGNORECASE,
)


def scrub_secrets(text: str) -> str:
    """``text`` without tokens, webhook secrets or the values of secret-named parameters."""
    if "=" in text:
        text = _SECRET_PARAMETER.sub(rf"\g<1>{REDACTED}", text)
    return _SECRET_VALUE.sub(REDACTED, text)


def _scrub_strings(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_secrets(value)
    if isinstance(value, Mapping):
        return {k: _scrub_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_strings(item) for item in value]
    return value


def _scrub_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Processor: :func:`scrub_secrets` on every string of the event, at any depth."""
    return {key: _scrub_strings(value) for key, value in event_dict.items()}


def current_request_id() -> str:
    """The request id bound for the request or message being handled, or ``""``."""
    value = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    return value if isinstance(value, str) else ""


# -- exceptions ----------------------------------------------------------------------------------


def _validation_summary(error: ValidationError) -> str:
    """What ``str(error)`` says, minus the input values (where and why only)."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or '(root)'}: {problem['msg']} "
        f"[type={problem['type']}]"
        for problem in error.errors(include_url=False, include_input=False, include_context=False)
    )
    return f"{error.error_count()} validation error(s) for {error.title}: {problems}"


def _safe_messages(error: BaseException | None) -> dict[str, str]:
    """``str(e)`` -> a message without input values, for each ValidationError chained to
    ``error`` (causes, contexts and members of exception groups)."""
    found: dict[str, str] = {}
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ValidationError):
            found[str(current)] = _validation_summary(current)
        pending += [current.__cause__, current.__context__]
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions
    return found


def _rewrite_values(stacks: list[dict[str, Any]], safe: Mapping[str, str]) -> None:
    for stack in stacks:
        stack["exc_value"] = safe.get(stack["exc_value"], stack["exc_value"])
        for member in stack.get("exceptions", ()):
            _rewrite_values(member, safe)


class _SafeExceptionDicts:
    """structlog's dict tracebacks with no locals and no pydantic input values."""

    def __init__(self) -> None:
        self._dicts = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)

    def __call__(self, exc_info: ExcInfo) -> list[dict[str, Any]]:
        stacks = self._dicts(exc_info)
        _rewrite_values(stacks, _safe_messages(exc_info[1]))
        return stacks


#: The JSON renderer's exception formatter (also what tests of other renderers compare with).
safe_exception_dicts = _SafeExceptionDicts()


def safe_plain_traceback(sio: TextIO, exc_info: ExcInfo) -> None:
    """The console renderer's exception formatter: a plain traceback, never local variables
    (structlog's default with rich installed prints them), no pydantic input values."""
    text = "".join(traceback.format_exception(*exc_info))
    for raw, safe in _safe_messages(exc_info[1]).items():
        text = text.replace(raw, safe)
    sio.write("\n" + text)


# -- configuration -------------------------------------------------------------------------------


def configure_logging(
    settings: Settings,
    *,
    stream: TextIO | None = None,
    sensitive_fields: Iterable[str] = (),
) -> None:
    """Route structlog and the standard library through one redacting handler on ``stream``.

    Calling it again replaces the previous configuration rather than adding a second handler,
    so it is safe to call from every entry point. ``stream`` defaults to ``sys.stderr`` as it is
    at each line (dramatiq points it at a pipe in its worker processes; a command run inside a
    test writes to the test's captured stream, closed after the test: a handler holding that
    stream would fail on every later line).
    """
    follow_stderr = stream is None
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
            _scrub_secrets,
            *_renderer(settings, stream),
        ],
    )
    handler = _CurrentStderr() if follow_stderr else logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Only now: loading the task types may log (a broken plugin), and that line should be ours.
    redact.extend(_declared_by_task_types())


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler on ``sys.stderr`` as it is when each record is written."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always the current sys.stderr


def _declared_by_task_types() -> frozenset[str]:
    # Imported here: task types pull in their dependencies, which a bare import of this module
    # (the settings check of `ruche`, a test) does not need.
    from task_types.registry import all_types

    return frozenset().union(*(task_type.sensitive_fields for task_type in all_types()))


def _renderer(settings: Settings, stream: TextIO) -> list[Processor]:
    is_tty = stream.isatty()
    if settings.log_format == "console" or (settings.log_format == "auto" and is_tty):
        return [
            structlog.dev.ConsoleRenderer(colors=is_tty, exception_formatter=safe_plain_traceback)
        ]
    return [
        structlog.processors.ExceptionRenderer(safe_exception_dicts),
        structlog.processors.JSONRenderer(),
    ]
