"""The outbox relay: every event of every project stream, handed on at least once.

Board scripts append each event to their project's stream (``P:events``) in the same step that
changes state (the transactional outbox). The relay reads those streams through one consumer
group (``relay``) and gives each entry to a ``dispatch(project_id, event_id, fields)`` callback
(:mod:`workers.routing` turns it into dramatiq messages); it acknowledges (XACK) an entry only
once ``dispatch`` returned. So an event is handed on at least once whatever dies when:

- a relay that dies between dispatch and XACK leaves the entry pending under its consumer name;
  any live relay takes it over with XAUTOCLAIM once it has been idle ``claim_idle_ms`` (10 s by
  default) and dispatches it again — handlers are idempotent;
- a ``dispatch`` that raises (the broker is unreachable) leaves the entry, and those after it in
  the batch, pending; the relay reads its own pending entries again (XREADGROUP from ``0``)
  after a back-off, before any new entry of that project, so a project's events keep their order.

Groups are created from id ``0`` with MKSTREAM: a project whose stream filled up before any
relay looked at it (created while no relay ran, or before this version) has every past event
delivered, and one with no stream yet gets an empty one the first event lands in. Creating from
``$`` would lose whatever was appended between the stream's birth and the group's.

Projects are found in the ``Keys.projects`` set (SSCAN, every ``discover_interval_s``). Each call
names one stream, so one cluster slot: reads, claims and acks are one command per project, sent
down one pipeline per ``chunk`` projects. When a whole round finds nothing, the relay waits for
the next event with one blocking XREADGROUP over the streams of up to ``block_streams`` projects
(``block_s`` at most, then a round again): an event is handed on as soon as it is appended, not
after a sleep, and an idle instance costs a command a second. On a
Redis Cluster one command cannot name streams of several slots: there the relay waits for the
masters' key-event notifications of XADD instead (:mod:`core.events.cluster_wake`), and sleeps,
doubling from ``idle_sleep_min_s`` up to ``idle_sleep_max_s``, when the nodes do not send them.

The stream is also the project's audit log: the relay never deletes entries. Trimming is a later
decision — e.g. ``XTRIM MINID`` below both the group's last-delivered id and the oldest pending
entry, kept for a retention window — not made here.

No dramatiq here (the kernel imports neither FastAPI nor dramatiq): any callable dispatches.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import structlog

from core.board.script_calls import text
from core.events.cluster_wake import ClusterWaker
from core.redis.clients import is_cluster
from core.redis.keys import Keys

__all__ = ["Dispatch", "Relay", "RelayConfig", "RelayCounters", "new_consumer_name"]

log = structlog.get_logger(__name__)

Dispatch = Callable[[str, str, dict[str, str]], None]


@dataclass(frozen=True, slots=True)
class RelayConfig:
    group: str = "relay"
    batch: int = 100  # entries per project per read
    claim_idle_ms: int = 10_000  # a pending entry idle this long is taken over (XAUTOCLAIM)
    claim_interval_s: float | None = None  # None: half of claim_idle_ms
    discover_interval_s: float = 1.0  # how often the project set is read again
    idle_sleep_min_s: float = 0.01
    idle_sleep_max_s: float = 0.25
    retry_max_s: float = 30.0  # longest back-off after a failed dispatch
    forget_consumers_after_ms: int = 3_600_000  # idle consumers with nothing pending
    chunk: int = 100  # projects per pipeline
    block_streams: int = 1_000  # streams one blocking read waits on (idle, one Redis)
    block_s: float = 1.0  # how long it waits (also how soon a stop or a new project is seen)

    def __post_init__(self) -> None:
        if self.batch < 1 or self.chunk < 1 or self.claim_idle_ms < 1:
            raise ValueError("batch, chunk and claim_idle_ms must be positive")

    @property
    def claim_every_s(self) -> float:
        if self.claim_interval_s is not None:
            return self.claim_interval_s
        return self.claim_idle_ms / 2000


@dataclass(slots=True)
class RelayCounters:
    dispatched: int = 0  # dispatch calls that returned
    claimed: int = 0  # entries taken over from an idle consumer (XAUTOCLAIM)
    failed: int = 0  # dispatch calls that raised


@dataclass(slots=True)
class _Project:
    stream: str
    backlog: bool = False  # our own pending list may hold entries to dispatch again
    failures: int = 0
    retry_at: float = 0.0
    claim_cursor: str = "0-0"


def new_consumer_name() -> str:
    """A consumer name unique to this process: a dead relay's entries stay recognisable."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Relay:
    """Reads every project's event stream through the consumer group and dispatches it."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        dispatch: Dispatch,
        *,
        consumer: str | None = None,
        config: RelayConfig | None = None,
    ) -> None:
        self.client = client
        self.keys = keys
        self.dispatch = dispatch
        self.consumer = consumer or new_consumer_name()
        self.config = config or RelayConfig()
        self.counters = RelayCounters()
        self._projects: dict[str, _Project] = {}
        self._next_discovery = 0.0
        self._next_claim = 0.0
        self._next_forget = 0.0
        self._cluster = is_cluster(client)
        self._waker = ClusterWaker(client) if self._cluster else None

    # -- one round ---------------------------------------------------------------------------

    def step(self) -> int:
        """One round over every project: new entries, then (when due) idle pending ones.
        Returns how many entries were dispatched."""
        now = time.monotonic()
        if now >= self._next_discovery:
            self.discover()
            self._next_discovery = now + self.config.discover_interval_s
        due = [pid for pid, state in self._projects.items() if state.retry_at <= now]
        handled = 0
        for chunk in _chunks(due, self.config.chunk):
            handled += self._read(chunk)
        if now >= self._next_claim:
            self._next_claim = now + self.config.claim_every_s
            for chunk in _chunks(due, self.config.chunk):
                handled += self._claim(chunk)
        if now >= self._next_forget:
            self._next_forget = now + self.config.forget_consumers_after_ms / 4000
            self._forget_idle_consumers(due)
        return handled

    @property
    def waker(self) -> ClusterWaker | None:
        """On a cluster: what wakes this relay when an event is appended."""
        return self._waker

    @property
    def has_backlog(self) -> bool:
        """Whether some events this relay read wait for a dispatch to succeed."""
        return any(state.backlog for state in self._projects.values())

    def discover(self) -> list[str]:
        """Read the project set; create the group on projects seen for the first time, and
        forget projects that left it (being deleted, core.privacy.projects: reading their
        stream again would create it again)."""
        found = []
        listed = set()
        for member in self.client.sscan_iter(self.keys.projects, count=500):
            project_id = text(member)
            listed.add(project_id)
            if project_id not in self._projects:
                state = _Project(self.keys.project(project_id).events)
                self._ensure_group(state.stream)
                self._projects[project_id] = state
                found.append(project_id)
        for project_id in set(self._projects) - listed:
            del self._projects[project_id]
        if self._waker is not None:
            self._waker.refresh()  # the masters of now, after a failover too
        return found

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set; a Redis failure is logged and retried with back-off."""
        sleep = self.config.idle_sleep_min_s
        log.info("relay.started", consumer=self.consumer, group=self.config.group)
        while not stop.is_set():
            try:
                handled = self.step()
            except (redis.RedisError, OSError) as error:
                log.warning("relay.round_failed", error=str(error))
                handled = 0
                sleep = max(sleep, 0.5)
            if handled:
                sleep = self.config.idle_sleep_min_s
                continue
            try:
                if self._wait_for_events():
                    continue
            except (redis.RedisError, OSError) as error:
                log.warning("relay.wait_failed", error=str(error))
            stop.wait(sleep)
            sleep = min(sleep * 2, max(self.config.idle_sleep_max_s, sleep))
        if self._waker is not None:
            self._waker.close()
        log.info("relay.stopped", consumer=self.consumer, **self._counts())

    def _wait_for_events(self) -> bool:
        """Block until an event is appended to a quiet project's stream (``block_s`` at most)
        and hand on what came; False when it cannot block (no project; a cluster whose nodes do
        not notify XADD). On a cluster: wait for a master's notification, then a round."""
        if self._waker is not None:
            if not self._waker.active:
                return False
            self._waker.wait(self.config.block_s)
            return True
        now = time.monotonic()
        quiet = [
            pid
            for pid, state in self._projects.items()
            if not state.backlog and state.retry_at <= now
        ][: self.config.block_streams]
        if not quiet:
            return False
        by_stream = {self._projects[pid].stream: pid for pid in quiet}
        try:
            reply: Any = self.client.xreadgroup(
                self.config.group,
                self.consumer,
                dict.fromkeys(by_stream, ">"),
                count=self.config.batch,
                block=max(1, int(self.config.block_s * 1000)),
            )
        except redis.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self._next_discovery = 0.0  # a stream deleted under us: its group again next round
            return False
        for stream, raw in reply or []:
            project_id = by_stream.get(text(stream))
            if project_id is not None:
                self._deliver(project_id, self._projects[project_id], list(_pairs(raw)))
        return True

    # -- reading, claiming, acknowledging ----------------------------------------------------

    def _ensure_group(self, stream: str) -> None:
        try:
            self.client.xgroup_create(stream, self.config.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def _read(self, project_ids: Sequence[str]) -> int:
        pipe = self.client.pipeline(transaction=False)
        for project_id in project_ids:
            state = self._projects[project_id]
            start = "0" if state.backlog else ">"
            pipe.xreadgroup(
                self.config.group,
                self.consumer,
                {state.stream: start},
                count=self.config.batch,
            )
        handled = 0
        for project_id, reply in zip(project_ids, pipe.execute(raise_on_error=False), strict=True):
            state = self._projects[project_id]
            if _missing_group(reply):  # the stream was deleted under us (FLUSHALL, tests)
                self._ensure_group(state.stream)
                continue
            if isinstance(reply, Exception):
                raise reply
            entries = _read_entries(reply)
            done, ok = self._deliver(project_id, state, entries)
            handled += done
            if state.backlog and ok and len(entries) < self.config.batch:
                state.backlog = False  # our pending list is drained
        return handled

    def _claim(self, project_ids: Sequence[str]) -> int:
        pipe = self.client.pipeline(transaction=False)
        for project_id in project_ids:
            state = self._projects[project_id]
            pipe.xautoclaim(
                state.stream,
                self.config.group,
                self.consumer,
                self.config.claim_idle_ms,
                start_id=state.claim_cursor,
                count=self.config.batch,
            )
        handled = 0
        for project_id, reply in zip(project_ids, pipe.execute(raise_on_error=False), strict=True):
            state = self._projects[project_id]
            if _missing_group(reply):
                self._ensure_group(state.stream)
                continue
            if isinstance(reply, Exception):
                raise reply
            state.claim_cursor = text(reply[0])
            entries = list(_pairs(reply[1]))
            if entries:
                self.counters.claimed += len(entries)
                log.info("relay.claimed", project_id=project_id, entries=len(entries))
            done, _ = self._deliver(project_id, state, entries)
            handled += done
        return handled

    def _deliver(
        self, project_id: str, state: _Project, entries: Sequence[tuple[str, dict[str, str] | None]]
    ) -> tuple[int, bool]:
        """Dispatch entries in order, stopping at the first failure; XACK those dispatched."""
        acked: list[str] = []
        ok = True
        for event_id, fields in entries:
            if fields is not None:  # None: the entry was deleted from the stream; nothing to do
                try:
                    self.dispatch(project_id, event_id, fields)
                except Exception as error:
                    ok = False
                    self._failed(project_id, state, event_id, error)
                    break
                self.counters.dispatched += 1
            acked.append(event_id)
        if acked:
            self.client.xack(state.stream, self.config.group, *acked)
        if ok:
            state.failures = 0
        return len(acked), ok

    def _failed(self, project_id: str, state: _Project, event_id: str, error: Exception) -> None:
        self.counters.failed += 1
        state.backlog = True
        state.failures += 1
        delay = min(self.config.retry_max_s, 0.1 * 2 ** min(state.failures, 16))
        state.retry_at = time.monotonic() + delay
        log.warning(
            "relay.dispatch_failed",
            project_id=project_id,
            event_id=event_id,
            error=type(error).__name__,
            detail=str(error)[:200],
            retry_in_s=round(delay, 2),
        )

    def _forget_idle_consumers(self, project_ids: Iterable[str]) -> None:
        """Drop consumers that have nothing pending and were idle for long (dead relays whose
        entries were taken over): XINFO CONSUMERS would otherwise list them forever."""
        for project_id in project_ids:
            stream = self._projects[project_id].stream
            try:
                consumers = self.client.xinfo_consumers(stream, self.config.group)
            except redis.ResponseError:
                continue
            for consumer in consumers:
                name = text(consumer["name"])
                idle = int(consumer["idle"])
                if (
                    name != self.consumer
                    and int(consumer["pending"]) == 0
                    and idle > self.config.forget_consumers_after_ms
                ):
                    self.client.xgroup_delconsumer(stream, self.config.group, name)

    def _counts(self) -> dict[str, int]:
        c = self.counters
        return {"dispatched": c.dispatched, "claimed": c.claimed, "failed": c.failed}


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _missing_group(reply: Any) -> bool:
    return isinstance(reply, redis.ResponseError) and "NOGROUP" in str(reply)


def _read_entries(reply: Any) -> list[tuple[str, dict[str, str] | None]]:
    """XREADGROUP's reply for one stream (RESP2: ``[[stream, entries]]``, or None)."""
    return list(_pairs(reply[0][1])) if reply else []


def _pairs(raw: Iterable[Any]) -> Iterator[tuple[str, dict[str, str] | None]]:
    for entry in raw:
        event_id, fields = entry[0], entry[1]
        if fields is None:
            yield text(event_id), None
        else:
            yield text(event_id), {text(k): text(v) for k, v in dict(fields).items()}
