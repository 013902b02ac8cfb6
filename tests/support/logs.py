"""Helpers for tests that read what Ruche's logging really writes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from core.logging import HANDLER_NAME, configure_logging
from core.settings import Settings


@contextmanager
def restored_logging() -> Iterator[None]:
    """Undo configure_logging afterwards, so tests do not leak handlers into each other."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.contextvars.clear_contextvars()
        structlog.reset_defaults()


_PRISTINE_ROOT_LEVEL = logging.getLogger().level


@contextmanager
def without_ruche_logging() -> Iterator[None]:
    """No Ruche handler on the root logger, before and after the block, and structlog as it
    comes: whoever configured logging earlier (an in-process ``ruche`` command, a worker app, a
    fixture of any scope), its JSON lines do not reach the block's stderr, nor the next's."""
    _drop_ruche_logging()
    try:
        yield
    finally:
        _drop_ruche_logging()


def _drop_ruche_logging() -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
    root.setLevel(_PRISTINE_ROOT_LEVEL)
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def log_to_stream(sensitive_fields: Iterable[str] = (), **settings: Any) -> io.StringIO:
    """Configure logging (JSON unless told otherwise) into a fresh in-memory stream."""
    stream = io.StringIO()
    configure_logging(
        Settings(**{"log_format": "json", **settings}),
        stream=stream,
        sensitive_fields=sensitive_fields,
    )
    return stream


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]
