"""When and how long the client waits before trying a request again.

Retried: ``429`` and ``503`` (the server says "later"), ``409 idempotency_in_progress`` (the
first try of the same Idempotency-Key is still running), and transport failures. A failure to
*connect* is always retried: nothing reached the server. A failure after the request was sent
(reset, read timeout) is retried only when repeating the request is harmless: GET, PUT, DELETE,
or a POST carrying an ``Idempotency-Key``; otherwise the server may have acted on it, and
the caller is told instead of a second project being made.

The wait is exponential with full jitter (AWS architecture blog, "Exponential Backoff And
Jitter"): a random delay in ``[0, min(max_delay, base_delay * 2**attempt)]``, so clients that
failed together do not come back together. A ``Retry-After`` header (seconds or an HTTP date)
replaces the computed delay, capped at ``max_retry_after`` so a confused server cannot park a
client for an hour.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RETRY_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRY_STATUSES = frozenset({429, 503})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
IN_PROGRESS_CODE = "idempotency_in_progress"


def parse_retry_after(value: str | None, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now() if now is not None else datetime.now(tz=UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` counts every try, the first included (1: never retry)."""

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)  # in [0, 1)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (0 for the first)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2.0**attempt))
        return ceiling * self.jitter()

    @staticmethod
    def retry_status(status: int, code: str | None) -> bool:
        return status in RETRY_STATUSES or (status == 409 and code == IN_PROGRESS_CODE)

    @staticmethod
    def replay_safe(method: str, idempotency_key: str | None) -> bool:
        """May a request the server might have received be sent again?"""
        return method.upper() in SAFE_METHODS or idempotency_key is not None
