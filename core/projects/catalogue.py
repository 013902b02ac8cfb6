"""A short-lived, in-process copy of what the claim path reads about projects.

Every claim needs the claim index (which projects are active, for whom) and the claimed project's
instructions. Reading them from Redis on each claim cost two round trips and a parse of the whole
index, a large share of a claim's time (``bench/api.py``). Both change rarely (an NGO creating,
pausing or editing a project), so the API keeps them for at most ``ttl_seconds``:

- a change made through this process (:class:`core.projects.store.Projects` bumps
  :func:`core.projects.index.index_generation` after each write) is seen by the next claim;
- a change made by another API process is announced to every one (:mod:`core.projects.changes`,
  pub/sub), which bumps the generation too: seen by the next claim;
- a change the announcement missed (a process not subscribed at that moment) or that is not
  announced (the deadline sweeper closing a project) is seen within ``ttl_seconds``.

Staleness is harmless for correctness: the claim script re-reads the project's state and refuses
a paused or closed project (``{'empty', 'paused'}``), so a stale entry only costs one refused try,
and a project created elsewhere reaches volunteers a second later. Instructions shown with an
assignment may be up to ``ttl_seconds`` old.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio

from core.board.runner import AsyncBoard
from core.projects.index import claimable_projects, index_generation
from core.projects.models import ProjectSummary
from core.redis.keys import Keys

__all__ = ["DEFAULT_TTL_SECONDS", "MAX_CACHED_DOCUMENTS", "ProjectCatalogue"]

DEFAULT_TTL_SECONDS = 1.0
# Far more than the active projects of one deployment; a bound, not a tuning knob.
MAX_CACHED_DOCUMENTS = 10_000


class ProjectCatalogue:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        keys: Keys,
        board: AsyncBoard,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.keys = keys
        self.board = board
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._index: tuple[float, int, list[ProjectSummary]] | None = None
        self._documents: dict[str, tuple[float, int, dict[str, Any]]] = {}

    def _fresh(self, read_at: float, generation: int) -> bool:
        return generation == index_generation() and self.clock() - read_at < self.ttl_seconds

    async def claimable(
        self, client: redis.asyncio.Redis | None = None, keys: Keys | None = None
    ) -> Sequence[ProjectSummary]:
        """The claim index as :func:`core.projects.index.claimable_projects` reads it (the
        arguments, there to fit ``core.board.matching.ProjectSource``, are ignored: the catalogue
        has its own)."""
        cached = self._index
        if cached is not None and self._fresh(cached[0], cached[1]):
            return cached[2]
        generation, read_at = index_generation(), self.clock()
        summaries = await claimable_projects(self.client, self.keys)
        self._index = (read_at, generation, summaries)
        return summaries

    async def document(self, project_id: str) -> dict[str, Any]:
        """A project's document (``ProjectNotFound`` when there is none)."""
        cached = self._documents.get(project_id)
        if cached is not None and self._fresh(cached[0], cached[1]):
            return cached[2]
        generation, read_at = index_generation(), self.clock()
        document = await self.board.run(self.board.ops.project_document(project_id))
        if len(self._documents) > MAX_CACHED_DOCUMENTS:
            self._documents.clear()  # bounded memory; refilled on the next claims
        self._documents[project_id] = (read_at, generation, document)
        return document
