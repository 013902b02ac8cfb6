"""What an organisation may send and hold: its bulk rate, its storage quota, its turn to write.

Each organisation has three limits, the operator's own for it (``G:org:<id>:limits``, set with
``PUT /v1/orgs/{org_id}/limits``) or else the instance's (``Settings``):

- ``bulk_tasks``: tasks it may send in bulk per window (a rate in the ``limits`` notation,
  counted by ``core.ratelimit`` under the ``bulk_tasks`` limit);
- ``quota_tasks``: tasks it may hold over all its projects (0: no limit);
- ``quota_payload_bytes``: bytes of payload JSON those tasks may hold (0: no limit).

What it holds is read when it writes, never kept in a counter of its own that could drift: the
tasks are each project's ``P:tasks`` entries (HLEN), the bytes each project's ``payload_bytes``,
which ``create_tasks.lua`` adds to in the script that writes the payloads (a project deleted
takes both with it). One round trip for all of an organisation's projects.

An organisation's bulk submissions are written one at a time (:meth:`Quotas.bulk_turn`, a lock
in Redis shared by every API process): the room left under its quota is read, then used, by one
writer only, so concurrent requests cannot together overshoot it; and one organisation's flood
holds one writer, whatever the number of API processes, never all of them.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio
from limits import RateLimitItem
from redis.exceptions import WatchError

from core.errors import TooManyRequests
from core.ratelimit import parse_rate
from core.redis.keys import Keys
from core.settings import Settings

__all__ = ["LIMIT_FIELDS", "OrgLimits", "Quotas", "Usage"]

#: The limits an operator can set per organisation (fields of ``G:org:<id>:limits``).
LIMIT_FIELDS = ("bulk_tasks", "quota_tasks", "quota_payload_bytes")
# How long a bulk writer holds its organisation's turn without renewing it (it renews at every
# chunk): a crashed process frees the turn this long after.
TURN_HOLD_MS = 30_000
# How long a request waits for its turn before it is refused (429), and how often it looks.
TURN_WAIT_S = 30.0
TURN_POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class OrgLimits:
    """An organisation's limits in force, and which of them the operator set for it."""

    bulk_tasks: str
    quota_tasks: int
    quota_payload_bytes: int
    own: frozenset[str]

    @property
    def bulk_rate(self) -> RateLimitItem:
        return parse_rate(self.bulk_tasks)


@dataclass(frozen=True, slots=True)
class Usage:
    tasks: int
    payload_bytes: int


class Quotas:
    def __init__(self, client: redis.asyncio.Redis, keys: Keys, settings: Settings) -> None:
        self.client = client
        self.keys = keys
        self.settings = settings

    async def limits(self, org_id: str) -> OrgLimits:
        own = await self.client.hgetall(self.keys.org_limits(org_id))
        return self._resolve({str(k): str(v) for k, v in own.items()})

    def _resolve(self, own: Mapping[str, str]) -> OrgLimits:
        s = self.settings
        return OrgLimits(
            bulk_tasks=own.get("bulk_tasks", s.rate_limit_bulk_tasks),
            quota_tasks=int(own.get("quota_tasks", s.quota_tasks)),
            quota_payload_bytes=int(own.get("quota_payload_bytes", s.quota_payload_bytes)),
            own=frozenset(own) & frozenset(LIMIT_FIELDS),
        )

    async def set_limits(self, org_id: str, changes: Mapping[str, str | int | None]) -> OrgLimits:
        """Set (a value) or drop (None: back to the instance's) some of the organisation's
        limits; the others stay. Values must already be valid."""
        key = self.keys.org_limits(org_id)
        async with self.client.pipeline(transaction=True) as pipe:
            for name, value in changes.items():
                if name not in LIMIT_FIELDS:
                    raise ValueError(f"unknown limit {name!r}")
                if value is None:
                    pipe.hdel(key, name)
                else:
                    pipe.hset(key, name, str(value))
            pipe.hgetall(key)
            replies = await pipe.execute()
        own = replies[-1]
        return self._resolve({str(k): str(v) for k, v in own.items()})

    async def usage(self, org_id: str) -> Usage:
        """Tasks and payload bytes the organisation holds now, over all its projects."""
        project_ids = sorted(await self.client.smembers(self.keys.org_projects(org_id)))
        if not project_ids:
            return Usage(0, 0)
        async with self.client.pipeline(transaction=False) as pipe:
            for project_id in project_ids:
                pk = self.keys.project(str(project_id))
                pipe.hlen(pk.tasks)
                pipe.hget(pk.project, "payload_bytes")
            replies = await pipe.execute()
        tasks = sum(int(n) for n in replies[0::2])
        payload_bytes = sum(int(b or 0) for b in replies[1::2])
        return Usage(tasks, payload_bytes)

    @asynccontextmanager
    async def bulk_turn(self, org_id: str) -> AsyncIterator[BulkTurn]:
        """The organisation's turn to write bulk tasks, waited for (429 after
        :data:`TURN_WAIT_S`); held while the block runs, renewed by :meth:`BulkTurn.renew`."""
        key = self.keys.org_bulk_lock(org_id)
        token = secrets.token_hex(8)
        deadline = time.monotonic() + TURN_WAIT_S
        while not await self.client.set(key, token, nx=True, px=TURN_HOLD_MS):
            if time.monotonic() > deadline:
                raise TooManyRequests(
                    "another bulk submission of your organisation is being written; retry "
                    "when it is done",
                    retry_after_s=1,
                    policy=("bulk_writers", 1, None),
                )
            await asyncio.sleep(TURN_POLL_S)
        turn = BulkTurn(self.client, key, token)
        try:
            yield turn
        finally:
            await turn.release()


class BulkTurn:
    """A held turn: renewed between chunks, released at the end (only if still ours)."""

    def __init__(self, client: redis.asyncio.Redis, key: str, token: str) -> None:
        self.client, self.key, self.token = client, key, token

    async def renew(self) -> None:
        await self.client.set(self.key, self.token, xx=True, px=TURN_HOLD_MS)

    async def release(self) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(self.key)
                if await pipe.get(self.key) == self.token:
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.delete(self.key)
                    await pipe.execute()
            except WatchError:
                pass  # it changed hands meanwhile: it is not ours to delete
