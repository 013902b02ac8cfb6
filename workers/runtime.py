"""What the pipeline's actors share in a worker process: the board, and their retry rule.

The board is built from the environment's settings on first use (a worker process is started
by ``dramatiq workers.app:setup``); tests and embedding programs :func:`install` their own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import dramatiq
from pydantic import ValidationError

from core.board.runner import Board
from core.errors import RucheError
from core.ids import InvalidId
from core.redis.clients import redis_client, replicated_scripts
from core.redis.keys import Keys
from core.settings import Settings, load_settings
from task_types import TaskTypeError

__all__ = [
    "board",
    "board_from_settings",
    "event_actor",
    "install",
    "is_permanent",
    "retry_transient",
]

_board: Board | None = None
_lock = threading.Lock()


def board_from_settings(settings: Settings) -> Board:
    client = redis_client(settings, "the workers", connect_timeout_s=5, timeout_s=10)
    return Board(
        client,
        keys=Keys(settings.key_prefix),
        reputation_half_life_days=settings.reputation_half_life_days,
        replicated=replicated_scripts(settings, client),
    )


def install(board: Board | None) -> None:
    """Use ``board`` in this process (tests, or an embedding program); None: from settings."""
    global _board
    with _lock:
        _board = board


def board() -> Board:
    """The process's board, built from the environment's settings on first use."""
    global _board
    with _lock:
        if _board is None:
            _board = board_from_settings(load_settings())
        return _board


def is_permanent(error: BaseException) -> bool:
    """Whether trying again cannot help: an id of the wrong shape, a payload or answer its type
    refuses, a type not installed, a refusal the error tree marks permanent (no such task),
    or a message missing a field."""
    if isinstance(error, RucheError):
        return error.permanent
    return isinstance(error, InvalidId | ValidationError | TaskTypeError | KeyError)


def retry_transient(max_retries: int) -> Callable[[int, BaseException], bool]:
    """A dramatiq ``retry_when``: retry up to ``max_retries`` times, never a permanent error."""

    def retry_when(retries: int, error: BaseException) -> bool:
        return retries < max_retries and not is_permanent(error)

    return retry_when


EventHandler = Callable[[str, str, dict[str, str]], None]


def event_actor(
    name: str,
    queue: str,
    *,
    retries: int = 10,
    backoff_ms: tuple[int, int] = (1_000, 5 * 60_000),
    time_limit_ms: int = 60_000,
) -> Callable[[EventHandler], dramatiq.Actor[Any, None]]:
    """The dramatiq actor of an event route (``handler(project_id, event_id, fields)``):
    retried up to ``retries`` times with back-off between ``backoff_ms`` (min, max) on
    transient errors, never on a permanent one (:func:`retry_transient`)."""
    low, high = backoff_ms
    return cast(
        Callable[[EventHandler], "dramatiq.Actor[Any, None]"],
        dramatiq.actor(
            actor_name=name,
            queue_name=queue,
            max_retries=retries,
            min_backoff=low,
            max_backoff=high,
            retry_when=retry_transient(retries),
            time_limit=time_limit_ms,
        ),
    )
