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
    "WorkLine",
    "month_of",
    "read_feedback",
    "read_stats",
    "read_work",
    "week_field",
    "week_of",
    "worked_on",
]

#: Feedback items ``GET /v1/me`` shows, newest first.
FEEDBACK_SHOWN = 20


@dataclass(frozen=True, slots=True)
class VolunteerStats:
    tasks: int = 0  # answers submitted
    minutes: int = 0
    decided: int = 0  # answers whose task got a result
    accepted: int = 0  # of those, answers that agreed with the result
    week_minutes: int = 0  # this ISO week (UTC), for the weekly goal: answers and reviews
    contribution: dict[str, int] = field(default_factory=dict)  # task type -> amount
    reviews: int = 0  # review decisions made
    review_minutes: int = 0

    @property
    def accepted_rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None


@dataclass(frozen=True, slots=True)
class WorkLine:
    """A volunteer's work for one organisation in one task type (``org:<org>:<type>:*``)."""

    org_id: str
    task_type: str
    tasks: int = 0
    minutes: int = 0
    amount: int = 0  # the type's contribution (words translated…)
    reviews: int = 0
    review_minutes: int = 0


def week_of(ms: int) -> str:
    """The ISO week of a moment, as ``2024-W05`` (UTC)."""
    year, week, _ = datetime.fromtimestamp(ms / 1000, tz=UTC).isocalendar()
    return f"{year}-W{week:02d}"


def month_of(ms: int) -> str:
    """The calendar month of a moment, as ``2024-02`` (UTC)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m")


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
    wanted += ["reviews", "review_minutes"]
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
        reviews=fields["reviews"],
        review_minutes=fields["review_minutes"],
    )


_WORK_METRICS = ("tasks", "minutes", "amount", "reviews", "review_minutes")


async def read_work(client: redis.asyncio.Redis, keys: Keys, volunteer_id: str) -> list[WorkLine]:
    """The volunteer's work per organisation and task type, by organisation id then type
    (minutes rounded down to whole minutes)."""
    found: dict[tuple[str, str], dict[str, float]] = {}
    async for name, value in client.hscan_iter(
        keys.volunteer_stats(volunteer_id), match="org:*", count=500
    ):
        parts = text(name).split(":")
        if len(parts) != 4 or parts[3] not in _WORK_METRICS:
            continue
        try:
            amount = float(text(value))
        except ValueError:
            continue
        found.setdefault((parts[1], parts[2]), {})[parts[3]] = amount
    return [
        WorkLine(
            org_id,
            kind,
            **{metric: int(metrics.get(metric, 0)) for metric in _WORK_METRICS},
        )
        for (org_id, kind), metrics in sorted(found.items())
    ]


async def worked_on(
    client: redis.asyncio.Redis, keys: Keys, volunteer_id: str, limit: int = 20
) -> list[str]:
    """The projects the volunteer last answered or reviewed in, newest first."""
    raw: list[Any] = await client.zrevrange(keys.volunteer_projects(volunteer_id), 0, limit - 1)
    return [text(value) for value in raw]


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
