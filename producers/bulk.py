"""Large submissions: chunks, each with an Idempotency-Key the same on every run.

A chunk's key is derived from the project, the source (a digest of the file it came from, or
any string naming the batch), the chunk's index and a digest of its body. Re-running the same
submission after an interruption therefore re-sends the very same requests with the very same
keys: chunks the server already took are answered from its idempotency store (``replayed``),
the rest are done now. The body digest also means a chunk whose content changed (the file was
edited) gets a new key instead of a 422 ``idempotency_key_reused``.

Keys only hold for 24 hours on the server; what makes a re-run safe beyond that is the
``external_id`` every task carries (re-sending one never makes a second task).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from producers.client import RucheClient, TaskLike, ndjson
from producers.models import BulkOutcome, RejectedItem

__all__ = ["DEFAULT_CHUNK", "ChunkDone", "SubmitReport", "chunk_key", "submit_in_chunks"]

DEFAULT_CHUNK = 1_000
T = TypeVar("T")


def chunk_key(project_id: str, source: str, index: int, body: bytes) -> str:
    """The Idempotency-Key of chunk ``index`` (well under the API's 255 characters)."""
    digest = hashlib.sha256()
    for part in (project_id, source, str(index), hashlib.sha256(body).hexdigest()):
        digest.update(part.encode())
        digest.update(b"\n")
    return "ruche-bulk-" + digest.hexdigest()[:48]


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class ChunkDone:
    """One chunk's answer, with where its items started in the whole submission."""

    index: int
    start: int
    size: int
    outcome: BulkOutcome


@dataclass
class SubmitReport:
    """What a whole submission did. ``rejected`` indexes count from 0 over all items."""

    created: int = 0
    already_there: int = 0
    rejected: list[RejectedItem] = field(default_factory=list)
    chunks: int = 0
    replayed_chunks: int = 0

    def add(self, done: ChunkDone) -> None:
        outcome = done.outcome
        self.chunks += 1
        if outcome.replayed:
            # The stored answer counts what the first request created: all of it exists now.
            self.replayed_chunks += 1
            self.already_there += outcome.accepted + outcome.duplicates
        else:
            self.created += outcome.accepted
            self.already_there += outcome.duplicates
        self.rejected += [
            item.model_copy(update={"index": done.start + item.index}) for item in outcome.rejected
        ]


@dataclass(frozen=True)
class _Chunk:
    index: int
    start: int
    size: int
    body: bytes
    key: str


class _InFlight:
    """One chunk's request, sent on a daemon thread so the next chunk can be prepared (read,
    checked, encoded) meanwhile. Daemon: an interrupted run exits at once instead of waiting
    for the answer; the chunk is then simply sent again by the next run."""

    def __init__(self, client: RucheClient, project_id: str, chunk: _Chunk) -> None:
        self.chunk = chunk
        self._outcome: BulkOutcome | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._send, args=(client, project_id), name="ruche-bulk", daemon=True
        )
        self._thread.start()

    def _send(self, client: RucheClient, project_id: str) -> None:
        try:
            self._outcome = client.submit_ndjson(
                project_id, self.chunk.body, idempotency_key=self.chunk.key
            )
        except BaseException as error:  # handed to the main thread, raised there
            self._error = error

    def result(self) -> ChunkDone:
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._outcome is None:  # pragma: no cover - _send sets one or the other
            raise RuntimeError("the bulk request ended without an outcome")
        chunk = self.chunk
        return ChunkDone(
            index=chunk.index, start=chunk.start, size=chunk.size, outcome=self._outcome
        )


def submit_in_chunks(
    client: RucheClient,
    project_id: str,
    items: Iterable[TaskLike],
    *,
    source: str,
    chunk_size: int = DEFAULT_CHUNK,
    on_chunk: Callable[[ChunkDone], None] | None = None,
) -> SubmitReport:
    """Send ``items`` in chunks of ``chunk_size``, in order, one request in flight at a time;
    ``items`` may be a generator, whose work then overlaps the request before."""
    report = SubmitReport()
    in_flight: _InFlight | None = None
    start = 0
    for index, items_of_chunk in enumerate(_chunks(items, chunk_size)):
        body = ndjson(items_of_chunk)
        chunk = _Chunk(
            index, start, len(items_of_chunk), body, chunk_key(project_id, source, index, body)
        )
        start += chunk.size
        if in_flight is not None:
            _finish(in_flight, report, on_chunk)
        in_flight = _InFlight(client, project_id, chunk)
    if in_flight is not None:
        _finish(in_flight, report, on_chunk)
    return report


def _finish(
    in_flight: _InFlight, report: SubmitReport, on_chunk: Callable[[ChunkDone], None] | None
) -> None:
    done = in_flight.result()
    report.add(done)
    if on_chunk is not None:
        on_chunk(done)
