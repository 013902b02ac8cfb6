"""Leases no volunteer will ever hear of, handed back in the background once Redis answers.

A claim whose reply is lost (the connection cut after Redis ran the script, a master killed
before it answered) is answered 503, and its volunteer, who never saw the task, claims again
and gets another one. The lease the first claim may have taken would hold an answer slot of its
task for the whole lease (10 minutes by default): on a project near its end, the last tasks
wait that long for nobody. The same goes for a lease the API meant to hand back at once (the
volunteer over their cap) when that hand-back failed.

So the API hands such leases back itself, a little later: :class:`HandBacks` runs each undo
(a release script, safe to repeat: a lease no longer live is left alone) in a task of its own,
after :data:`FIRST_TRY_SECONDS` (a claim still queued on a slow connection has run by then), and
again with a growing pause while Redis fails (a failover takes seconds; a cluster's default
``cluster-node-timeout`` of 15 s, more), up to :data:`GIVE_UP_SECONDS`. Past that, or when the
API process stops first, the lease ends when it expires, as before.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from core.board.runner import REDIS_FAILURES, AsyncBoard
from core.board.script_calls import ScriptCall

__all__ = ["FIRST_TRY_SECONDS", "GIVE_UP_SECONDS", "HandBacks"]

log = structlog.get_logger(__name__)

FIRST_TRY_SECONDS = 1.0
GIVE_UP_SECONDS = 90.0
_LONGEST_PAUSE_SECONDS = 5.0


class HandBacks:
    """The pending hand-backs of one API process (each an asyncio task)."""

    def __init__(
        self,
        board: AsyncBoard,
        *,
        first_try_s: float = FIRST_TRY_SECONDS,
        give_up_s: float = GIVE_UP_SECONDS,
    ) -> None:
        self.board = board
        self.first_try_s = first_try_s
        self.give_up_s = give_up_s
        self._pending: set[asyncio.Task[None]] = set()

    def later(self, undo: ScriptCall[str | None], *, event: str, **context: str) -> None:
        """Run ``undo`` (:meth:`core.board.operations.BoardOps.release_lost_claim`: the
        assignment id released, or None) in the background until Redis answers it; ``event``
        names it in the log (with ``context``: ids, never task content)."""
        task = asyncio.get_running_loop().create_task(self._run(undo, event, context))
        self._pending.add(task)  # held: the loop keeps only a weak reference to its tasks
        task.add_done_callback(self._pending.discard)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def _run(self, undo: ScriptCall[str | None], event: str, context: dict[str, str]) -> None:
        give_up_at = time.monotonic() + self.give_up_s
        pause = self.first_try_s
        while True:
            await asyncio.sleep(pause)
            try:
                released = await self.board.run(undo)
            except REDIS_FAILURES as failed:
                if time.monotonic() + pause >= give_up_at:
                    log.warning(
                        event, outcome="gave_up", error_type=type(failed).__name__, **context
                    )
                    return
                pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)
                continue
            # None: the claim took nothing (its write was lost too), or the lease is no longer
            # live (expired, or handed back by an earlier try whose own reply was lost).
            log.info(event, outcome="released" if released else "nothing_live", **context)
            return

    async def aclose(self) -> None:
        """Stop the pending ones (the process is stopping): their leases expire as before."""
        pending = list(self._pending)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
