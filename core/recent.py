"""A small in-process memory of recent reads: bounded, each entry good for a time.

For reads on the API's hot path whose answer rarely changes and whose staleness is bounded and
documented where each is used (``core.accounts.store``). Not shared between processes: each API
process keeps its own, and forgets an entry at once when it writes the thing itself.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Recent"]

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        read_at, value = entry
        if self.clock() - read_at >= self.ttl_seconds:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V, read_at: float | None = None) -> None:
        """Remember ``value``, read at ``read_at`` (now by default: pass the time taken before
        the read, so a write racing the read is never hidden for longer than the TTL)."""
        self._entries[key] = (self.clock() if read_at is None else read_at, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def now(self) -> float:
        return self.clock()
