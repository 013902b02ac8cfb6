"""Board operations described as data, independent of how they are sent to Redis.

Each operation is a value: a :class:`ScriptCall` (one EVALSHA), a :class:`Batch` of script calls
sent down one pipeline, or :class:`Commands` (plain reads or writes in one pipeline), each with
the function that turns the raw reply into a typed result. :mod:`core.board.runner` runs them with a
synchronous client (workers, scheduler, CLI) or an asyncio one (the API) — one definition, two
runners, no duplicated key or argument handling.

This module holds the operation types and :class:`OpsBase`; the operations themselves live in
:mod:`core.board.operations` (projects, tasks, leases), :mod:`core.board.slots` (a volunteer's live
assignments), :mod:`core.review.items` (review items), :mod:`core.quality.outcomes` (what the
event pipeline's actors write) and :mod:`core.quality.reputation` (reputations).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from core import ids
from core.clock import Clock
from core.errors import (
    AssignmentNotFound,
    InvalidRequest,
    LeaseNotLive,
    NotACandidate,
    NotAReviewer,
    ProfileChanged,
    ProjectClosed,
    ProjectNotFound,
    ReopenRefused,
    ReviewNotFound,
    ReviewNotLive,
    RucheError,
    TaskBusy,
    TaskClosed,
    TaskNotFound,
    TooManyAssignments,
)
from core.redis.keys import Keys, ProjectKeys
from core.redis.scripts import ScriptName

__all__ = [
    "Batch",
    "Commands",
    "Op",
    "OpsBase",
    "ScriptCall",
    "checked",
    "dumps",
    "ignore_reply",
    "json_or_none",
    "raise_refusal",
    "review_checked",
    "score_pairs",
    "text",
]

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class ScriptCall(Generic[T]):
    script: ScriptName
    keys: Sequence[str]
    args: Sequence[str | int]
    parse: Callable[[Any], T]


@dataclass(frozen=True, slots=True)
class Batch(Generic[T, U]):
    """Script calls sent down one pipeline; ``combine`` gets their parsed results in order."""

    calls: Sequence[ScriptCall[U]]
    combine: Callable[[list[U]], T]


@dataclass(frozen=True, slots=True)
class Commands(Generic[T]):
    """Plain commands sent down one (non-transactional) pipeline, in order."""

    commands: Sequence[tuple[str | int, ...]]
    parse: Callable[[list[Any]], T]


Op = ScriptCall[T] | Batch[T, Any] | Commands[T]


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def raise_refusal(reply: Sequence[Any]) -> None:
    code, state = text(reply[1]), text(reply[2])
    if code == "no_project":
        raise ProjectNotFound("no such project")
    if code == "no_assignment":
        raise AssignmentNotFound("no such assignment")
    if code == "project_closed":
        raise ProjectClosed("the project's deadline has passed: it takes no new tasks")
    if code.startswith("lease_"):
        raise LeaseNotLive(state)
    raise RucheError(f"board script refused with an unknown code {code!r}")


def checked(reply: Sequence[Any]) -> Sequence[Any]:
    if text(reply[0]) == "err":
        raise_refusal(reply)
    return reply


def ignore_reply(reply: Any) -> None:
    checked(reply)


def json_or_none(raw: Any) -> Any:
    return None if raw is None else json.loads(raw)


def score_pairs(raw: Any) -> list[tuple[str, float]]:
    """ZRANGE … WITHSCORES as (member, score) pairs, whether or not the client paired them."""
    items = list(raw)
    if items and isinstance(items[0], list | tuple):
        return [(text(member), float(score)) for member, score in items]
    return [(text(items[i]), float(items[i + 1])) for i in range(0, len(items), 2)]


def review_checked(reply: Sequence[Any]) -> Sequence[Any]:
    """``checked`` for the review and live-slot scripts, whose refusals have codes of their own."""
    if text(reply[0]) != "err":
        return reply
    code, detail = text(reply[1]), text(reply[2])
    if code == "no_task":
        raise TaskNotFound("no such task")
    if code == "task_closed":
        raise TaskClosed(detail)
    if code == "task_busy":
        raise TaskBusy(f"{detail} lease(s) still live on the task; try again once they end")
    if code == "not_reviewer":
        raise NotAReviewer("you have no review rights on this project")
    if code == "no_review":
        raise ReviewNotFound("no such review")
    if code.startswith("review_"):
        raise ReviewNotLive(detail)
    if code == "not_candidate":
        raise NotACandidate("submission_id is not one of this task's candidate answers")
    if code == "too_many":
        raise TooManyAssignments(
            "you already hold as many live assignments as allowed; submit or release one first",
            [{"live": int(detail)}],
            retry_after_s=-(-int(reply[3]) // 1000),  # the soonest lease's end, rounded up
            policy=("live_assignments", int(detail), None),
        )
    if code == "need_cap":
        raise ReopenRefused(
            "this task already has as many answers as its project allows; accept, correct or "
            "reject it instead",
            [{"max_answers": int(detail)}],
        )
    if code == "stale_profile":
        raise ProfileChanged("the volunteer's profile changed since it was read")
    if code == "bad_action":
        raise InvalidRequest("unknown review action")
    raise_refusal(reply)
    return reply  # not reached: raise_refusal always raises


class OpsBase:
    """What every family of operations needs: the key layout, the clock, the claim scan bound."""

    def __init__(self, keys: Keys, clock: Clock, claim_scan_limit: int) -> None:
        self.keys = keys
        self.clock = clock
        self.claim_scan_limit = claim_scan_limit

    def project_keys(self, project_id: str) -> ProjectKeys:
        return self.keys.project(ids.validate_project_id(project_id))

    # -- time --------------------------------------------------------------------------------

    def now_from(self, time_reply: Any) -> int:
        """The board's "now" in ms: the manual clock's when one is set, else Redis ``TIME``."""
        fixed = self.clock.script_now()
        if fixed:
            return int(fixed)
        seconds, micros = time_reply
        return int(seconds) * 1000 + int(micros) // 1000
