"""Pace: the recent rate of results, the estimated finish and the deadline risk (pure functions
of counts and times, no Redis: tested on a manual clock's numbers).

The rate is exponentially weighted over UTC days: each day's results count with weight
``0.5 ** (age / half_life_days)`` (its age measured from now to the middle of the part of the
day observed), divided by the equally weighted time observed. So today counts for the hours
that passed (no dip at midnight), a project started at noon is not charged for its morning,
and a pace that changes shows within a few days. Too little data gives no rate (None) rather
than a wild one.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.insights.models import DeadlineOutlook, DeadlineRisk, Pace

__all__ = [
    "DAY_MS",
    "HALF_LIFE_DAYS",
    "MIN_RESULTS",
    "MIN_SPAN_MS",
    "RISK_MARGIN",
    "WINDOW_DAYS",
    "day_of",
    "deadline_outlook",
    "pace",
    "weighted_rate",
]

DAY_MS = 86_400_000
WINDOW_DAYS = 14  # days of results the rate looks at
HALF_LIFE_DAYS = 3.0  # a day's results weigh half as much this many days later
MIN_RESULTS = 5  # fewer results in the window: no rate
MIN_SPAN_MS = 3_600_000  # less time observed: no rate
#: ON_TRACK needs the projected finish to leave at least this share of the time to the deadline.
RISK_MARGIN = 0.2


def day_of(ms: int) -> int:
    """The UTC day (days since the epoch) a board time falls on."""
    return ms // DAY_MS


def weighted_rate(
    results_per_day: Mapping[int, int],
    now_ms: int,
    *,
    start_ms: int | None = None,
    window_days: int = WINDOW_DAYS,
    half_life_days: float = HALF_LIFE_DAYS,
    min_results: int = MIN_RESULTS,
    min_span_ms: int = MIN_SPAN_MS,
) -> tuple[float | None, int]:
    """(results per day, or None without enough data; results counted in the window).

    ``results_per_day`` maps a UTC day to its results; ``start_ms`` is when observation began
    (the project's creation); without it, the first day of the window with a result."""
    today = day_of(now_ms)
    if start_ms is None:
        active = [d for d, n in results_per_day.items() if n > 0 and d > today - window_days]
        start_ms = min(active) * DAY_MS if active else now_ms
    weighted = exposure = 0.0
    counted = observed_ms = 0
    for age in range(window_days):
        day = today - age
        low = max(day * DAY_MS, start_ms)
        high = min((day + 1) * DAY_MS, now_ms)
        if high <= low:
            continue
        results = results_per_day.get(day, 0)
        weight = 0.5 ** ((now_ms - (low + high) / 2) / DAY_MS / half_life_days)
        weighted += weight * results
        exposure += weight * (high - low) / DAY_MS
        counted += results
        observed_ms += high - low
    if counted < min_results or observed_ms < min_span_ms or exposure <= 0:
        return None, counted
    return weighted / exposure, counted


def pace(
    remaining: int,
    results_per_day: Mapping[int, int],
    now_ms: int,
    *,
    start_ms: int | None = None,
    window_days: int = WINDOW_DAYS,
    half_life_days: float = HALF_LIFE_DAYS,
) -> Pace:
    """The rate and the estimated finish of ``remaining`` open tasks."""
    rate, counted = weighted_rate(
        results_per_day,
        now_ms,
        start_ms=start_ms,
        window_days=window_days,
        half_life_days=half_life_days,
    )
    finish = None
    if remaining > 0 and rate:
        finish = now_ms + round(remaining / rate * DAY_MS)
    return Pace(remaining, rate, counted, window_days, half_life_days, finish)


def deadline_outlook(
    now_pace: Pace, deadline_ms: int | None, now_ms: int, *, margin: float = RISK_MARGIN
) -> DeadlineOutlook:
    """At the current pace, are the open tasks done before ``deadline_ms``? (see
    :class:`~core.insights.models.DeadlineRisk`)."""
    remaining, rate = now_pace.remaining, now_pace.rate_per_day

    def outlook(
        risk: DeadlineRisk,
        required: float | None = None,
        projected: int | None = None,
        shortfall: int | None = None,
    ) -> DeadlineOutlook:
        return DeadlineOutlook(
            risk,
            deadline_ms,
            remaining,
            rate,
            required,
            projected,
            shortfall,
            now_pace.finish_ms,
        )

    if deadline_ms is None:
        return outlook(DeadlineRisk.NO_DEADLINE)
    if remaining == 0:
        return outlook(DeadlineRisk.DONE)
    if now_ms >= deadline_ms:
        return outlook(DeadlineRisk.MISSED, shortfall=remaining)
    days_left = (deadline_ms - now_ms) / DAY_MS
    required = remaining / days_left
    if not rate:
        return outlook(DeadlineRisk.NO_PACE, required)
    projected = min(remaining, int(rate * days_left + 1e-9))
    shortfall = remaining - projected
    if rate < required:
        return outlook(DeadlineRisk.BEHIND, required, projected, shortfall)
    if rate * (1 - margin) < required:
        return outlook(DeadlineRisk.AT_RISK, required, projected, shortfall)
    return outlook(DeadlineRisk.ON_TRACK, required, projected, shortfall)
