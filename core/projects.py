"""Projects: an organisation's batches of tasks of one type, and the policy they run under.

The project document (everything the NGO set: name, type, policy, instructions, impact note)
is JSON in the board's project hash (``P:project`` field ``doc``), next to the policy fields the
board scripts enforce, the paused/active ``state`` and the per-state task counters, so one
``HGETALL`` reads a whole project. Two indexes sit beside it:

- ``G:org:<org-id>:projects``: which projects an organisation owns. Every organisation-facing
  lookup goes through :meth:`Projects.require_owned` first, and another organisation's project
  is refused exactly like an id that never existed (no existence leak across tenants).
- ``G:project_index``: active project id -> small JSON summary; :func:`claimable_projects` reads
  it in one ``HGETALL`` to choose where a volunteer's claim may go. Paused projects leave it.

Writes touch several cluster slots, so they are ordered to fail safe: the board's keys first,
then the organisation's index, then the claim index (a crash in between leaves a project no
volunteer is sent to, never an indexed project without keys).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import redis.asyncio

from core import ids
from core.board import AsyncBoard
from core.board_models import BoardPolicy, GoldPolicy
from core.board_ops import Commands, dumps, text
from core.errors import (
    InvalidRequest,
    OrgVolunteerNotFound,
    ProjectClosed,
    ProjectNotFound,
    UnknownTaskTypeName,
)
from core.keys import Keys
from core.project_models import (
    DEFAULT_MAX_LEASE_SECONDS,
    REQUIRED_ON_PATCH,
    TASK_STATES,
    GoldSchedule,
    Project,
    ProjectCreate,
    ProjectPatch,
    ProjectSummary,
    Qualification,
    ReviewPolicy,
)
from task_types import UnknownTaskType
from task_types import get as get_task_type

__all__ = [
    "Project",
    "ProjectCreate",
    "ProjectPatch",
    "ProjectSummary",
    "Projects",
    "claimable_projects",
    "project_summary",
]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


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
    )


# Bumped after each write of this process to the claim index or a project document, so in-process
# copies of them (``core.project_catalogue``) know they are stale. After, not before: a copy read
# between the write and the bump is then discarded, never kept as fresh.
_index_generation = 0


def index_generation() -> int:
    return _index_generation


def _index_changed() -> None:
    global _index_generation
    _index_generation += 1


async def claimable_projects(client: redis.asyncio.Redis, keys: Keys) -> list[ProjectSummary]:
    """Every active project, highest priority first (one ``HGETALL`` of the claim index).

    Projects whose deadline has passed are left out. Callers still match languages, skills and
    task types themselves, and must expect a project to be paused between this read and their
    claim (the claim script then answers ``paused``).
    """
    raw: Mapping[Any, Any] = await client.hgetall(keys.project_index)
    now = _now_ms()
    summaries = [project_summary(value, text(key)) for key, value in raw.items()]
    live = [
        s
        for s in summaries
        if s.state == "active" and (s.deadline_ms is None or s.deadline_ms > now)
    ]
    return sorted(live, key=lambda s: (-s.priority, s.id))


def _policy(document: Mapping[str, Any]) -> BoardPolicy:
    lease = int(document["lease_seconds"])
    return BoardPolicy(
        redundancy=int(document["redundancy"]),
        lease_seconds=lease,
        max_lease_seconds=max(DEFAULT_MAX_LEASE_SECONDS, lease),
        gold=_gold_policy(document),
    )


# Zooniverse's schedule: 40 % gold for a newcomer, 10 % once settled (four times the end rate).
_INITIAL_GOLD_CAP = 0.4
_INITIAL_GOLD_FACTOR = 4


def _gold_policy(document: Mapping[str, Any]) -> GoldPolicy:
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


def _deadline_ms(document: Mapping[str, Any]) -> int | None:
    deadline = document.get("deadline")
    return _ms(datetime.fromisoformat(deadline)) if deadline else None


def _deadline_field(document: Mapping[str, Any]) -> dict[str, str | int]:
    """``deadline_ms`` of the project hash, which the board scripts read ("" for none)."""
    deadline = _deadline_ms(document)
    return {"deadline_ms": "" if deadline is None else deadline}


def _summary_json(document: Mapping[str, Any], state: str) -> str:
    summary = {
        "org_id": document["org_id"],
        "task_type": document["task_type"],
        "languages": document["languages"],
        "skills": document["skills"],
        "priority": document["priority"],
        "state": state,
        "deadline_ms": _deadline_ms(document),
        "reputation_floor": document.get("reputation_floor"),
    }
    return dumps(summary)


def _project(project_id: str, raw: Mapping[Any, Any]) -> Project:
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
        reputation_floor=document.get("reputation_floor"),
        state=state if state in ("paused", "closed") else "active",
        counts=counts,
        gold_tasks=int(fields.get("gold_tasks", 0)),
        created_at=_datetime(document["created_at_ms"]),
        updated_at=_datetime(document.get("updated_at_ms", document["created_at_ms"])),
    )


def _read_projects(keys: Keys, project_ids: Sequence[str]) -> Commands[list[Project | None]]:
    def parse(replies: list[Any]) -> list[Project | None]:
        return [
            _project(pid, raw) if raw and "doc" in {text(k) for k in raw} else None
            for pid, raw in zip(project_ids, replies, strict=True)
        ]

    commands = [("HGETALL", keys.project(pid).project) for pid in project_ids]
    return Commands(commands, parse)


def _check_task_type(name: str) -> None:
    try:
        get_task_type(name)
    except UnknownTaskType as unknown:
        raise UnknownTaskTypeName(
            f"unknown task type; known types: {', '.join(unknown.known)}",
            [
                {
                    "loc": ["body", "task_type"],
                    "msg": "unknown task type",
                    "type": "unknown_task_type",
                    "known": list(unknown.known),
                }
            ],
        ) from None


def _check_deadline(deadline: datetime | None) -> None:
    if deadline is not None and deadline.timestamp() * 1000 <= _now_ms():
        raise InvalidRequest(
            "the deadline is in the past",
            [{"loc": ["body", "deadline"], "msg": "must be in the future", "type": "value_error"}],
        )


class Projects:
    """Projects of organisations, over the board and an asyncio Redis client."""

    def __init__(self, board: AsyncBoard, client: redis.asyncio.Redis, keys: Keys) -> None:
        self.board = board
        self.client = client
        self.keys = keys

    # -- ownership ---------------------------------------------------------------------------

    async def require_owned(self, org_id: str, project_id: str) -> str:
        """``project_id`` when the organisation owns it; else the one "no such project" refusal,
        identical for a malformed id, an unknown one and another organisation's."""
        if not ids.PROJECT_ID.match(project_id) or not await self.client.sismember(
            self.keys.org_projects(org_id), project_id
        ):
            raise ProjectNotFound("no such project")
        return project_id

    # -- reading -----------------------------------------------------------------------------

    async def get(self, org_id: str, project_id: str) -> Project:
        await self.require_owned(org_id, project_id)
        (project,) = await self.board.run(_read_projects(self.keys, [project_id]))
        if project is None:
            raise ProjectNotFound("no such project")
        return project

    async def of_org(self, org_id: str) -> list[Project]:
        members = await self.client.smembers(self.keys.org_projects(org_id))
        project_ids = sorted(text(m) for m in members)
        if not project_ids:
            return []
        found = await self.board.run(_read_projects(self.keys, project_ids))
        projects = [p for p in found if p is not None]
        return sorted(projects, key=lambda p: (p.created_at, p.id), reverse=True)

    async def document(self, org_id: str, project_id: str) -> dict[str, Any]:
        """The stored project document (task type, policy…), after the ownership check."""
        await self.require_owned(org_id, project_id)
        raw = await self.client.hget(self.keys.project(project_id).project, "doc")
        if raw is None:
            raise ProjectNotFound("no such project")
        return dict(json.loads(raw))

    # -- writing -----------------------------------------------------------------------------

    async def create(self, org_id: str, spec: ProjectCreate) -> Project:
        _check_task_type(spec.task_type)
        _check_deadline(spec.deadline)
        project_id = ids.new_project_id()
        now = _now_ms()
        document = {
            **spec.model_dump(mode="json"),
            "languages": list(dict.fromkeys(spec.languages)),
            "skills": list(dict.fromkeys(spec.skills)),
            "id": project_id,
            "org_id": org_id,
            "created_at_ms": now,
            "updated_at_ms": now,
        }
        await self.board.run(
            self.board.ops.create_project(
                project_id, _policy(document), document, _deadline_field(document)
            )
        )
        await self.client.sadd(self.keys.org_projects(org_id), project_id)
        await self.client.hset(
            self.keys.project_index, project_id, _summary_json(document, "active")
        )
        _index_changed()
        return await self.get(org_id, project_id)

    async def update(self, org_id: str, project_id: str, patch: ProjectPatch) -> Project:
        current = await self.get(org_id, project_id)
        document = await self.document(org_id, project_id)
        changes = patch.model_dump(mode="json", exclude_unset=True)
        cleared = sorted(name for name, value in changes.items() if value is None)
        refused = [name for name in cleared if name in REQUIRED_ON_PATCH]
        if refused:
            raise InvalidRequest(
                "these fields cannot be null",
                [
                    {"loc": ["body", name], "msg": "cannot be null", "type": "value_error"}
                    for name in refused
                ],
            )
        if current.state == "closed" and ({"state", "deadline"} & changes.keys()):
            raise ProjectClosed(
                "the project's deadline has passed and it is closed: its state and deadline "
                "can no longer change (create a new project to go on)"
            )
        state = changes.pop("state", current.state)
        if "deadline" in changes:
            _check_deadline(patch.deadline)
        for name in ("languages", "skills"):
            if name in changes:
                changes[name] = list(dict.fromkeys(changes[name]))
        merged = {**document, **changes, "updated_at_ms": _now_ms()}
        ceiling = merged.get("max_redundancy")
        if ceiling is not None and ceiling < merged["redundancy"]:
            raise InvalidRequest(
                "max_redundancy must be at least redundancy",
                [
                    {
                        "loc": ["body", "max_redundancy"],
                        "msg": "must be at least redundancy",
                        "type": "value_error",
                    }
                ],
            )
        # One script call: policy, pause state and document change together, with one
        # project.updated event (what set_policy and set_paused each do, in one step).
        fields = _policy(merged).redis_fields()
        fields["state"] = state
        fields["doc"] = dumps(merged)
        fields.update(_deadline_field(merged))
        await self.board.run(self.board.ops.update_project(project_id, fields))
        if state == "active":
            await self.client.hset(
                self.keys.project_index, project_id, _summary_json(merged, state)
            )
        else:
            await self.client.hdel(self.keys.project_index, project_id)
        _index_changed()
        return await self.get(org_id, project_id)

    # -- reviewers ---------------------------------------------------------------------------

    async def grant_reviewer(self, org_id: str, project_id: str, volunteer_id: str) -> None:
        await self.require_owned(org_id, project_id)
        if not ids.VOLUNTEER_ID.match(volunteer_id) or not await self.client.exists(
            self.keys.volunteer(volunteer_id)
        ):
            raise OrgVolunteerNotFound("no such volunteer")
        await self.client.sadd(self.keys.project(project_id).reviewers, volunteer_id)

    async def revoke_reviewer(self, org_id: str, project_id: str, volunteer_id: str) -> None:
        await self.require_owned(org_id, project_id)
        await self.client.srem(self.keys.project(project_id).reviewers, volunteer_id)

    async def reviewers(self, org_id: str, project_id: str) -> list[str]:
        await self.require_owned(org_id, project_id)
        members = await self.client.smembers(self.keys.project(project_id).reviewers)
        return sorted(text(m) for m in members)
