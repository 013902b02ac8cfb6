"""What a volunteer's work added up to, as shown on their profile.

The stats actor keeps ``G:vol:<volunteer-id>:stats`` up to date from the project event streams
(field names in :mod:`core.redis.keys`; the writes are in :mod:`core.volunteers.stats_updates`);
this module only reads it, so a volunteer with no history, or an instance whose actor has not run
yet, simply sees zeros. It also reads the feedback list the reviews actor fills
(:mod:`core.review.settlement`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis.asyncio

from core.board.operations import text
from core.redis.keys import Keys
from task_types import names

__all__ = [
    "FEEDBACK_SHOWN",
    "VolunteerStats",
    "read_feedback",
    "read_stats",
    "week_field",
    "week_of",
]

#: Feedback items ``GET /v1/me`` shows, newest first.
FEEDBACK_SHOWN = 20


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
    # HMGET of the counters by name: the hash also holds the stats actor's markers (one per
    # update counted), which a profile read has no use for.
    kinds = names()
    wanted = ["tasks", "minutes", "decided", "accepted", week_field(now_ms)]
    wanted += [f"contribution:{kind}" for kind in kinds]
    raw: list[Any] = await client.hmget(keys.volunteer_stats(volunteer_id), wanted)
    values = [0 if value is None else int(float(text(value))) for value in raw]
    fields = dict(zip(wanted, values, strict=True))
    return VolunteerStats(
        tasks=fields["tasks"],
        minutes=fields["minutes"],
        decided=fields["decided"],
        accepted=fields["accepted"],
        week_minutes=fields[week_field(now_ms)],
        contribution={
            kind: fields[f"contribution:{kind}"] for kind in kinds if fields[f"contribution:{kind}"]
        },
    )


async def read_feedback(
    client: redis.asyncio.Redis, keys: Keys, volunteer_id: str, limit: int = FEEDBACK_SHOWN
) -> list[dict[str, Any]]:
    """The latest feedback on the volunteer's answers (written by the reviews actor), newest
    first: ``{id, kind, project_id, task_id, outcome, comment, at}`` each."""
    raw: list[Any] = await client.lrange(keys.volunteer_feedback(volunteer_id), 0, limit - 1)
    items: list[dict[str, Any]] = []
    for value in raw:
        item = json.loads(text(value))
        if isinstance(item, dict):
            items.append(item)
    return items
