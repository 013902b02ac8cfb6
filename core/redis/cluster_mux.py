"""The API's multiplexed connection on a Redis Cluster: one :class:`~core.redis.mux.MuxRedis` per
master, and the slot map, so that the hot path keeps the mux's CPU per call on a cluster.

Each command goes to the master serving its key's slot (an EVALSHA's first key; a keyless
command goes with the first command that has a key); the commands of one node share that node's
connection and its writes, those of several nodes are sent at once. Replies come back in order,
an error in the place of each command it hit (a node unreachable: ``ConnectionError``; a slot
served by nobody: ``ClusterDownError``), never raised for the whole request: the two sides of a
claim or a submit are handled each on its own (:mod:`core.board.claims`).

The slot map is read with ``CLUSTER SLOTS`` from any node that answers (the URL's, those of
``RUCHE_REDIS_CLUSTER_NODES``, the masters known so far), at the first request and again after a
``MOVED`` reply or a node that could not be reached (at most every ``REFRESH_EVERY_S``): after a
failover the promoted replica takes the dead master's slots. A command answered ``MOVED`` did not
run, so it is sent again, once, to the node the reply names; one answered ``ASK`` (a slot being
migrated) is sent there after ``ASKING``. A command whose node could not be reached is not sent
again: it may or may not have run, and the caller answers 503.

Redis Cluster replicates asynchronously: a master killed just after a write may take it along,
and the replica that takes over never saw it (a claim answered 201 whose lease is gone, an
answer acknowledged and lost). So each node's share of a request ends with ``WAIT replicas ms``
on the same connection (``RUCHE_REDIS_CLUSTER_WAIT_REPLICAS``, ``RUCHE_REDIS_CLUSTER_WAIT_MS``):
the reply is given only once the replica holds the writes, and the failover elects the replica
with the most data. A request of reads only skips it. When a master's replicas do not answer in
time (one down, or lagging), the write is answered anyway, a warning is logged, and that master
is not waited on for ``UNWAITED_FOR_S``: the connection is shared, and a ``WAIT`` that times out
would hold every request behind it. A ``WAIT`` answered "a replica" (an old master started again
took the writes before it learnt that its replica took over, and will drop them) fails the
node's commands as if it could not be reached: the caller answers 503 and the retry reaches the
new master.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog
from redis.crc import key_slot
from redis.exceptions import AskError, ClusterDownError, MovedError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.redis.mux import Arg, MuxRedis

__all__ = [
    "READ_COMMANDS",
    "REFRESH_EVERY_S",
    "UNWAITED_FOR_S",
    "ClusterMux",
    "routing_key",
    "wait_says_replica",
]

REFRESH_EVERY_S = 0.25
UNWAITED_FOR_S = 5.0
#: Commands that write nothing: a request made of these alone does not wait for replicas.
READ_COMMANDS = frozenset(
    {"CLUSTER", "TIME", "PING", "ASKING", "GET", "MGET", "HGET", "HMGET", "HGETALL", "HLEN",
     "EXISTS", "TTL", "PTTL", "TYPE", "SCARD", "SISMEMBER", "SMISMEMBER", "SMEMBERS", "ZCARD",
     "ZSCORE", "ZMSCORE", "ZRANGE", "ZRANGEBYSCORE", "ZCOUNT", "LLEN", "LRANGE", "XLEN",
     "XRANGE", "XREVRANGE", "EVALSHA_RO", "EVAL_RO"}
)  # fmt: skip
_log = structlog.get_logger(__name__)
_SLOTS = 16384
Node = tuple[str, int]


def wait_says_replica(acknowledged: Any) -> bool:
    """Whether a ``WAIT`` reply says the node is a replica (``WAIT cannot be used with replica
    instances``)."""
    return isinstance(acknowledged, ResponseError) and "replica" in str(acknowledged).lower()


def routing_key(command: Sequence[Arg]) -> str | None:
    """The key that routes a command on a cluster (EVALSHA: its first key); None: keyless."""
    name = str(command[0]).upper()
    if name in ("EVALSHA", "EVAL"):
        return str(command[3]) if int(command[2]) > 0 else None
    if name in ("TIME", "PING", "ASKING") or len(command) < 2:
        return None
    return str(command[1])


class ClusterMux:
    """A multiplexed connection per master of a Redis Cluster (see the module)."""

    def __init__(
        self,
        url: str,
        more_nodes: Sequence[Node] = (),
        *,
        timeout_s: float = 2.0,
        connect_timeout_s: float = 2.0,
        wait_replicas: int = 0,
        wait_ms: int = 500,
    ) -> None:
        self._parts = urlsplit(url)
        self._startup: list[Node] = [
            (self._parts.hostname or "127.0.0.1", self._parts.port or 6379)
        ]
        self._startup += [node for node in more_nodes if node not in self._startup]
        self._wait_replicas = wait_replicas
        self._wait_ms = wait_ms
        # A WAIT holds its connection up to wait_ms: the replies of a request may take that long.
        self._timeout_s = timeout_s + (wait_ms / 1000 if wait_replicas else 0)
        self._unwaited_until: dict[Node, float] = {}
        self._connect_timeout_s = connect_timeout_s
        self._slots: list[Node | None] = [None] * _SLOTS
        self._muxes: dict[Node, MuxRedis] = {}
        self._refreshing: asyncio.Task[None] | None = None
        self._refreshed_at = -REFRESH_EVERY_S
        self._mapped = False

    def _mux(self, node: Node) -> MuxRedis:
        mux = self._muxes.get(node)
        if mux is None:
            host, port = node
            userinfo = self._parts.netloc.rpartition("@")[0]
            where = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
            url = urlunsplit((self._parts.scheme, where, "/0", self._parts.query, ""))
            mux = MuxRedis(
                url, timeout_s=self._timeout_s, connect_timeout_s=self._connect_timeout_s
            )
            self._muxes[node] = mux
        return mux

    # -- the slot map -----------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the slot map again (one attempt at a time; callers share it)."""
        task = self._refreshing
        if task is None or task.done():
            task = self._refreshing = asyncio.ensure_future(self._read_slots())
        await asyncio.shield(task)

    def _refresh_soon(self) -> None:
        now = time.monotonic()
        if now - self._refreshed_at >= REFRESH_EVERY_S:
            self._refreshed_at = now
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.ensure_future(self._read_slots())

    async def _read_slots(self) -> None:
        known = [node for node in dict.fromkeys(self._slots) if node is not None]
        last: Exception | None = None
        for node in [*known, *(n for n in self._startup if n not in known)]:
            try:
                [reply] = await self._mux(node).execute([("CLUSTER", "SLOTS")])
            except (RedisConnectionError, RedisTimeoutError) as error:
                last = error
                continue
            if isinstance(reply, Exception) or not reply:
                last = reply if isinstance(reply, Exception) else None
                continue
            table: list[Node | None] = [None] * _SLOTS
            for served in reply:
                start, end, master = int(served[0]), int(served[1]), served[2]
                host = str(master[0]) or node[0]  # an empty host: the node we asked
                table[start : end + 1] = [(host, int(master[1]))] * (end - start + 1)
            self._slots = table
            self._mapped = True
            return
        if not self._mapped:
            raise RedisConnectionError(f"no node of the Redis Cluster answered: {last}")

    # -- requests ---------------------------------------------------------------------------

    async def execute(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """The commands' replies in order, an error in the place of each command it hit."""
        if not commands:
            return []
        if not self._mapped:
            await self.refresh()
        groups: dict[Node | None, list[int]] = {}
        keyless: list[int] = []
        first_node: Node | None = None
        for index, command in enumerate(commands):
            key = routing_key(command)
            if key is None:
                keyless.append(index)
                continue
            node = self._slots[key_slot(key.encode())]
            first_node = node if first_node is None and not groups else first_node
            groups.setdefault(node, []).append(index)
        if keyless:
            target = first_node if groups else next(iter(self._muxes), self._startup[0])
            groups.setdefault(target, [])[:0] = keyless
        if len(groups) == 1:  # one node, the usual case: no task to gather
            [(node, indices)] = groups.items()
            parts = [await self._send(node, [commands[i] for i in indices])]
        else:
            sent = [self._send(node, [commands[i] for i in ids]) for node, ids in groups.items()]
            parts = await asyncio.gather(*sent)
        replies: list[Any] = [None] * len(commands)
        for indices, part in zip(groups.values(), parts, strict=True):
            for position, index in enumerate(indices):
                replies[index] = part[position]
        for index, reply in enumerate(replies):
            if isinstance(reply, AskError):  # MovedError too: neither ran
                replies[index] = await self._redirect(commands[index], reply)
        return replies

    async def _send(self, node: Node | None, commands: list[Sequence[Arg]]) -> list[Any]:
        if node is None:  # a slot nobody serves (its master gone, no replica took over)
            self._refresh_soon()
            return [ClusterDownError("Hash slot not served")] * len(commands)
        wait = self._waits_for(node, commands)
        try:
            if not wait:
                return await self._mux(node).execute(commands)
            replies = await self._mux(node).execute([*commands, wait])
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._refresh_soon()  # maybe a failover: its slots moved
            return [error] * len(commands)
        acknowledged = replies.pop()
        if wait_says_replica(acknowledged):
            # A replica now, though it took the commands as a master: an old master started
            # again takes writes until it learns that its replica took over, then drops them
            # when it follows the new master. Whatever ran there is lost: answer as for a node
            # that could not be reached (the caller's retry finds the new master). A command
            # it redirected (MOVED) did not run and goes on to the right node.
            self._refresh_soon()
            _log.warning("redis.cluster_writes_to_a_replica", node=f"{node[0]}:{node[1]}")
            lost = RedisConnectionError(f"{node[0]}:{node[1]} is a replica: its writes are lost")
            return [reply if isinstance(reply, AskError) else lost for reply in replies]
        if isinstance(acknowledged, Exception) or int(acknowledged) < self._wait_replicas:
            self._unwaited_until[node] = time.monotonic() + UNWAITED_FOR_S
            _log.warning(
                "redis.cluster_replicas_behind",
                node=f"{node[0]}:{node[1]}",
                acknowledged=str(acknowledged),
                wanted=self._wait_replicas,
                unwaited_for_s=UNWAITED_FOR_S,
            )
        return replies

    def _waits_for(self, node: Node, commands: list[Sequence[Arg]]) -> tuple[Arg, ...] | None:
        """The ``WAIT`` that ends this node's share of a request, or None: waiting is off, the
        commands only read, or the node's replicas were late a moment ago."""
        if not self._wait_replicas:
            return None
        if all(str(command[0]).upper() in READ_COMMANDS for command in commands):
            return None
        until = self._unwaited_until.get(node)
        if until is not None:
            if time.monotonic() < until:
                return None
            del self._unwaited_until[node]
        return ("WAIT", self._wait_replicas, self._wait_ms)

    async def _redirect(self, command: Sequence[Arg], redirect: AskError) -> Any:
        node = (str(redirect.host), int(redirect.port))
        if isinstance(redirect, MovedError):
            self._refresh_soon()
            replies = await self._send(node, [command])
        else:
            replies = (await self._send(node, [("ASKING",), command]))[1:]
        return replies[0]

    async def aclose(self) -> None:
        muxes, self._muxes = self._muxes, {}
        for mux in muxes.values():
            await mux.aclose()
