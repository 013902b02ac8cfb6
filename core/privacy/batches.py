"""Bounded steps the deletion and erasure jobs are made of, each one batch and idempotent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis

from core.board.script_calls import text
from core.privacy.jobs import JobContext, Step
from core.redis.clients import is_cluster

__all__ = [
    "consumed_floor",
    "delete_each",
    "drain_families",
    "drain_key",
    "filter_stream",
    "glob_escape",
    "hash_page",
    "scan_page",
    "stream_id",
]


def stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


def drain_key(client: redis.Redis, key: str, batch: int) -> bool:
    """Remove up to ``batch`` elements of ``key`` (any type), the key itself once empty;
    True when the key is gone. Never one command over a whole large value."""
    kind = text(client.type(key))
    if kind == "none":
        return True
    if kind == "hash":
        cursor, found = 0, list[Any]()
        while len(found) < batch:
            cursor, page = client.hscan(key, cursor, count=batch)
            found += list(page)
            if cursor == 0:
                break
        if found:
            client.hdel(key, *found[:batch])
    elif kind == "set":
        client.spop(key, batch)
    elif kind == "zset":
        client.zremrangebyrank(key, 0, batch - 1)
    elif kind == "list":
        client.ltrim(key, batch, -1)
    elif kind == "stream":
        entries: Any = client.xrange(key, "-", "+", count=batch)
        if entries:
            client.xdel(key, *[entry_id for entry_id, _ in entries])
        else:
            client.delete(key)  # empty, maybe holding consumer groups
    else:
        client.delete(key)  # a string: one value
    if kind in ("hash", "set", "zset", "list") and not client.exists(key):
        return True
    return not client.exists(key)


def consumed_floor(client: redis.Redis, stream: str) -> tuple[int, int]:
    """Entries with ids below this were handed to every consumer group of ``stream`` and
    acknowledged: removing them loses no event. (0, 0) when the stream has no group yet (then
    nothing has been handled) or does not exist."""
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:
        return (0, 0)
    if not groups:
        return (0, 0)
    floor = (2**64, 0)
    for group in groups:
        ms, seq = stream_id(text(group["last-delivered-id"]))
        floor = min(floor, (ms, seq + 1))
        if int(group["pending"]) > 0:
            oldest = client.xpending(stream, text(group["name"]))["min"]
            if oldest is not None:
                floor = min(floor, stream_id(text(oldest)))
    return floor


def filter_stream(
    client: redis.Redis,
    stream: str,
    state: dict[str, str],
    batch: int,
    matches: Callable[[dict[str, str]], bool],
    *,
    consumed_only: bool,
) -> tuple[bool, int]:
    """One page of ``stream`` after the cursor in ``state["c_stream"]``: entries ``matches``
    accepts are deleted (XDEL), only those already consumed when ``consumed_only``. Returns
    (reached the end, matching entries left because not yet consumed); the cursor moves on."""
    after = state.get("c_stream", "-")
    start = after if after == "-" else f"({after}"
    entries: Any = client.xrange(stream, start, "+", count=batch)
    floor = consumed_floor(client, stream) if consumed_only and entries else (2**64, 0)
    doomed: list[Any] = []
    left = 0
    for entry_id, raw in entries:
        fields = {text(k): text(v) for k, v in raw.items()}
        if matches(fields):
            if stream_id(text(entry_id)) < floor:
                doomed.append(entry_id)
            else:
                left += 1
    if doomed:
        client.xdel(stream, *doomed)
    if entries:
        state["c_stream"] = text(entries[-1][0])
    state["c_left"] = str(int(state.get("c_left", "0")) + left)
    return len(entries) < batch, int(state["c_left"])


def hash_page(
    client: redis.Redis, key: str, state: dict[str, str], batch: int, match: str | None = None
) -> tuple[dict[str, str], bool]:
    """One HSCAN page of ``key`` from the cursor in ``state["c_scan"]`` (moved on); returns the
    page and whether the scan is over."""
    cursor = int(state.get("c_scan", "0"))
    cursor, page = client.hscan(key, cursor, match=match, count=batch)
    state["c_scan"] = str(cursor)
    fields: Any = page
    return {text(k): text(v) for k, v in fields.items()}, cursor == 0


def json_field(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def drain_families(ctx: JobContext, state: dict[str, str], families: Sequence[str]) -> Step:
    """Empty ``families`` one after the other, one batch per call (cursor ``c_key``)."""
    index = int(state.get("c_key", "0"))
    while index < len(families):
        if drain_key(ctx.client, families[index], ctx.batch):
            index += 1
            state["c_key"] = str(index)
            continue
        return Step.MORE
    return Step.DONE


def glob_escape(value: str) -> str:
    """``value`` matched literally in a SCAN/HSCAN pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in value)


def delete_each(client: redis.Redis, keys: Iterable[Any]) -> None:
    """Delete ``keys``, one DEL each down one pipeline: keys found by a SCAN sit in any slot, and
    a DEL naming several slots is refused on a cluster."""
    doomed = list(keys)
    if doomed:
        pipe = client.pipeline(transaction=False)
        for key in doomed:
            pipe.delete(key)
        pipe.execute()


def scan_page(
    client: redis.Redis,
    state: dict[str, str],
    match: str,
    batch: int,
    *,
    type_: str | None = None,
) -> tuple[list[str], bool]:
    """One SCAN page of the keys matching ``match``; returns them and whether the scan is over.

    On one server the cursor is ``state["c_scan"]``. On a cluster each master holds its own keys
    and its own cursor: the masters are scanned one after the other, ``state["c_nodes"]`` keeping
    the masters seen at the start and the cursor of each one not finished. When the masters
    changed meanwhile (a failover: a replica, with the same keys but not the same cursor, took
    over), the scan starts again on every master: every step of a job is safe to repeat."""
    if not is_cluster(client):
        cursor = int(state.get("c_scan", "0"))
        cursor, found = client.scan(cursor, match=match, count=batch, _type=type_)
        state["c_scan"] = str(cursor)
        return [text(k) for k in found], cursor == 0
    cluster: Any = client  # redis-py's cluster client: its node methods are untyped
    masters = sorted(node.name for node in cluster.get_primaries())
    saved: dict[str, Any] = json.loads(state.get("c_nodes") or "{}")
    if saved.get("masters") != masters:
        saved = {"masters": masters, "left": {name: 0 for name in masters}}
    left: dict[str, int] = saved["left"]
    if not left:
        return [], True
    name = min(left)
    cursors, found = cluster.scan(
        left[name], match=match, count=batch, _type=type_,
        target_nodes=cluster.get_node(node_name=name),
    )  # fmt: skip
    cursor = int(cursors[name])
    if cursor == 0:
        del left[name]
    else:
        left[name] = cursor
    state["c_nodes"] = json.dumps(saved, separators=(",", ":"))
    return [text(k) for k in found], not left
