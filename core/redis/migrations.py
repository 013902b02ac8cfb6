"""Moving data written under an older key layout to the current one (``ruche migrate``).

One migration so far: a volunteer's keys gained the hash tag ``{v:<volunteer-id>}``
(``G:vol:<id>`` became ``G:vol:{v:<id>}``, ``G:vol:<id>:live`` ``G:vol:{v:<id>}:live``, and so
on), so that on Redis Cluster they share one slot. Each old key is copied whole under its new
name (``DUMP``/``RESTORE``, its time to live kept; the two names may sit on two nodes, where
``RENAME`` cannot go) and then deleted.

Safe to repeat: a key already moved is not found again. Run it with the API and the workers
stopped (a key written between the copy and the delete would be lost). Should a key exist under
both names (new code ran before the migration), the old one's content is added to the new one
where that merges without loss (hash fields and set or sorted-set members the new one lacks);
any other such pair is left as it is and counted in ``conflicts``, for the operator to look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from core.redis.keys import Keys

__all__ = ["Migrated", "migrate_volunteer_keys"]

_SCAN_COUNT = 500


@dataclass(frozen=True)
class Migrated:
    moved: int  # keys copied under their new name and deleted
    merged: int  # keys whose content was added to an existing new key, then deleted
    conflicts: int  # keys left in place: both names hold data that cannot merge


def migrate_volunteer_keys(client: redis.Redis, keys: Keys) -> Migrated:
    """Move every volunteer key of the older layout to its tagged name (see the module)."""
    old_prefix = f"{keys.prefix}vol:"
    moved = merged = conflicts = 0
    # A cluster client scans every master; a one-node client its one server.
    for raw in list(client.scan_iter(match=f"{old_prefix}*", count=_SCAN_COUNT)):
        old = raw.decode() if isinstance(raw, bytes) else str(raw)
        rest = old[len(old_prefix) :]
        if rest.startswith("{"):
            continue  # the new layout
        volunteer_id, _, suffix = rest.partition(":")
        new = keys.volunteer(volunteer_id) + (f":{suffix}" if suffix else "")
        outcome = _move(client, old, new)
        moved += outcome == "moved"
        merged += outcome == "merged"
        conflicts += outcome == "conflict"
    return Migrated(moved, merged, conflicts)


def _move(client: redis.Redis, old: str, new: str) -> str:
    dumped: Any = client.dump(old)
    if dumped is None:
        return "gone"  # deleted meanwhile
    ttl_ms = int(client.pttl(old))
    try:
        client.restore(new, max(ttl_ms, 0), dumped)
    except redis.ResponseError as error:
        if "BUSYKEY" not in str(error):
            raise
        if not _merge(client, old, new):
            return "conflict"
        client.delete(old)
        return "merged"
    client.delete(old)
    return "moved"


def _merge(client: redis.Redis, old: str, new: str) -> bool:
    kind = str(client.type(old))
    if kind != str(client.type(new)):
        return False
    if kind == "hash":
        for field, value in client.hgetall(old).items():
            client.hsetnx(new, field, value)
    elif kind == "set":
        members = client.smembers(old)
        if members:
            client.sadd(new, *members)
    elif kind == "zset":
        pairs: Any = client.zrange(old, 0, -1, withscores=True)
        if pairs:
            client.zadd(new, {str(member): float(score) for member, score in pairs}, nx=True)
    else:
        return False
    return True
