"""An organisation's contributor report: per volunteer and task type, the answers, hours and
work (words translated, fields entered, items moderated…), and the reviews, for all time or one
calendar month (UTC), read from the volunteers' stats hashes (:mod:`core.volunteers.stats_updates`
writes ``org:<org>:<type>:<metric>`` and, by month, ``orgm:<org>:<YYYY-MM>:<type>:<metric>``).

Which volunteers: those the organisation's projects rank by answers (``P:insights:vol_rank``,
the most active :data:`RANKED_PER_PROJECT` of each project) and the projects' reviewers, at most
:data:`REPORT_VOLUNTEERS` in all. Reading is bounded by that: one pipeline for the volunteers,
one for their figures (an HMGET of the organisation's task types' fields per volunteer), one for
their latest certificates; never a scan of every volunteer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio

from core.board.script_calls import text
from core.redis.keys import Keys

__all__ = [
    "METRICS",
    "RANKED_PER_PROJECT",
    "REPORT_VOLUNTEERS",
    "CertificateSeen",
    "ContributorLine",
    "contributor_lines",
    "latest_certificates",
    "report_volunteers",
]

RANKED_PER_PROJECT = 500
REPORT_VOLUNTEERS = 2_000
METRICS = ("tasks", "minutes", "amount", "reviews", "review_minutes")


@dataclass(frozen=True, slots=True)
class ContributorLine:
    volunteer_id: str
    task_type: str
    tasks: int
    minutes: int
    amount: int
    reviews: int
    review_minutes: int


@dataclass(frozen=True, slots=True)
class CertificateSeen:
    certificate_id: str
    volunteer_id: str
    issued_at_ms: int


async def report_volunteers(
    client: redis.asyncio.Redis, keys: Keys, project_ids: Sequence[str]
) -> list[str]:
    """The volunteers the report lists (most active first, project by project)."""
    if not project_ids:
        return []
    async with client.pipeline(transaction=False) as pipe:
        for project_id in project_ids:
            pk = keys.project(project_id)
            pipe.zrevrange(pk.insights_volunteer_rank, 0, RANKED_PER_PROJECT - 1)
            pipe.smembers(pk.reviewers)
        replies: list[Any] = await pipe.execute()
    found: dict[str, None] = {}
    for reply in replies:
        members = sorted(text(m) for m in reply) if isinstance(reply, set) else reply
        for member in members:
            found.setdefault(text(member), None)
    return list(found)[:REPORT_VOLUNTEERS]


def _field(org_id: str, month: str | None, task_type: str, metric: str) -> str:
    if month is None:
        return f"org:{org_id}:{task_type}:{metric}"
    return f"orgm:{org_id}:{month}:{task_type}:{metric}"


async def contributor_lines(
    client: redis.asyncio.Redis,
    keys: Keys,
    org_id: str,
    volunteer_ids: Sequence[str],
    task_types: Sequence[str],
    month: str | None = None,
) -> list[ContributorLine]:
    """One line per volunteer and task type with work in the period (``month`` ``YYYY-MM``;
    None: all time), minutes rounded down, in the order of ``volunteer_ids``."""
    kinds = sorted(set(task_types))
    if not volunteer_ids or not kinds:
        return []
    wanted = [_field(org_id, month, kind, metric) for kind in kinds for metric in METRICS]
    async with client.pipeline(transaction=False) as pipe:
        for volunteer_id in volunteer_ids:
            pipe.hmget(keys.volunteer_stats(volunteer_id), wanted)
        replies: list[Any] = await pipe.execute()
    lines = []
    for volunteer_id, values in zip(volunteer_ids, replies, strict=True):
        figures = [0 if value is None else int(float(text(value))) for value in values]
        for index, kind in enumerate(kinds):
            tasks, minutes, amount, reviews, review_minutes = figures[
                index * len(METRICS) : (index + 1) * len(METRICS)
            ]
            if tasks or reviews:
                lines.append(
                    ContributorLine(
                        volunteer_id, kind, tasks, minutes, amount, reviews, review_minutes
                    )
                )
    return lines


async def latest_certificates(
    client: redis.asyncio.Redis, keys: Keys, org_id: str, volunteer_ids: Sequence[str]
) -> list[CertificateSeen]:
    """Each volunteer's latest certificate when it states work for this organisation (newest
    first). What a certificate says is checked on its public page (its signature)."""
    if not volunteer_ids:
        return []
    async with client.pipeline(transaction=False) as pipe:
        for volunteer_id in volunteer_ids:
            pipe.zrange(keys.volunteer_certificates(volunteer_id), -1, -1)
        newest: list[Any] = await pipe.execute()
    latest = [
        (volunteer_id, text(found[0]))
        for volunteer_id, found in zip(volunteer_ids, newest, strict=True)
        if found
    ]
    if not latest:
        return []
    async with client.pipeline(transaction=False) as pipe:
        for _, certificate_id in latest:
            pipe.hget(keys.certificate(certificate_id), "record")
        records: list[Any] = await pipe.execute()
    seen = []
    for (volunteer_id, certificate_id), raw in zip(latest, records, strict=True):
        if raw is None:
            continue
        record = json.loads(text(raw))
        lines = (record.get("figures") or {}).get("lines") or []
        if record.get("volunteer_id") == volunteer_id and any(
            isinstance(line, dict) and line.get("org_id") == org_id for line in lines
        ):
            seen.append(CertificateSeen(certificate_id, volunteer_id, int(record["issued_at"])))
    return sorted(seen, key=lambda c: -c.issued_at_ms)
