"""Where board time comes from.

Scripts read Redis ``TIME`` by default, so every API process and worker agrees on one clock. Tests
inject a :class:`ManualClock` whose value the scripts use instead, which makes lease expiry
testable without sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "ManualClock", "RedisClock", "utc_from_ms"]


class Clock(Protocol):
    def script_now(self) -> str:
        """The ``now`` argument for a script: milliseconds as a string, or "" for Redis TIME."""
        ...


class RedisClock:
    """Let each script read Redis ``TIME``."""

    def script_now(self) -> str:
        return ""


class ManualClock:
    """A clock that only moves when told to (milliseconds since the epoch)."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now_ms = start_ms
        self._lock = threading.Lock()

    @property
    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now_ms += round(seconds * 1000)

    def script_now(self) -> str:
        return str(self._now_ms)


def utc_from_ms(ms: int) -> datetime:
    """A board time (milliseconds since the epoch) as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
