"""Running the board's operations on Redis: synchronously (:class:`Board`) or under asyncio
(:class:`AsyncBoard`).

Every state change of a project's board (its tasks, leases, answers, review items, results) is
one Lua script run as one EVALSHA: atomic, and appending its event to the project stream in the
same step (the outbox). A volunteer's live-assignment set (the cap) sits on the volunteer's own
key, in another cluster slot, so it is kept by its own script and commands, sent beside the
project's.

The operations are values (:mod:`core.board.script_calls`) defined in the module of their
domain: :mod:`core.board.operations` (``BoardOps``: projects, tasks, leases; it also gathers
:mod:`core.board.slots`, the cap, and :mod:`core.review.items`, review items),
:mod:`core.quality.outcomes` (what the event pipeline's actors write) and
:mod:`core.quality.reputation` (reputations). This module runs them: :class:`Board` for the
workers, scheduler and CLI, :class:`AsyncBoard` for the API.

One operation is one round trip (a batch of calls goes down one pipeline; a script cache lost
by Redis costs one more); :meth:`AsyncBoard.run_pair` and :meth:`AsyncBoard.run_then` send two
in one. A request may need several: a claim is two round trips (the cap reservation and the
claim in one pipeline, then the slot's confirmation), a submit one (the answer and the slot
given back) or two (the lease's context read first, when this process did not serve the claim),
so a claim->submit cycle is three; a review decision is two (its context, then the decision).
:mod:`core.board.claims` and :mod:`core.review.reviewers` say why.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, TypeVar

import redis
import redis.asyncio
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from core.board.models import (
    BoardPolicy,
    Claimed,
    CreatedTask,
    Decided,
    Heartbeat,
    NewTask,
    NothingToClaim,
    NothingToReview,
    ReviewClaimed,
    ReviewDecision,
    Submitted,
    TaskView,
)
from core.board.operations import Batch, BoardOps, Commands, Op, ScriptCall, text
from core.clock import Clock, RedisClock
from core.errors import RucheError
from core.quality.reputation_model import DEFAULT_HALF_LIFE_DAYS
from core.redis.clients import is_cluster
from core.redis.cluster_mux import ClusterMux
from core.redis.keys import Keys
from core.redis.mux import MuxRedis
from core.redis.replicated import ReplicatedScripts
from core.redis.scripts import READ_ONLY, ScriptName, load_all, load_all_async

__all__ = [
    "MUX_COMMANDS",
    "REDIS_FAILURES",
    "AsyncBoard",
    "Board",
    "BoardPolicy",
    "Claimed",
    "CreatedTask",
    "Decided",
    "Heartbeat",
    "NewTask",
    "NothingToClaim",
    "NothingToReview",
    "RedisFailure",
    "ReviewClaimed",
    "ReviewDecision",
    "ScriptCall",
    "Submitted",
    "TaskView",
]

#: What a command may meet on its way: an error reply, a connection lost, or (on a cluster) a
#: slot no node serves, which redis-py raises outside its RedisError tree.
RedisFailure = redis.RedisError | RedisClusterException
REDIS_FAILURES = (redis.RedisError, RedisClusterException)

T = TypeVar("T")
U = TypeVar("U")

#: Commands whose replies redis-py hands back just as Redis sends them (no response callback, no
#: reshaping), so that the mux, which shapes nothing, answers them alike: script calls and what
#: the request path's slot and lease reads send (tests/core/test_async_board.py compares them).
MUX_COMMANDS = frozenset({"EVALSHA", "HGET", "HMGET", "ZADD", "ZREM"})

# A NOSCRIPT reply means Redis lost its script cache (restart, SCRIPT FLUSH): the call never
# ran, so registering the scripts again and resending it cannot apply it twice.
_NoScript = redis.exceptions.NoScriptError


def _absorb(
    batch: Batch[Any, Any],
    pending: list[int],
    replies: list[Any],
    results: dict[int, Any],
    reloaded: bool,
) -> list[int]:
    """Parse a batch's pipelined replies into ``results``; returns the calls to send again.

    A call answered NOSCRIPT never ran, so it is safe to resend once the scripts are reloaded.
    """
    missing = []
    for index, reply in zip(pending, replies, strict=True):
        if isinstance(reply, _NoScript) and not reloaded:
            missing.append(index)
        elif isinstance(reply, Exception):
            raise reply
        else:
            results[index] = batch.calls[index].parse(reply)
    return missing


def _reads_only(batch: Batch[Any, Any]) -> bool:
    """Whether every call of ``batch`` only reads (the claim's and the review queue's counts,
    reputation reads): nothing to wait for on a cluster."""
    return all(call.script in READ_ONLY for call in batch.calls)


async def _pipelined(client: redis.asyncio.Redis, commands: Sequence[Sequence[Any]]) -> list[Any]:
    pipe = client.pipeline(transaction=False)
    for command in commands:
        pipe.execute_command(*command)
    return list(await pipe.execute(raise_on_error=False))


def _key_of(command: Sequence[Any]) -> str | None:
    """The key that routes a command on a cluster (EVALSHA: its first key); None: keyless."""
    if command[0] == "EVALSHA":
        return str(command[3]) if int(command[2]) > 0 else None
    return str(command[1]) if len(command) > 1 and command[0] != "TIME" else None


async def send_by_slot(client: redis.asyncio.Redis, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """The commands on a cluster client, each slot's on their own and all slots at once; their
    replies in order, an error (a node down, a failover under way) in the place of each command
    it hit. Not one redis-py cluster pipeline: when a node fails, it sends the whole pipeline
    again, running twice what the other nodes already ran. Keyless commands go with the first
    command that has a key (one node, in order)."""
    groups: dict[int, list[int]] = {}
    slot_of_keyless: int | None = None
    keyless: list[int] = []
    for index, command in enumerate(commands):
        key = _key_of(command)
        if key is None:
            keyless.append(index)
            continue
        slot = key_slot(key.encode())
        slot_of_keyless = slot if slot_of_keyless is None else slot_of_keyless
        groups.setdefault(slot, []).append(index)
    if keyless:
        groups.setdefault(slot_of_keyless or 0, [])[:0] = keyless  # sent first, in their order
    if len(groups) == 1:
        return await _pipelined(client, commands)

    async def one_slot(indices: list[int]) -> list[Any]:
        if len(indices) == 1:
            try:
                return [await client.execute_command(*commands[indices[0]])]  # type: ignore[no-untyped-call]
            except REDIS_FAILURES as error:
                return [error]
        return await _pipelined(client, [commands[index] for index in indices])

    parts = await asyncio.gather(
        *(one_slot(indices) for indices in groups.values()), return_exceptions=True
    )
    replies: list[Any] = [None] * len(commands)
    for indices, part in zip(groups.values(), parts, strict=True):
        if isinstance(part, BaseException) and not isinstance(part, Exception):
            raise part  # cancelled: not a reply
        for position, index in enumerate(indices):
            replies[index] = part if isinstance(part, Exception) else part[position]
    return replies


class Board:
    """Synchronous board over one Redis client."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        keys: Keys | None = None,
        clock: Clock | None = None,
        claim_scan_limit: int = 256,
        reputation_half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
        replicated: ReplicatedScripts | None = None,
    ) -> None:
        self.client = client
        self.keys = keys or Keys()
        self.clock = clock or RedisClock()
        self.ops = BoardOps(self.keys, self.clock, claim_scan_limit)
        # On a cluster: each script call answered once a replica holds its writes
        # (core.redis.replicated; core.redis.clients.replicated_scripts makes it).
        self.replicated = replicated
        # What the reputation evidence the pipeline writes fades with (core.quality.reputation).
        self.reputation_half_life_days = reputation_half_life_days
        # Registered on first use rather than here, so a process can start while Redis is down.
        self._shas: dict[ScriptName, str] | None = None

    def _sha(self, script: ScriptName, *, reload: bool = False) -> str:
        if self._shas is None or reload:
            self._shas = load_all(self.client)
        return self._shas[script]

    def _evalsha(self, call: ScriptCall[Any], *, reload: bool = False) -> Any:
        sha = self._sha(call.script, reload=reload)
        if self.replicated is not None:
            return self.replicated.evalsha(sha, call.keys, call.args)
        return self.client.evalsha(sha, len(call.keys), *call.keys, *call.args)

    def run(self, op: Op[T]) -> T:
        if isinstance(op, ScriptCall):
            try:
                reply = self._evalsha(op)
            except _NoScript:
                reply = self._evalsha(op, reload=True)
            return op.parse(reply)
        if isinstance(op, Commands):
            pipe = self.client.pipeline(transaction=False)
            for command in op.commands:
                pipe.execute_command(*command)  # type: ignore[no-untyped-call]
            return op.parse(pipe.execute())
        return op.combine(self._run_batch(op))

    def _run_batch(self, batch: Batch[Any, Any]) -> list[Any]:
        results: dict[int, Any] = {}
        pending = list(range(len(batch.calls)))
        reload = False
        while pending:
            pipe = self.client.pipeline(transaction=False)
            for index in pending:
                call = batch.calls[index]
                sha = self._sha(call.script, reload=reload)
                pipe.evalsha(sha, len(call.keys), *call.keys, *call.args)
            replies = pipe.execute(raise_on_error=False)
            pending, reload = _absorb(batch, pending, replies, results, reload), True
        return [results[i] for i in range(len(batch.calls))]

    # The sync calls production code makes; tests/support/board.py's TestBoard has the others
    # (everything else runs as ``board.run(board.ops.<operation>(...))``).

    def project_ids(self) -> Iterator[str]:
        for member in self.client.sscan_iter(self.keys.projects, count=500):
            yield text(member)

    def get_task(self, project_id: str, task_id: str) -> TaskView:
        return self.run(self.ops.get_task(project_id, task_id))

    def open_review(self, project_id: str, task_id: str, reason: str, *, priority: int = 0) -> bool:
        """Queue a task for review; False when it already was in review (nothing changed)."""
        return self.run(self.ops.open_review(project_id, task_id, reason, priority))

    def decision(self, project_id: str, task_id: str) -> dict[str, Any] | None:
        return self.run(self.ops.decision(project_id, task_id))

    def reap_expired_leases(self, limit_per_project: int = 500) -> int:
        """One sweep over every project; returns how many leases expired."""
        return sum(
            len(self.run(self.ops.expire_leases(pid, limit_per_project)))
            for pid in self.project_ids()
        )

    def reap_expired_review_leases(self, limit_per_project: int = 500) -> int:
        """One sweep over every project; returns how many review leases expired."""
        return sum(
            len(self.run(self.ops.expire_review_leases(pid, limit_per_project)))
            for pid in self.project_ids()
        )


