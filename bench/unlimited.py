"""The limits a benchmark's Ruche runs with: every rate limit at a million a minute and a new
volunteer holding as many assignments as anybody, so that no request of the load a benchmark
makes (many sign-ups and claims from one address in seconds) is refused, while every request
still pays for its checks (a hit counted in Redis costs the same whatever the amount allowed).
bench/fairness.py runs with the real defaults instead."""

from __future__ import annotations

__all__ = ["UNLIMITED"]

_PLENTY = "1000000/minute"
UNLIMITED: dict[str, str] = {
    "RUCHE_RATE_LIMIT_SIGNUP": _PLENTY,
    "RUCHE_RATE_LIMIT_UNAUTHENTICATED": _PLENTY,
    "RUCHE_RATE_LIMIT_TOKEN": _PLENTY,
    "RUCHE_RATE_LIMIT_CLAIMS": _PLENTY,
    "RUCHE_RATE_LIMIT_RELEASES": _PLENTY,
    "RUCHE_RATE_LIMIT_BULK_TASKS": _PLENTY,
    "RUCHE_LIVE_ASSIGNMENTS_START": "100",
}
