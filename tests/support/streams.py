"""A Redis stream read in a test: XRANGE's entries as ``(id, fields)`` strings.

redis-py types an entry's id and fields as bytes or str (it cannot know whether the client
decodes responses) and the reply as maybe None; this reads them as text whatever the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis
from redis.typing import EncodableT, FieldT

from core.board.operations import text

__all__ = ["Entry", "add", "entries", "entry_ids", "read_group"]

Entry = tuple[str, dict[str, str]]


def _entry(entry_id: Any, fields: Mapping[Any, Any] | None) -> Entry:
    return text(entry_id), {text(k): text(v) for k, v in (fields or {}).items()}


def add(client: redis.Redis, key: str, fields: Mapping[str, str | int]) -> str:
    """XADD: the new entry's id."""
    payload: dict[FieldT, EncodableT] = {name: value for name, value in fields.items()}
    return text(client.xadd(key, payload))


def entries(
    client: redis.Redis, key: str, start: str = "-", end: str = "+", count: int | None = None
) -> list[Entry]:
    """The stream's entries from ``start`` to ``end`` (inclusive), oldest first."""
    return [_entry(*entry) for entry in client.xrange(key, start, end, count) or []]


def entry_ids(client: redis.Redis, key: str) -> list[str]:
    """The ids of every entry of the stream, oldest first."""
    return [entry_id for entry_id, _ in entries(client, key)]


def read_group(
    client: redis.Redis, group: str, consumer: str, key: str, count: int, block: int | None = None
) -> list[Entry]:
    """XREADGROUP of new entries (``>``) of one stream for ``consumer``: the entries handed out."""
    # A RESP2 reply, [[stream, entries]] or None; redis-py types it as every protocol's reply.
    reply: Any = client.xreadgroup(group, consumer, {key: ">"}, count=count, block=block)
    return [_entry(*entry) for entry in reply[0][1]] if reply else []
