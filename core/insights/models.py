"""What a project's insights are made of: plain frozen values, ready for a page or a chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

__all__ = [
    "OPEN_STATES",
    "DayCount",
    "DeadlineOutlook",
    "DeadlineRisk",
    "Pace",
    "ProjectInsights",
    "QualityShare",
    "ReviewLag",
    "StateSnapshot",
    "UnclearReport",
    "VolunteerQuality",
]

#: Task states whose tasks are still to be done (what an estimated finish waits for).
OPEN_STATES = ("open", "collecting", "aggregating", "in_review", "stalled")


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date  # a UTC day
    value: int


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """The tasks per state at the last measurement of a UTC day (``measured`` False: no
    measurement that day, the previous day's counts carried forward)."""

    day: date
    counts: dict[str, int]
    measured: bool = True


@dataclass(frozen=True, slots=True)
class Pace:
    """The recent rate of results and what it promises.

    ``rate_per_day`` is an exponentially weighted rate of results per day over the last
    ``window_days`` (each day weighs half as much ``half_life_days`` later; today counts for
    the part of it that has passed), or None when there is not enough data: fewer than
    ``min_results`` results in the window, or less than ``min_span_ms`` observed.
    ``finish_ms`` is when the open tasks would be done at that rate (None without a rate or
    when nothing is open: then ``remaining`` is 0)."""

    remaining: int
    rate_per_day: float | None
    results_in_window: int
    window_days: int
    half_life_days: float
    finish_ms: int | None


class DeadlineRisk(StrEnum):
    NO_DEADLINE = "no_deadline"  # the project has none
    DONE = "done"  # nothing left to do
    ON_TRACK = "on_track"  # at the current pace, done before the deadline with margin
    AT_RISK = "at_risk"  # done before it, but with less than ``margin`` of the time to spare
    BEHIND = "behind"  # at the current pace, not done by the deadline
    NO_PACE = "no_pace"  # tasks are left and no rate is known yet (no results recently)
    MISSED = "missed"  # the deadline passed with tasks left


@dataclass(frozen=True, slots=True)
class DeadlineOutlook:
    """Will the open tasks be done before the deadline at the current pace?

    ``required_rate_per_day`` is the pace the remaining tasks need until the deadline;
    ``projected_by_deadline`` how many of them the current pace does by then (None without a
    rate or a deadline ahead); ``shortfall`` the tasks it would leave undone."""

    risk: DeadlineRisk
    deadline_ms: int | None
    remaining: int
    rate_per_day: float | None
    required_rate_per_day: float | None
    projected_by_deadline: int | None
    shortfall: int | None
    finish_ms: int | None


@dataclass(frozen=True, slots=True)
class ReviewLag:
    """The review backlog: items opened and not decided yet (queued or held by a reviewer).

    Waits are in ms: ``oldest_wait_ms`` of the item waiting longest (opened at
    ``oldest_opened_ms``), ``median_wait_ms`` of the items waiting now, and
    ``decided_median_wait_ms`` of the last ``decided_sample`` decisions (from opening to
    decision); None where there is nothing to measure."""

    waiting: int
    oldest_task_id: str | None
    oldest_opened_ms: int | None
    oldest_wait_ms: int | None
    median_wait_ms: int | None
    decided_median_wait_ms: int | None
    decided_sample: int


@dataclass(frozen=True, slots=True)
class QualityShare:
    """How results were decided. ``auto_share``: results accepted on agreement, out of all
    results (the rest went through a reviewer: ``reviewed`` accepted or corrected,
    ``rejected``); ``mean_confidence``: of the auto-accepted ones (a reviewed one is 1.0 by
    definition); ``agreement_rate``: the share of aggregations whose answers agreed (resolved,
    or agreed and sampled for a spot check) rather than not (one more answer asked, or sent to
    review for disagreement). Ratios are None when their denominator is 0."""

    results: int
    auto_accepted: int
    reviewed: int
    rejected: int
    auto_share: float | None
    mean_confidence: float | None
    agreed: int
    disagreed: int
    agreement_rate: float | None
    review_actions: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VolunteerQuality:
    """One volunteer's work in the project. ``answers`` includes gold answers;
    ``gold_accuracy`` = gold_correct / gold_answered; ``reopen_rate`` = answers on tasks a
    reviewer reopened / answers on ordinary (non-gold) tasks; ``rejected`` counts the answers
    on tasks a reviewer rejected. Ratios are None when their denominator is 0."""

    volunteer_id: str
    answers: int
    gold_answered: int
    gold_correct: int
    gold_accuracy: float | None
    reopened: int
    rejected: int
    reopen_rate: float | None


@dataclass(frozen=True, slots=True)
class UnclearReport:
    """A volunteer's "instructions unclear" report on a task (``note`` may be empty)."""

    report_id: str
    volunteer_id: str
    task_id: str
    note: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class ProjectInsights:
    """Everything the console shows about a project's progress, measured at ``now_ms``.

    ``complete`` is False when events were left unfolded (a very large backlog: the next read
    goes on where this one stopped); every figure is then as of the last event folded."""

    project_id: str
    now_ms: int
    counts: dict[str, int]
    states_over_time: list[StateSnapshot]
    answers_per_day: list[DayCount]
    results_per_day: list[DayCount]
    created_per_day: list[DayCount]
    pace: Pace
    deadline: DeadlineOutlook
    review: ReviewLag
    quality: QualityShare
    volunteers: list[VolunteerQuality]
    volunteers_total: int
    unclear_reports: int
    complete: bool = True

    @property
    def remaining(self) -> int:
        return self.pace.remaining
