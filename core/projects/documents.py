"""The project as stored: its document (JSON, field ``doc``) and the fields the board scripts
read (policy, ``deadline_ms``, ``state``, ``doc_rev``) in the board's project hash, and how one
``HGETALL`` of that hash becomes a :class:`~core.projects.models.Project`.

:mod:`core.projects.store` (the ``Projects`` service) writes through these and reads back with
them; the layout itself is in :mod:`core.redis.keys`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from core.board.models import BoardPolicy, GoldPolicy
from core.board.operations import Commands, text
from core.errors import ProjectNotFound
from core.projects.models import (
    DEFAULT_MAX_LEASE_SECONDS,
    TASK_STATES,
    GoldSchedule,
    Project,
    Qualification,
    ReviewPolicy,
)
from core.quality.policy import policy_warnings
from core.redis.keys import Keys

__all__ = [
    "board_policy",
    "deadline_field",
    "deadline_ms",
    "gold_policy",
    "now_ms",
    "project_from_hash",
    "read_fields",
    "read_projects",
    "revision_of",
]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def board_policy(document: Mapping[str, Any]) -> BoardPolicy:
    lease = int(document["lease_seconds"])
    return BoardPolicy(
        redundancy=int(document["redundancy"]),
        lease_seconds=lease,
        max_lease_seconds=max(DEFAULT_MAX_LEASE_SECONDS, lease),
        gold=gold_policy(document),
        max_tasks_per_volunteer=int(document.get("max_tasks_per_volunteer") or 0),
    )


# Zooniverse's schedule: 40 % gold for a newcomer, 10 % once settled (four times the end rate).
_INITIAL_GOLD_CAP = 0.4
_INITIAL_GOLD_FACTOR = 4


def gold_policy(document: Mapping[str, Any]) -> GoldPolicy:
    end_rate = float(document.get("gold_rate") or 0.0)
    schedule = GoldSchedule.model_validate(document.get("gold") or {})
    start_rate = schedule.initial_rate
    if start_rate is None:
        start_rate = max(end_rate, min(_INITIAL_GOLD_CAP, _INITIAL_GOLD_FACTOR * end_rate))
    qualification = document.get("qualification")
    round_ = Qualification.model_validate(qualification) if qualification else None
    return GoldPolicy(
        start_rate=start_rate,
        end_rate=end_rate,
        warmup_tasks=schedule.warmup_tasks,
        settle_tasks=schedule.settle_tasks,
        qualification_tasks=round_.gold_tasks if round_ else 0,
        pass_rate=round_.pass_rate if round_ else 0.0,
        cooldown_seconds=round_.cooldown_seconds if round_ else 0,
    )


def deadline_ms(document: Mapping[str, Any]) -> int | None:
    deadline = document.get("deadline")
    return _ms(datetime.fromisoformat(deadline)) if deadline else None


def deadline_field(document: Mapping[str, Any]) -> dict[str, str | int]:
    """``deadline_ms`` of the project hash, which the board scripts read ("" for none)."""
    deadline = deadline_ms(document)
    return {"deadline_ms": "" if deadline is None else deadline}


def revision_of(fields: Mapping[str, str]) -> int:
    return int(fields.get("doc_rev") or 0)


def project_from_hash(project_id: str, raw: Mapping[Any, Any]) -> Project:
    fields = {text(k): text(v) for k, v in raw.items()}
    document = json.loads(fields["doc"])
    counts = dict.fromkeys(TASK_STATES, 0)
    for name, value in fields.items():
        if name.startswith("count:"):
            counts[name.removeprefix("count:")] = int(value)
    state = fields.get("state", "active")
    return Project(
        id=project_id,
        name=document["name"],
        task_type=document["task_type"],
        redundancy=document["redundancy"],
        lease_seconds=document["lease_seconds"],
        priority=document["priority"],
        deadline=document.get("deadline"),
        languages=document["languages"],
        skills=document["skills"],
        instructions=document["instructions"],
        impact_note=document.get("impact_note"),
        review=ReviewPolicy.model_validate(document["review"]),
        gold_rate=document["gold_rate"],
        gold=GoldSchedule.model_validate(document.get("gold") or {}),
        qualification=document.get("qualification"),
        max_redundancy=document.get("max_redundancy"),
        base_rates=document.get("base_rates"),
        reputation_floor=document.get("reputation_floor"),
        max_tasks_per_volunteer=document.get("max_tasks_per_volunteer"),
        retention_days=document.get("retention_days"),
        invitation_only=bool(document.get("invitation_only")),
        translation_memory=document.get("translation_memory") is not False,
        purged_at=_datetime(int(fields["purged_at"])) if fields.get("purged_at") else None,
        state=state if state in ("paused", "closed") else "active",
        counts=counts,
        gold_tasks=int(fields.get("gold_tasks", 0)),
        warnings=policy_warnings(document),
        quality=json.loads(fields["quality"]) if fields.get("quality") else None,
        created_at=_datetime(document["created_at_ms"]),
        updated_at=_datetime(document.get("updated_at_ms", document["created_at_ms"])),
    )


def read_projects(keys: Keys, project_ids: Sequence[str]) -> Commands[list[Project | None]]:
    def parse(replies: list[Any]) -> list[Project | None]:
        return [
            project_from_hash(pid, raw) if raw and "doc" in {text(k) for k in raw} else None
            for pid, raw in zip(project_ids, replies, strict=True)
        ]

    commands = [("HGETALL", keys.project(pid).project) for pid in project_ids]
    return Commands(commands, parse)


def read_fields(keys: Keys, project_id: str) -> Commands[dict[str, str]]:
    """The project hash in one read, so its document, state and revision agree."""

    def parse(replies: list[Any]) -> dict[str, str]:
        fields = {text(k): text(v) for k, v in (replies[0] or {}).items()}
        if "doc" not in fields:
            raise ProjectNotFound("no such project")
        return fields

    return Commands([("HGETALL", keys.project(project_id).project)], parse)
