"""Insights: how a project is going, measured without reading its tasks (the NGO console's
figures and charts).

- ``rollup``: the project's event stream folded, incrementally and exactly once, into small
  counters (``fold_insights.lua``): per-day counts, totals, per-volunteer counts, review waits,
  daily per-state snapshots; ``fold_all`` is what the scheduler runs.
- ``reader``: ``read_insights`` / ``read_insights_async``: fold what is new, a few bounded
  reads, then a :class:`ProjectInsights`.
- ``pace``: the recent rate of results (exponentially weighted), the estimated finish and the
  deadline risk (pure functions).
- ``unclear``: "instructions unclear" reports (``record_unclear.lua``): record, list, forget.
- ``models``: the values all of these return.
"""

from core.insights.models import (
    OPEN_STATES,
    DayCount,
    DeadlineOutlook,
    DeadlineRisk,
    Pace,
    ProjectInsights,
    QualityShare,
    ReviewLag,
    StateSnapshot,
    UnclearReport,
    VolunteerQuality,
)
from core.insights.reader import read_insights, read_insights_async
from core.insights.rollup import fold_all, fold_project, forget_volunteer
from core.insights.unclear import forget_reports, list_reports, record_unclear

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
    "fold_all",
    "fold_project",
    "forget_reports",
    "forget_volunteer",
    "list_reports",
    "read_insights",
    "read_insights_async",
    "record_unclear",
]
