"""Results: the feed of decided answers an organisation reads by cursor, exports or receives.

Each project keeps its results in a Redis stream (``P:results``), in the order they were decided.
A result's cursor is its stream entry id: ids only ever grow, so reading "everything after the
last cursor I saw" never skips a result published later and never returns one twice.

:func:`publish_result` is the one way to add a result (workers call it when a task is decided);
it is a board operation, so ``Board.run`` (workers) and ``AsyncBoard.run`` (API) both run it,
and it publishes each decision once however often it is retried. :func:`read_results` reads a
page after a cursor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core import ids
from core.board.operations import Commands, ScriptCall, dumps, text
from core.errors import InvalidCursor
from core.redis.keys import Keys
from core.redis.scripts import ScriptName

__all__ = [
    "FIRST_CURSOR",
    "MAX_PAGE",
    "Published",
    "Result",
    "ResultEntry",
    "ResultPage",
    "parse_cursor",
    "parse_result_entry",
    "publish_result",
    "read_results",
    "result_entry",
    "result_fields",
]

FIRST_CURSOR = "0-0"
MAX_PAGE = 1000
_CURSOR = re.compile(r"^([0-9]{1,20})-([0-9]{1,20})$")
_U64 = 2**64 - 1


@dataclass(frozen=True, slots=True)
class Result:
    """A decided task: its final answer, how sure we are, and how it was decided."""

    task_id: str
    # May hold personal data: keep out of logs. None: no answer (a task rejected by review).
    answer: Mapping[str, Any] | None = field(repr=False)
    confidence: float
    method: str  # e.g. "agreement", "review", "rejected"
    external_id: str | None = None
    decided_at_ms: int | None = None  # None: now (Redis TIME)
    contributors: Sequence[str] = ()  # pseudonymous ids of who answered


@dataclass(frozen=True, slots=True)
class Published:
    cursor: str  # the result's stream entry id
    created: bool  # False: this decision had been published before (nothing written)


@dataclass(frozen=True, slots=True)
class ResultEntry:
    cursor: str
    task_id: str
    external_id: str | None
    answer: dict[str, Any] | None = field(repr=False)
    confidence: float
    method: str
    decided_at_ms: int
    contributors: list[str]
    decision_id: str


@dataclass(frozen=True, slots=True)
class ResultPage:
    items: list[ResultEntry]
    next: str  # pass as ``after`` to continue; equals ``after`` when nothing new came


def parse_cursor(cursor: str) -> str:
    """``cursor`` when it is a well-formed stream id (``<ms>-<seq>``); else 422 invalid_cursor."""
    match = _CURSOR.match(cursor)
    # The very last id is refused too: nothing can follow it, and Redis refuses "(" before it.
    if match is None or int(match.group(1)) > _U64 or int(match.group(2)) >= _U64:
        raise InvalidCursor(
            "not a results cursor; pass the `next` value of a previous page, or nothing",
            [{"loc": ["query", "after"], "msg": "not a cursor", "type": "value_error"}],
        )
    return f"{int(match.group(1))}-{int(match.group(2))}"


def result_fields(result: Result) -> list[str | int]:
    """The field, value pairs a result entry carries beside its ids and time (shared with
    :mod:`core.quality.outcomes`, whose ``resolve_task`` publishes in the same script)."""
    answer = None if result.answer is None else dict(result.answer)
    return [
        "answer",
        dumps(answer),
        "confidence",
        repr(float(result.confidence)),
        "method",
        result.method,
        "contributors",
        dumps(list(result.contributors)),
    ]


def publish_result(
    keys: Keys, project_id: str, result: Result, *, decision_id: str | None = None
) -> ScriptCall[Published]:
    """Append ``result`` to the project's results feed, once per ``decision_id``.

    ``decision_id`` defaults to the task id: a task decided again later (reopened by a
    reviewer) needs a new one, e.g. ``f"{task_id}:{round}"``. Without ``external_id`` the
    task's own is used. Run it with ``board.run(...)`` (sync or async board).
    """
    pk = keys.project(ids.validate_project_id(project_id))
    ids.validate_task_id(result.task_id)
    args: list[str | int] = [
        "",
        decision_id or result.task_id,
        "" if result.decided_at_ms is None else int(result.decided_at_ms),
        result.task_id,
        result.external_id or "",
        *result_fields(result),
    ]

    def parse(reply: Sequence[Any]) -> Published:
        return Published(text(reply[0]), bool(int(reply[1])))

    keys_ = [pk.results, pk.published, pk.events, pk.tasks]
    return ScriptCall(ScriptName.PUBLISH_RESULT, keys_, args, parse)


def parse_result_entry(entry_id: Any, raw: Mapping[Any, Any]) -> ResultEntry:
    """One entry of a project's results stream (its id and fields, as XRANGE returns them)."""
    fields = {text(k): text(v) for k, v in raw.items()}
    return ResultEntry(
        cursor=text(entry_id),
        task_id=fields["task_id"],
        external_id=fields.get("external_id") or None,
        answer=json.loads(fields["answer"]),
        confidence=float(fields["confidence"]),
        method=fields["method"],
        decided_at_ms=int(fields["decided_at"]),
        contributors=list(json.loads(fields.get("contributors", "[]"))),
        decision_id=fields.get("decision_id", fields["task_id"]),
    )


def read_results(
    keys: Keys, project_id: str, after: str = FIRST_CURSOR, limit: int = 100
) -> Commands[ResultPage]:
    """Up to ``limit`` results published after cursor ``after``, oldest first."""
    pk = keys.project(ids.validate_project_id(project_id))
    after = parse_cursor(after)
    limit = max(1, min(int(limit), MAX_PAGE))

    def parse(replies: list[Any]) -> ResultPage:
        items = [parse_result_entry(entry_id, raw) for entry_id, raw in replies[0] or []]
        return ResultPage(items, items[-1].cursor if items else after)

    return Commands([("XRANGE", pk.results, f"({after}", "+", "COUNT", limit)], parse)


def result_entry(keys: Keys, project_id: str, cursor: str) -> Commands[ResultEntry | None]:
    """The one result at ``cursor`` (its results stream entry id), or None."""
    pk = keys.project(ids.validate_project_id(project_id))
    cursor = parse_cursor(cursor)

    def parse(replies: list[Any]) -> ResultEntry | None:
        entries = replies[0] or []
        return parse_result_entry(*entries[0]) if entries else None

    return Commands([("XRANGE", pk.results, cursor, cursor)], parse)
