"""A whole store's logical content, to prove a call wrote nothing.

DUMP compares bytes, and a hash past its compact encoding is a hash table whose DUMP follows the
table's iteration order, which Redis's incremental rehashing changes on plain reads: equal
content, different bytes. So this reads each key by its type instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

__all__ = ["store_contents"]


def _content(raw: redis.Redis, key: bytes) -> Any:
    kind = raw.type(key)
    if kind == b"hash":
        return sorted(raw.hgetall(key).items())
    if kind == b"zset":
        return raw.zrange(key, 0, -1, withscores=True)
    if kind == b"set":
        return sorted(raw.smembers(key))
    if kind == b"list":
        return raw.lrange(key, 0, -1)
    if kind == b"stream":
        info = raw.xinfo_stream(key)
        groups = [(g["name"], g["last-delivered-id"], g["pending"]) for g in raw.xinfo_groups(key)]
        return (raw.xrange(key), info["last-generated-id"], groups)
    return raw.get(key)


def store_contents(
    raw: redis.Redis, keep: Callable[[bytes], bool] = lambda key: True
) -> dict[bytes, tuple[bytes | str, Any, bool]]:
    """Every kept key with its type, its content and whether it expires (``raw``: a client
    that does not decode responses)."""
    names = sorted(key if isinstance(key, bytes) else key.encode() for key in raw.keys("*"))
    return {
        key: (raw.type(key), _content(raw, key), raw.pttl(key) > 0) for key in names if keep(key)
    }
