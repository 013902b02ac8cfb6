"""Retention: what Ruche keeps, for how long, and the sweep that trims the rest.

Kept until the project is deleted (``DELETE /v1/projects/{id}``, core.privacy.projects), or,
for a project with ``retention_days``, until that many days after it closes: tasks' answers,
results, payloads and review decisions (the NGO's cursor feed is never trimmed otherwise, so it
never skips). Each sweep queues the purge of every project whose retention ran out
(:func:`core.privacy.projects.sweep_project_retention`); the scheduler runs it in batches.

Trimmed by :func:`sweep_retention`, which the scheduler runs every
``retention_interval_seconds`` (a lock in Redis lets only one scheduler of several do it):

- a project's event stream (its outbox and audit log) loses events older than
  ``event_retention_days``, but never one that a consumer group has not been handed yet or has
  not acknowledged: the trim point is the oldest of the cut-off, every group's last delivered
  id and every group's oldest pending entry. A stream nobody consumes yet is left whole;
- webhook delivery records and their stored bodies go ``delivery_retention_days`` after they
  were created, once finished (delivered, failed, disabled) and not due again (a replayed
  delivery is kept until it finishes).

Elsewhere, by expiry: idempotency keys (24 h), the stats actor's de-duplication marks (30 days),
and dramatiq's dead-lettered messages (a week, ``workers.broker.DEAD_MESSAGE_TTL_MS``).

Each step is bounded (``batch`` records per organisation per sweep) and idempotent, so a sweep
cut short by a crash is simply finished by the next one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import redis
import structlog

from core.board.operations import text
from core.board.runner import Board
from core.delivery.records import due_member
from core.privacy.projects import sweep_project_retention
from core.settings import Settings

__all__ = [
    "FINISHED_DELIVERY_STATES",
    "RetentionReport",
    "sweep_retention",
    "trim_deliveries",
    "trim_events",
]

log = structlog.get_logger(__name__)

DAY_MS = 86_400_000
FINISHED_DELIVERY_STATES = frozenset({"delivered", "failed", "disabled"})
DELIVERY_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class RetentionReport:
    ran: bool  # False: another scheduler holds the sweep, or it ran less than an interval ago
    events_trimmed: int = 0
    deliveries_removed: int = 0
    purges_queued: int = 0


def _stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


def trim_events(client: redis.Redis, stream: str, cutoff_ms: int) -> int:
    """Trim ``stream`` below ``cutoff_ms``, keeping whatever a consumer group still needs;
    returns how many events went."""
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:
        return 0  # no such stream
    if not groups:
        return 0  # nobody consumes it yet: every event is still to be handled
    floor = (cutoff_ms, 0)
    for group in groups:
        ms, seq = _stream_id(text(group["last-delivered-id"]))
        floor = min(floor, (ms, seq + 1))  # everything up to the last delivered id was handed
        if int(group["pending"]) > 0:
            # Acknowledged meanwhile, maybe: then there is no oldest, and no constraint.
            oldest = client.xpending(stream, text(group["name"]))["min"]
            if oldest is not None:
                floor = min(floor, _stream_id(text(oldest)))
    if floor <= (0, 0):
        return 0
    return int(client.xtrim(stream, minid=f"{floor[0]}-{floor[1]}", approximate=False))


def trim_deliveries(
    client: redis.Redis, board: Board, org_id: str, cutoff_ms: int, batch: int = DELIVERY_BATCH
) -> int:
    """Remove the organisation's finished delivery records created before ``cutoff_ms``
    (at most ``batch`` of them); returns how many went."""
    keys = board.keys
    old = client.zrangebyscore(keys.org_delivery_log(org_id), "-inf", cutoff_ms, 0, batch)
    if not old:
        return 0
    delivery_ids = [text(d) for d in old]
    pipe = client.pipeline(transaction=False)
    for delivery_id in delivery_ids:
        pipe.hget(keys.org_deliveries(org_id), delivery_id)
        pipe.zscore(keys.webhook_due, due_member(org_id, delivery_id))
    replies = pipe.execute()
    finished = []
    for index, delivery_id in enumerate(delivery_ids):
        raw, due = replies[2 * index], replies[2 * index + 1]
        status = json.loads(raw).get("status") if raw else None
        if due is None and (raw is None or status in FINISHED_DELIVERY_STATES):
            finished.append(delivery_id)
    if finished:
        pipe = client.pipeline(transaction=False)
        pipe.hdel(keys.org_deliveries(org_id), *finished)
        pipe.hdel(keys.org_delivery_bodies(org_id), *finished)
        pipe.zrem(keys.org_delivery_log(org_id), *finished)
        pipe.execute()
    return len(finished)


def _project_ids(client: redis.Redis, board: Board) -> Iterator[str]:
    for member in client.sscan_iter(board.keys.projects, count=500):
        yield text(member)


def _org_ids(client: redis.Redis, board: Board, project_ids: Iterable[str]) -> set[str]:
    orgs: set[str] = set()
    for project_id in project_ids:
        raw = client.hget(board.keys.project(project_id).project, "doc")
        org_id = json.loads(raw).get("org_id") if raw else None
        if org_id:
            orgs.add(str(org_id))
    return orgs


def sweep_retention(
    board: Board, settings: Settings, now_ms: int, *, force: bool = False
) -> RetentionReport:
    """One retention sweep (see the module docstring), unless one ran less than
    ``retention_interval_seconds`` ago (``force``: regardless)."""
    client = board.client
    interval_ms = int(settings.retention_interval_seconds * 1000)
    if not force and not client.set(board.keys.retention_lock, now_ms, nx=True, px=interval_ms):
        return RetentionReport(ran=False)
    events_cutoff = now_ms - settings.event_retention_days * DAY_MS
    deliveries_cutoff = now_ms - settings.delivery_retention_days * DAY_MS
    project_ids = list(_project_ids(client, board))
    trimmed = sum(
        trim_events(client, board.keys.project(p).events, events_cutoff) for p in project_ids
    )
    removed = sum(
        trim_deliveries(client, board, org, deliveries_cutoff)
        for org in sorted(_org_ids(client, board, project_ids))
    )
    purges = sweep_project_retention(client, board.keys, now_ms)
    report = RetentionReport(True, trimmed, removed, purges)
    log.info(
        "retention.swept",
        projects=len(project_ids),
        events_trimmed=trimmed,
        deliveries_removed=removed,
        purges_queued=purges,
    )
    return report
