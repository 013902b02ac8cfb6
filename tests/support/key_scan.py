"""Where a piece of text is held anywhere in a Redis server: every key (SCAN), every type read
in full, name and content (strings, hashes, lists, sets, sorted sets with their scores, streams
with every entry's fields and values and their consumer groups' names). On a Redis Cluster
(redis-py's ``RedisCluster``) ``scan_iter`` walks every master, each with its own cursor, and
each key's reads go to the master serving its slot: the same proof holds for the whole cluster
(tests/cluster/test_privacy_on_cluster.py checks that what it finds sits on several masters).

What the erasure and deletion proofs use: after erasing a volunteer, no key holds their id or
display name; after deleting a project, no key holds its id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import redis

__all__ = ["holding", "key_texts"]


def _s(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def key_texts(client: redis.Redis, key: bytes) -> Iterator[str]:
    """The key's name, then every piece of text its value holds."""
    yield _s(key)
    kind = _s(client.type(key))
    if kind == "string":
        yield _s(client.get(key))
    elif kind == "hash":
        for field, value in client.hscan_iter(key, count=1000):
            yield _s(field)
            yield _s(value)
    elif kind == "list":
        yield from (_s(v) for v in client.lrange(key, 0, -1))
    elif kind == "set":
        yield from (_s(v) for v in client.sscan_iter(key, count=1000))
    elif kind == "zset":
        for member, score in client.zscan_iter(key, count=1000):
            yield _s(member)
            yield repr(score)
    elif kind == "stream":
        entries: Any = client.xrange(key, "-", "+")
        for entry_id, fields in entries:
            yield _s(entry_id)
            for name, value in fields.items():
                yield _s(name)
                yield _s(value)
        for group in client.xinfo_groups(key):
            yield _s(group["name"])
            for consumer in client.xinfo_consumers(key, group["name"]):
                yield _s(consumer["name"])


def holding(client: redis.Redis, needles: Iterable[str]) -> list[str]:
    """``"<key>: <needle>"`` for every key whose name or content holds one of ``needles``
    (``client`` may decode responses or not)."""
    wanted = [n for n in needles if n]
    found = []
    for key in client.scan_iter(count=1000):
        raw = key if isinstance(key, bytes) else str(key).encode()
        for text in key_texts(client, raw):
            hits = [n for n in wanted if n in text]
            if hits:
                found.append(f"{_s(raw)}: {', '.join(hits)}")
                break
    return found
