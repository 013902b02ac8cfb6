"""How the console writes figures: dates, durations, rates and shares in the visitor's
language (Babel), and what a project's progress is."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent

from core.insights.models import OPEN_STATES, DeadlineRisk
from web.i18n import N_

__all__ = ["DONE_STATES", "RISK_NAMES", "STATE_NAMES", "Formats", "progress_of"]

#: Deadline risk as the console says it.
RISK_NAMES: dict[DeadlineRisk, str] = {
    DeadlineRisk.NO_DEADLINE: N_("No deadline"),
    DeadlineRisk.DONE: N_("Done"),
    DeadlineRisk.ON_TRACK: N_("On track for the deadline"),
    DeadlineRisk.AT_RISK: N_("At risk: little time to spare before the deadline"),
    DeadlineRisk.BEHIND: N_("Behind: at this pace, not done by the deadline"),
    DeadlineRisk.NO_PACE: N_("No recent results to estimate from"),
    DeadlineRisk.MISSED: N_("The deadline passed with tasks left"),
}
STATE_NAMES: dict[str, str] = {
    "active": N_("Active"),
    "paused": N_("Paused"),
    "closed": N_("Closed"),
}


#: Task states that count as done in a project's progress.
DONE_STATES = ("resolved", "rejected", "expired")


def progress_of(counts: Mapping[str, int]) -> tuple[int, int]:
    """(done, total) of a project's task counts (gold tasks are never in ``counts``)."""
    done = sum(counts.get(state, 0) for state in DONE_STATES)
    total = done + sum(counts.get(state, 0) for state in OPEN_STATES)
    return done, total


class Formats:
    """The formatting callables a console template gets, in one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def when(self, ms: int | None) -> str:
        if ms is None:
            return ""
        moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
        return str(format_datetime(moment, "medium", tzinfo=UTC, locale=self.locale)) + " UTC"

    def wait(self, ms: int | None) -> str:
        if ms is None:
            return ""
        return str(format_timedelta(timedelta(milliseconds=ms), threshold=1.5, locale=self.locale))

    def number(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return ""
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return str(format_decimal(value, format=pattern, locale=self.locale))

    def share(self, value: float | None) -> str:
        return "" if value is None else str(format_percent(value, locale=self.locale))

    def helpers(self) -> dict[str, Any]:
        return {"when": self.when, "wait": self.wait, "number": self.number, "share": self.share}
