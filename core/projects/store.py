"""Projects: an organisation's batches of tasks of one type, and the policy they run under.

The project document (everything the NGO set: name, type, policy, instructions, impact note)
is JSON in the board's project hash (``P:project`` field ``doc``), next to the policy fields the
board scripts enforce, the paused/active ``state`` and the per-state task counters, so one
``HGETALL`` reads a whole project. Two indexes sit beside it:

- ``G:org:<org-id>:projects``: which projects an organisation owns. Every organisation-facing
  lookup goes through :meth:`Projects.require_owned` first, and another organisation's project
  is refused exactly like an id that never existed (no existence leak across tenants).
- ``G:project_index``: active project id -> small JSON summary (:mod:`core.projects.index`), read
  in one ``HGETALL`` to choose where a volunteer's claim may go. Paused projects leave it.

Writes touch several cluster slots, so they are ordered to fail safe: the board's keys first,
then the organisation's index, then the claim index (a crash in between leaves a project no
volunteer is sent to, never an indexed project without keys).

Concurrent edits. The project hash carries a revision, ``doc_rev``, which every write of it
goes up with (``update_project.lua``; ``expire_deadline.lua`` when it closes the project). An
edit reads the project, merges the patch into what it read and writes it back only if the
revision is still the one it read; otherwise it reads and merges again (a few times, then 409
``conflict``). So no edit overwrites another one it never saw, and an edit racing the deadline
close finds the project closed rather than reopening it. The claim index, in another slot, is
written after the project: each entry holds the revision it was made from and only a newer one
may replace or remove it, and the writer then checks the project is still at that revision
(else it writes the newer state), so the index ends agreeing with the project whatever order
concurrent writers finish in.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import redis.asyncio

from core import ids
from core.accounts.staff import staff_reviewers
from core.board.operations import dumps, text
from core.board.runner import AsyncBoard
from core.errors import (
    InvalidRequest,
    OrgVolunteerNotFound,
    ProjectClosed,
    ProjectEdited,
    ProjectNotFound,
    UnknownTaskTypeName,
)
from core.projects.changes import announce_project_change
from core.projects.deadlines import expire_deadline_op, follow_up
from core.projects.documents import (
    board_policy,
    deadline_field,
    deadline_ms,
    now_ms,
    project_from_hash,
    read_fields,
    read_projects,
    revision_of,
)
from core.projects.index import (
    claimable_projects,
    index_generation,
    project_summary,
    summary_json,
    write_entry,
)
from core.projects.models import (
    REQUIRED_ON_PATCH,
    Project,
    ProjectCreate,
    ProjectPatch,
    ProjectSummary,
)
from core.redis.keys import Keys
from task_types import UnknownTaskType
from task_types import get as get_task_type

__all__ = [
    "EDIT_ATTEMPTS",
    "Project",
    "ProjectCreate",
    "ProjectPatch",
    "ProjectSummary",
    "Projects",
    "claimable_projects",
    "index_generation",
    "project_summary",
]


#: Read-merge-write rounds of one edit that loses to concurrent ones before it answers 409.
EDIT_ATTEMPTS = 10


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
    if deadline is not None and deadline.timestamp() * 1000 <= now_ms():
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
        (project,) = await self.board.run(read_projects(self.keys, [project_id]))
        if project is None:
            raise ProjectNotFound("no such project")
        return project

    async def of_org(self, org_id: str) -> list[Project]:
        members = await self.client.smembers(self.keys.org_projects(org_id))
        project_ids = sorted(text(m) for m in members)
        if not project_ids:
            return []
        found = await self.board.run(read_projects(self.keys, project_ids))
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
        now = now_ms()
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
                project_id, board_policy(document), document, deadline_field(document)
            )
        )
        await self.client.sadd(self.keys.org_projects(org_id), project_id)
        # The organisation's staff from reviewer up review its projects (core.accounts.staff).
        reviewers = await staff_reviewers(self.client, self.keys, org_id)
        if reviewers:
            await self.client.sadd(self.keys.project(project_id).reviewers, *reviewers)
        entry = summary_json(document, "active", 0, deadline_ms(document))
        await self.client.hset(self.keys.project_index, project_id, entry)
        await announce_project_change(self.client, self.keys, project_id)
        return await self.get(org_id, project_id)

    async def update(self, org_id: str, project_id: str, patch: ProjectPatch) -> Project:
        """Apply ``patch`` to the project as it is now (see the module docstring: an edit that
        keeps losing to concurrent ones is refused with 409 ``conflict``, changing nothing)."""
        await self.require_owned(org_id, project_id)
        for attempt in range(EDIT_ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311 (jitter)
            fields = await self.board.run(read_fields(self.keys, project_id))
            try:
                await self._apply(project_id, fields, patch)
            except ProjectEdited:
                continue
            return await self.get(org_id, project_id)
        raise ProjectEdited(
            "the project kept being changed by other requests while this edit was applied; "
            "nothing was changed: read it again and retry"
        )

    async def _apply(self, project_id: str, fields: Mapping[str, str], patch: ProjectPatch) -> None:
        """One read-merge-write round over ``fields`` (the project as read); ``ProjectEdited``
        when the project moved on since that read."""
        current, document = project_from_hash(project_id, fields), json.loads(fields["doc"])
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
        merged = {**document, **changes, "updated_at_ms": now_ms()}
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
        # project.updated event (what set_policy and set_paused each do, in one step), written
        # only if the project is still at the revision read.
        written = board_policy(merged).redis_fields()
        written["state"] = state
        written["doc"] = dumps(merged)
        written.update(deadline_field(merged))
        revision = await self.board.run(
            self.board.ops.update_project(project_id, written, revision_of(fields))
        )
        await self._sync_index(project_id, merged, state, revision)

    async def close_now(self, org_id: str, project_id: str) -> Project:
        """Closes the project now, as its deadline passing would (the NGO's "close" in the
        console): its deadline becomes the board's now, then the first step of the deadline
        sweep runs at once (the project is closed, its leases end, its unfinished tasks start
        expiring; the scheduler's ticks finish a large project). Closing a closed project
        changes nothing. Final, as a deadline's close is."""
        await self.require_owned(org_id, project_id)
        for attempt in range(EDIT_ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311 (jitter)
            fields = await self.board.run(read_fields(self.keys, project_id))
            if project_from_hash(project_id, fields).state == "closed":
                return await self.get(org_id, project_id)
            fixed = self.board.clock.script_now()
            now = int(fixed) if fixed else now_ms()
            document = json.loads(fields["doc"])
            when = datetime.fromtimestamp(now / 1000, tz=UTC).isoformat()
            merged = {**document, "deadline": when, "updated_at_ms": now}
            written: dict[str, Any] = {"doc": dumps(merged), **deadline_field(merged)}
            try:
                await self.board.run(
                    self.board.ops.update_project(project_id, written, revision_of(fields))
                )
            except ProjectEdited:
                continue
            sweep = await self.board.run(expire_deadline_op(self.board.ops, project_id, 500))
            await self.board.run(follow_up(self.board.ops, [sweep]))
            await announce_project_change(self.client, self.keys, project_id)
            return await self.get(org_id, project_id)
        raise ProjectEdited("the project kept being changed while it was being closed; retry")

    # -- the claim index ---------------------------------------------------------------------

    async def write_index(self, project_id: str, summary: str | None, revision: int) -> bool:
        """:func:`core.projects.index.write_entry` for this project (a method: tests hook it)."""
        return await write_entry(self.client, self.keys, project_id, summary, revision)

    async def _sync_index(
        self, project_id: str, document: Mapping[str, Any], state: str, revision: int
    ) -> None:
        """Write the claim-index entry of the project at ``revision``, then check the project is
        still there: if it moved on (another edit, the deadline close) whose own index write may
        have landed before ours, write the newer state too. The last writer to finish thus
        leaves the entry of the project's latest revision."""
        key = self.keys.project(project_id).project
        for _ in range(EDIT_ATTEMPTS):
            summary = (
                summary_json(document, state, revision, deadline_ms(document))
                if state == "active"
                else None
            )
            await self.write_index(project_id, summary, revision)
            doc, now_state, now_revision = await self.client.hmget(key, ["doc", "state", "doc_rev"])
            if doc is None or int(text(now_revision or 0)) == revision:
                break
            document, state = json.loads(doc), text(now_state or "active")
            revision = int(text(now_revision))
        await announce_project_change(self.client, self.keys, project_id)

    # -- reviewers ---------------------------------------------------------------------------

    async def grant_reviewer(self, org_id: str, project_id: str, volunteer_id: str) -> None:
        await self.require_owned(org_id, project_id)
        if not ids.VOLUNTEER_ID.match(volunteer_id) or not await self.client.exists(
            self.keys.volunteer(volunteer_id)
        ):
            raise OrgVolunteerNotFound("no such volunteer")
        await self.client.sadd(self.keys.project(project_id).reviewers, volunteer_id)

    async def revoke_reviewer(self, org_id: str, project_id: str, volunteer_id: str) -> None:
        """Withdraw the rights; the review leases the volunteer holds on the project end with
        them (their items go back to the queue), so no decision can follow the withdrawal."""
        await self.require_owned(org_id, project_id)
        if not ids.VOLUNTEER_ID.match(volunteer_id):
            return  # never granted: nothing to withdraw
        await self.board.run(self.board.ops.revoke_reviewer(project_id, volunteer_id))

    async def reviewers(self, org_id: str, project_id: str) -> list[str]:
        await self.require_owned(org_id, project_id)
        members = await self.client.smembers(self.keys.project(project_id).reviewers)
        return sorted(text(m) for m in members)
