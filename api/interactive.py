"""People first: while a request a person waits on is served, the rest of the process waits.

A volunteer claiming a task, submitting an answer or deciding a review waits on the answer with
the page open; an NGO's bulk batch or a script's polling does not mind a few milliseconds more.
All share one event loop (and one Redis), so a flood of other work would otherwise take turns
with every claim. :class:`PeopleFirst` counts the requests in progress whose path is a person's
(:data:`PEOPLE_PATHS`: the volunteers' and reviewers' API routes and pages), and:

- every other request (an NGO's, a sign-up, a refusal answered from memory) waits for none to
  be in progress before it starts (:class:`PeopleFirstMiddleware`), health probes and metrics
  excepted (:data:`PROBES`);
- bulk work (``core.board.bulk_submission``) waits the same before parsing a batch and before
  each of its steps.

Each wait lasts at most ``patience_s`` (50 ms): other work slows down while people keep the
process busy, but is never starved by them (docs/limits.md, "Fair sharing").
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "DEFAULT_PATIENCE_S",
    "PEOPLE_PATHS",
    "PROBES",
    "PeopleFirst",
    "PeopleFirstMiddleware",
]

#: Paths (prefixes) of the requests a person waits on: claims, submits, releases and heartbeats,
#: reviews, their own page of work; the pages of the same.
PEOPLE_PATHS: Final = ("/v1/assignments", "/v1/reviews", "/v1/me", "/work", "/review")

#: Paths answered at once whoever is served: health probes and metrics.
PROBES: Final = frozenset({"/healthz", "/readyz", "/metrics"})

#: How long another request, or a step of bulk work, waits at most for people's requests.
DEFAULT_PATIENCE_S: Final = 0.05


class PeopleFirst:
    """How many of people's requests are in progress in this process, and a wait for none."""

    def __init__(self, patience_s: float = DEFAULT_PATIENCE_S) -> None:
        self.patience_s = patience_s
        self._serving = 0
        # Set while nobody is served; made in the loop that first waits on it (an app built
        # before its server's loop, or served by one loop after another in tests).
        self._none: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def serving(self) -> int:
        """People's requests in progress."""
        return self._serving

    def begin(self) -> None:
        self._serving += 1
        if self._none is not None:
            self._none.clear()

    def end(self) -> None:
        self._serving -= 1
        if self._serving == 0 and self._none is not None:
            self._none.set()

    async def wait_turn(self) -> None:
        """Returns when no person's request is in progress, or after ``patience_s``."""
        if self._serving == 0:
            return
        loop = asyncio.get_running_loop()
        if self._none is None or self._loop is not loop:
            self._loop, self._none = loop, asyncio.Event()
        # People keep coming past it: the work goes all the same.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none.wait(), self.patience_s)

    async def pause(self) -> None:
        """A pause in long work: the loop first serves what came in meanwhile (a claim that
        arrived is then counted), then :meth:`wait_turn`."""
        await asyncio.sleep(0)
        await self.wait_turn()


class PeopleFirstMiddleware:
    """Counts each request to one of :data:`PEOPLE_PATHS` in ``people`` while it is served;
    starts any other (but :data:`PROBES`) once none is, or after ``people.patience_s``."""

    def __init__(self, app: ASGIApp, people: PeopleFirst) -> None:
        self.app = app
        self.people = people

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        if not _is_a_persons(scope["path"]):
            await self.people.wait_turn()
            await self.app(scope, receive, send)
            return
        self.people.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.people.end()


def _is_a_persons(path: str) -> bool:
    for prefix in PEOPLE_PATHS:
        # "/work" and "/work/…", never "/workshop".
        if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
            return True
    return False
