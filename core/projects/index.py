"""The claim index ``G:project_index``: active project id -> a small JSON summary, which
:func:`claimable_projects` reads in one ``HGETALL`` to choose where a volunteer's claim may go.

It lives in a slot of its own, so it is written after the project (``core.projects.store``), never
in the same script. Each entry holds the project revision (``doc_rev``) it was made from, and only a
newer revision may replace or remove it (:func:`write_entry`): concurrent edits of one project,
and the deadline close, leave the entry of the latest revision whatever order they finish in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import redis.asyncio
from redis.exceptions import WatchError

from core.board.script_calls import dumps, text
from core.errors import Unavailable
from core.projects.models import ProjectSummary
from core.redis.keys import Keys

__all__ = [
    "claimable_projects",
    "index_changed",
    "index_generation",
    "project_summary",
    "summary_json",
    "write_entry",
]

#: WATCH/MULTI rounds of one claim-index write (each lost round is another writer's success).
_WRITE_ATTEMPTS = 100


def project_summary(raw: str | bytes, project_id: str) -> ProjectSummary:
    record = json.loads(raw)
    return ProjectSummary(
        id=project_id,
        task_type=str(record["task_type"]),
        languages=list(record.get("languages", [])),
        skills=list(record.get("skills", [])),
        priority=int(record.get("priority", 0)),
        state=str(record.get("state", "active")),
        deadline_ms=record.get("deadline_ms"),
        org_id=str(record.get("org_id", "")),
        reputation_floor=record.get("reputation_floor"),
        invitation_only=bool(record.get("invitation_only")),
    )


def summary_json(
    document: Mapping[str, Any], state: str, revision: int, deadline_ms: int | None
) -> str:
    """The entry of a project whose document is ``document``, at ``revision``."""
    summary = {
        "rev": revision,
        "org_id": document["org_id"],
        "task_type": document["task_type"],
        "languages": document["languages"],
        "skills": document["skills"],
        "priority": document["priority"],
        "state": state,
        "deadline_ms": deadline_ms,
        "reputation_floor": document.get("reputation_floor"),
        "invitation_only": bool(document.get("invitation_only")),
    }
    return dumps(summary)


def _entry_revision(raw: str | bytes) -> int:
    """The project revision a claim-index entry was made from (-1: an entry older than them)."""
    return int(json.loads(raw).get("rev", -1))


# Bumped after each write of this process to the claim index or a project document, so in-process
# copies of them (``core.projects.catalogue``) know they are stale. After, not before: a copy read
# between the write and the bump is then discarded, never kept as fresh.
_index_generation = 0


def index_generation() -> int:
    return _index_generation


def index_changed() -> None:
    global _index_generation
    _index_generation += 1


async def claimable_projects(client: redis.asyncio.Redis, keys: Keys) -> list[ProjectSummary]:
    """Every active project, highest priority first (one ``HGETALL`` of the claim index).

    Projects whose deadline has passed are left out. Callers still match languages, skills and
    task types themselves, and must expect a project to be paused between this read and their
    claim (the claim script then answers ``paused``).
    """
    raw: Mapping[Any, Any] = await client.hgetall(keys.project_index)
    now = time.time_ns() // 1_000_000
    summaries = [project_summary(value, text(key)) for key, value in raw.items()]
    live = [
        s
        for s in summaries
        if s.state == "active" and (s.deadline_ms is None or s.deadline_ms > now)
    ]
    return sorted(live, key=lambda s: (-s.priority, s.id))


async def write_entry(
    client: redis.asyncio.Redis, keys: Keys, project_id: str, summary: str | None, revision: int
) -> bool:
    """Set the project's entry to ``summary`` (``None``: remove it), made from project revision
    ``revision``, unless the entry there is from a newer one (then False).

    One WATCH/MULTI on the index key alone (a single slot), retried when another write to the
    index slips in between."""
    index = keys.project_index
    async with client.pipeline(transaction=True) as pipe:
        for _ in range(_WRITE_ATTEMPTS):
            try:
                await pipe.watch(index)
                raw = await pipe.hget(index, project_id)
                if raw is not None and _entry_revision(raw) > revision:
                    return False
                if raw is None and summary is None:
                    return True
                pipe.multi()  # type: ignore[no-untyped-call]
                if summary is None:
                    pipe.hdel(index, project_id)
                else:
                    pipe.hset(index, project_id, summary)
                await pipe.execute()
                return True
            except WatchError:
                continue
    raise Unavailable("the claim index is too busy to update; retry shortly")