class AsyncBoard:
    """The same board for asyncio code (the API), over a ``redis.asyncio`` client.

    With a :class:`~core.redis.mux.MuxRedis` (the API's), single script calls and the slot
    commands go down its one shared connection, at a third of redis-py's CPU per round trip
    (``bench/redis_mux.py``); batches (bulk task creation) and every other read stay on the
    redis-py client. On a cluster, batches that write go down a
    :class:`~core.redis.cluster_mux.ClusterMux` of their own when given one (``batch_mux``): it
    ends each node's share with ``WAIT``, so that tasks an NGO was told were accepted are on a
    replica (redis-py's cluster pipeline cannot ``WAIT`` on the connection that wrote), and its
    connections are not the hot path's (a large batch holds up nobody's claim). Batches of
    reads only (:data:`~core.redis.scripts.READ_ONLY`) stay on the redis-py client.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        keys: Keys | None = None,
        clock: Clock | None = None,
        claim_scan_limit: int = 256,
        mux: MuxRedis | ClusterMux | None = None,
        batch_mux: ClusterMux | None = None,
    ) -> None:
        self.client = client
        self.keys = keys or Keys()
        self.clock = clock or RedisClock()
        self.ops = BoardOps(self.keys, self.clock, claim_scan_limit)
        self.mux = mux
        self.batch_mux = batch_mux
        self._cluster = is_cluster(client)
        self._shas: dict[ScriptName, str] | None = None

    async def _send(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """The commands in one round trip; their replies in order, an error as an exception
        in its place. Down the mux when there is one and every command's reply comes back from
        it as redis-py would shape it (:data:`MUX_COMMANDS`), else down a redis-py pipeline;
        on a cluster, one per slot (:func:`send_by_slot`)."""
        if self.mux is not None and all(command[0] in MUX_COMMANDS for command in commands):
            return await self.mux.execute(commands)
        if self._cluster:
            return await send_by_slot(self.client, commands)
        return await _pipelined(self.client, commands)

    @staticmethod
    def _evalsha_command(sha: str, call: ScriptCall[Any]) -> tuple[Any, ...]:
        return ("EVALSHA", sha, len(call.keys), *call.keys, *call.args)

    async def _sha(self, script: ScriptName, *, reload: bool = False) -> str:
        if self._shas is None or reload:
            self._shas = await load_all_async(self.client)
        return self._shas[script]

    async def _evalsha(self, call: ScriptCall[Any], *, reload: bool = False) -> Any:
        sha = await self._sha(call.script, reload=reload)
        [reply] = await self._send([self._evalsha_command(sha, call)])
        if reload and self._cluster and isinstance(reply, _NoScript):
            # Still no script after loading them on every master the client knows: the slot's
            # master is a replica that took over since (a failover under way). A moment later
            # it is known and loaded: a 503 with Retry-After, like the failover's other errors.
            raise redis.exceptions.TryAgainError("the slot's new master has no scripts yet")
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def run(self, op: Op[T]) -> T:
        if isinstance(op, ScriptCall):
            try:
                reply = await self._evalsha(op)
            except _NoScript:
                reply = await self._evalsha(op, reload=True)
            return op.parse(reply)
        if isinstance(op, Commands):
            replies = await self._send(op.commands)
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
            return op.parse(replies)
        return op.combine(await self._run_batch(op))

    async def run_then(self, call: ScriptCall[T], after: Commands[U]) -> tuple[T, U | RedisFailure]:
        """A script call and, in the same round trip, commands that follow it *whatever it
        answers*: they run even when the script refuses (whose error is raised once they have).
        For the request path, where each round trip is a large share of a request's cost.

        The script's outcome is the call's: when only the commands failed (on a cluster they may
        sit on another node), their error is returned in their place, not raised, so a script
        that ran is never reported as failed."""
        sha = await self._sha(call.script)
        replies = await self._send([self._evalsha_command(sha, call), *after.commands])
        reply, rest = replies[0], replies[1:]
        failure = next((failed for failed in rest if isinstance(failed, Exception)), None)
        followed: U | RedisFailure
        if failure is None:
            followed = after.parse(rest)
        elif isinstance(failure, RedisFailure):
            followed = failure
        else:
            raise failure
        if isinstance(reply, _NoScript):
            reply = await self._evalsha(call, reload=True)  # it never ran: safe to resend
        elif isinstance(reply, Exception):
            raise reply
        return call.parse(reply), followed

    async def run_pair(
        self, first: ScriptCall[T], second: ScriptCall[U]
    ) -> tuple[T | RucheError | RedisFailure, U | RucheError | RedisFailure]:
        """Two script calls in one round trip, the second run whatever the first answers; each
        outcome is its result, the refusal (a ``RucheError``) its reply parses to, or the Redis
        error it met. Each is handed back on its own: on a cluster the two may sit on two nodes,
        one failing while the other ran, and the caller must undo what the other did."""
        shas = [await self._sha(first.script), await self._sha(second.script)]
        calls: list[ScriptCall[Any]] = [first, second]
        replies = await self._send(
            [self._evalsha_command(sha, call) for sha, call in zip(shas, calls, strict=True)]
        )
        outcomes: list[Any] = []
        for call, reply in zip(calls, replies, strict=True):
            try:
                if isinstance(reply, _NoScript):  # it never ran: safe to send again
                    reply = await self._evalsha(call, reload=True)
                elif isinstance(reply, Exception):
                    raise reply
                outcomes.append(call.parse(reply))
            except (RucheError, *REDIS_FAILURES) as outcome:
                outcomes.append(outcome)
        return outcomes[0], outcomes[1]

    async def _run_batch(self, batch: Batch[Any, Any]) -> list[Any]:
        # One project's calls (bulk creation): one slot, so one pipeline on a cluster too.
        results: dict[int, Any] = {}
        pending = list(range(len(batch.calls)))
        reload = False
        while pending:
            commands = [
                self._evalsha_command(await self._sha(call.script, reload=reload), call)
                for call in (batch.calls[index] for index in pending)
            ]
            if self.batch_mux is not None and not _reads_only(batch):
                replies = await self.batch_mux.execute(commands)
            else:
                replies = await _pipelined(self.client, commands)
            pending, reload = _absorb(batch, pending, replies, results, reload), True
        return [results[i] for i in range(len(batch.calls))]

    async def project_ids(self) -> AsyncIterator[str]:
        async for member in self.client.sscan_iter(self.keys.projects, count=500):
            yield text(member)
