"""An organisation's staff: the people who run it in the console, each with a role.

A member of staff is an ordinary person's record (``G:vol:<id>``, the same account as on the
volunteers' pages: signed in by e-mailed link or recovery code), so one person may volunteer,
review and run several organisations with one sign-in. Memberships are kept twice:

- ``G:org:<org-id>:members`` hash volunteer id -> role: the truth, read by every console page;
- ``G:vol:<volunteer-id>:orgs`` hash org id -> role: an index, to list a person's organisations;
  and ``staff`` = 1 in the person's profile hash while the index is not empty (the layout's
  link to the console).

The organisation's hash is written first and the person's index after it (a crash in between
leaves an index entry missing or stale; :meth:`Staff.orgs_of` checks each entry against the
organisation's hash, so a stale one grants nothing).

Roles are ordered (:class:`Role`): a viewer sees; a reviewer also reviews; a manager also
changes projects, data and reviewer grants; an owner also manages people, API keys and the
webhook (:meth:`Role.can`). An organisation always keeps one owner at least: removing or
demoting the last one is refused (:class:`~core.errors.LastOwner`), checked and written in one
WATCH/MULTI transaction on the members hash, so two owners demoting each other at once cannot
both succeed.

Staff changes are recorded in the organisation's audit stream ``G:org:<org-id>:audit`` (who,
what, whom); project changes made in the console go to the project's own event stream
(:mod:`core.projects.audit`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Literal

import redis.asyncio
from redis.exceptions import WatchError

from core.board.operations import text
from core.board.runner import AsyncBoard
from core.errors import LastOwner, NotFound, Unavailable
from core.redis.keys import Keys

__all__ = ["ACTIONS", "AUDIT_MAXLEN", "STAFF_FLAG", "Action", "Role", "Staff", "staff_reviewers"]

#: A field of the person's profile hash while they are on some organisation's staff: what the
#: pages' layout reads (with the profile it reads anyway) to show the link to the console.
STAFF_FLAG = "staff"
#: Entries kept in an organisation's audit stream (the oldest go first).
AUDIT_MAXLEN = 10_000
_CHANGE_ATTEMPTS = 50

Action = Literal["see", "review", "change", "manage_people", "manage_keys", "manage_webhook"]


class Role(IntEnum):
    """Staff roles, each allowed what the ones below it are, and more."""

    VIEWER = 1
    REVIEWER = 2
    MANAGER = 3
    OWNER = 4

    @property
    def label(self) -> str:
        """The stored and shown name: ``owner``, ``manager``…"""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role | None:
        """The role named ``text`` (``owner``…), or None."""
        return _BY_LABEL.get(text.strip().lower()) if isinstance(text, str) else None

    def can(self, action: Action) -> bool:
        return self >= ACTIONS[action]


#: The least role each action needs.
ACTIONS: dict[Action, Role] = {
    "see": Role.VIEWER,
    "review": Role.REVIEWER,
    "change": Role.MANAGER,
    "manage_people": Role.OWNER,
    "manage_keys": Role.OWNER,
    "manage_webhook": Role.OWNER,
}
_BY_LABEL = {role.label: role for role in Role}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _decoded(raw: Mapping[bytes | str, bytes | str]) -> dict[str, Role]:
    found = {}
    for key, value in raw.items():
        role = Role.parse(str(value))
        if role is not None:
            found[str(key)] = role
    return found


class Staff:
    """Memberships over an asyncio Redis client."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        keys: Keys,
        *,
        clock: Callable[[], int] = _now_ms,
        board: AsyncBoard | None = None,
    ) -> None:
        self.client = client
        self.keys = keys
        self.clock = clock
        # Withdrawing review rights runs revoke_reviewer.lua (it ends the review leases held);
        # without a board, a change that withdraws them is refused (see _sync_reviews).
        self.board = board

    # -- reading -----------------------------------------------------------------------------

    async def role(self, org_id: str, volunteer_id: str) -> Role | None:
        """The person's role in the organisation, or None when they are not one of its staff."""
        found = await self.client.hget(self.keys.org_members(org_id), volunteer_id)
        return None if found is None else Role.parse(str(found))

    async def members(self, org_id: str) -> dict[str, Role]:
        """Volunteer id -> role, for everyone on the organisation's staff."""
        return _decoded(await self.client.hgetall(self.keys.org_members(org_id)))

    async def orgs_of(self, volunteer_id: str) -> dict[str, Role]:
        """Org id -> role, for every organisation the person is on the staff of (each checked
        against the organisation's own members hash)."""
        indexed = _decoded(await self.client.hgetall(self.keys.volunteer_orgs(volunteer_id)))
        found: dict[str, Role] = {}
        for org_id in sorted(indexed):
            role = await self.role(org_id, volunteer_id)
            if role is not None:
                found[org_id] = role
        return found

    # -- writing -----------------------------------------------------------------------------

    async def add(self, org_id: str, volunteer_id: str, role: Role, *, by: str) -> Role:
        """Makes the person a member with ``role`` (an invitation accepted). A member already
        keeps the higher of their role and ``role``: accepting an old invitation never demotes.
        Returns the role they now hold."""

        def change(members: dict[str, Role]) -> Role | None:
            return max(role, members.get(volunteer_id, role))

        held = await self._change(org_id, volunteer_id, change)
        assert held is not None  # noqa: S101 - change() never removes
        await self._audit(org_id, "staff.added", by, volunteer_id, held)
        return held

    async def set_role(self, org_id: str, volunteer_id: str, role: Role, *, by: str) -> None:
        """Changes a member's role; ``NotFound`` for someone not on the staff, ``LastOwner``
        when it would leave the organisation without an owner."""

        def change(members: dict[str, Role]) -> Role | None:
            if volunteer_id not in members:
                raise NotFound("no such member of staff")
            _keep_an_owner(members, volunteer_id, role)
            return role

        await self._change(org_id, volunteer_id, change)
        await self._audit(org_id, "staff.role_changed", by, volunteer_id, role)

    async def remove(self, org_id: str, volunteer_id: str, *, by: str) -> None:
        """Takes the person off the staff; ``NotFound`` for someone not on it, ``LastOwner``
        for the last owner."""

        def change(members: dict[str, Role]) -> Role | None:
            if volunteer_id not in members:
                raise NotFound("no such member of staff")
            _keep_an_owner(members, volunteer_id, None)
            return None

        await self._change(org_id, volunteer_id, change)
        await self._audit(org_id, "staff.removed", by, volunteer_id, None)

    async def _change(
        self,
        org_id: str,
        volunteer_id: str,
        change: Callable[[dict[str, Role]], Role | None],
    ) -> Role | None:
        """Writes ``change(members)`` as the person's role (None: removed), atomically on the
        members hash (re-read and re-decided when it changes meanwhile), then the index."""
        members_key = self.keys.org_members(org_id)
        async with self.client.pipeline(transaction=True) as pipe:
            for _ in range(_CHANGE_ATTEMPTS):
                try:
                    await pipe.watch(members_key)
                    members = _decoded(await pipe.hgetall(members_key))
                    role = change(members)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if role is None:
                        pipe.hdel(members_key, volunteer_id)
                    else:
                        pipe.hset(members_key, volunteer_id, role.label)
                    await pipe.execute()
                    break
                except WatchError:
                    continue
            else:
                raise Unavailable("the organisation's staff is changing too fast; retry shortly")
        index = self.keys.volunteer_orgs(volunteer_id)
        if role is None:
            await self.client.hdel(index, org_id)
            if not await self.client.hlen(index):
                await self.client.hdel(self.keys.volunteer(volunteer_id), STAFF_FLAG)
        else:
            await self.client.hset(index, org_id, role.label)
            # Only on an existing profile (HSET on a missing hash would make half a profile).
            if await self.client.exists(self.keys.volunteer(volunteer_id)):
                await self.client.hset(self.keys.volunteer(volunteer_id), STAFF_FLAG, "1")
        await self._sync_reviews(org_id, volunteer_id, role)
        return role

    async def _sync_reviews(self, org_id: str, volunteer_id: str, role: Role | None) -> None:
        """Staff from reviewer up review every project of the organisation: they are put in each
        project's reviewers set (``P:reviewers``, the set the review scripts check, so a right
        and its withdrawal stay atomic with the review leases). Off the staff, or down to
        viewer, those rights go with any review lease held (``revoke_reviewer.lua``), per-project
        grants included: the console's people page is where an organisation says who reviews.
        New projects get the staff's reviewers at creation (:func:`staff_reviewers`)."""
        projects = sorted(
            text(p) for p in await self.client.smembers(self.keys.org_projects(org_id))
        )
        if role is not None and role >= Role.REVIEWER:
            for project_id in projects:
                await self.client.sadd(self.keys.project(project_id).reviewers, volunteer_id)
            return
        if self.board is None:
            if projects:
                raise RuntimeError("withdrawing review rights needs the board (Staff(board=…))")
            return
        for project_id in projects:
            await self.board.run(self.board.ops.revoke_reviewer(project_id, volunteer_id))

    async def _audit(
        self, org_id: str, kind: str, by: str, volunteer_id: str, role: Role | None
    ) -> None:
        fields = {"type": kind, "by": by, "volunteer": volunteer_id, "at": self.clock()}
        if role is not None:
            fields["role"] = role.label
        await self.client.xadd(
            self.keys.org_audit(org_id),
            fields,  # type: ignore[arg-type]
            maxlen=AUDIT_MAXLEN,
            approximate=True,
        )

    async def record(self, org_id: str, kind: str, *, by: str, **details: str) -> None:
        """Records a staff change that is not a membership's (an invitation sent or revoked)."""
        fields: dict[str, str | int] = {"type": kind, "by": by, "at": self.clock(), **details}
        await self.client.xadd(
            self.keys.org_audit(org_id),
            fields,  # type: ignore[arg-type]
            maxlen=AUDIT_MAXLEN,
            approximate=True,
        )

    async def audit_trail(self, org_id: str, count: int = 50) -> list[dict[str, str]]:
        """The latest staff changes, newest first."""
        entries = await self.client.xrevrange(self.keys.org_audit(org_id), count=count)
        return [{str(k): str(v) for k, v in (fields or {}).items()} for _, fields in entries or []]


def _keep_an_owner(members: dict[str, Role], volunteer_id: str, new_role: Role | None) -> None:
    if members.get(volunteer_id) is not Role.OWNER or new_role is Role.OWNER:
        return
    if sum(1 for role in members.values() if role is Role.OWNER) <= 1:
        raise LastOwner("an organisation keeps one owner at least: make someone else owner first")


async def staff_reviewers(client: redis.asyncio.Redis, keys: Keys, org_id: str) -> list[str]:
    """The organisation's staff from reviewer up: who reviews a project it creates."""
    members = _decoded(await client.hgetall(keys.org_members(org_id)))
    return sorted(vol for vol, role in members.items() if role >= Role.REVIEWER)
