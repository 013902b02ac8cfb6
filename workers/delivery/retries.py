"""When a failed webhook attempt is tried again: the retry schedule and ``Retry-After``.

Retry schedule: 16 retries after the first attempt, nominally 5 s, 30 s, 2 min, 10 min, 30 min,
1 h, 2 h, 4 h, then every 8 h — 71.7 h in all, about three days. Each delay is drawn uniformly
between half and one and a half times its nominal value: enough jitter that endpoints coming
back from an outage are not hit by every retry at once, while the whole window stays about three
days (full jitter, uniform from zero, would halve it on average and make it unpredictable).

A ``Retry-After`` (seconds or an HTTP date) postpones the next attempt, up to a day.
"""

from __future__ import annotations

import email.utils
import random
from datetime import UTC

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER_S",
    "RETRY_DELAYS_S",
    "parse_retry_after",
    "retry_delay_s",
]

_HOUR = 3600
#: Nominal delay before each retry (seconds); the first attempt is immediate.
RETRY_DELAYS_S: tuple[int, ...] = (5, 30, 120, 600, 1800, _HOUR, 2 * _HOUR, 4 * _HOUR) + (
    8 * _HOUR,
) * 8
MAX_ATTEMPTS = 1 + len(RETRY_DELAYS_S)
JITTER = (0.5, 1.5)
MAX_RETRY_AFTER_S = 24 * _HOUR


def retry_delay_s(
    attempts: int, rng: random.Random, retry_after_s: float | None = None
) -> float | None:
    """Seconds to wait after ``attempts`` failed attempts, or None when it is time to give up."""
    if not 1 <= attempts <= len(RETRY_DELAYS_S):
        return None
    delay = rng.uniform(*JITTER) * RETRY_DELAYS_S[attempts - 1]
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    return delay


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    """A ``Retry-After`` header (delay-seconds or HTTP-date) as seconds from now, or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value[:12]), MAX_RETRY_AFTER_S))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(0.0, moment.timestamp() - now_s), float(MAX_RETRY_AFTER_S))
