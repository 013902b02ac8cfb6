"""What a volunteer's work added up to, as shown on their profile.

The stats actor keeps ``G:vol:<volunteer-id>:stats`` up to date from the project event streams
(field names in :mod:`core.keys`); this module only reads it, so a volunteer with no history, or
an instance whose actor has not run yet, simply sees zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis.asyncio

from core.board_ops import text
from core.keys import Keys

__all__ = ["VolunteerStats", "read_stats", "week_field", "week_of"]


@dataclass(frozen=True, slots=True)
class VolunteerStats:
    tasks: int = 0  # answers submitted
    minutes: int = 0
    decided: int = 0  # answers whose task got a result
    accepted: int = 0  # of those, answers that agreed with the result
    week_minutes: int = 0  # this ISO week (UTC), for the weekly goal
    contribution: dict[str, int] = field(default_factory=dict)  # task type -> amount

    @property
    def accepted_rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None


def week_of(ms: int) -> str:
    """The ISO week of a moment, as ``2024-W05`` (UTC)."""
    year, week, _ = datetime.fromtimestamp(ms / 1000, tz=UTC).isocalendar()
    return f"{year}-W{week:02d}"


def week_field(ms: int) -> str:
    """The stats field holding the minutes of the week ``ms`` falls in."""
    return f"week:{week_of(ms)}:minutes"


async def read_stats(
    client: redis.asyncio.Redis, keys: Keys, volunteer_id: str, now_ms: int
) -> VolunteerStats:
    raw: dict[Any, Any] = await client.hgetall(keys.volunteer_stats(volunteer_id))
    fields = {text(k): int(float(text(v))) for k, v in raw.items()}
    return VolunteerStats(
        tasks=fields.get("tasks", 0),
        minutes=fields.get("minutes", 0),
        decided=fields.get("decided", 0),
        accepted=fields.get("accepted", 0),
        week_minutes=fields.get(week_field(now_ms), 0),
        contribution={
            name.removeprefix("contribution:"): value
            for name, value in fields.items()
            if name.startswith("contribution:")
        },
    )
