""" "Instructions unclear": a volunteer's one-tap report on a task, and the NGO's list of them.

Reports go to a capped stream per project (``P:unclear``, the newest :data:`MAX_REPORTS`
kept), with who, which task, an optional note and the board time. Only a volunteer who claimed
the task (and so saw it) can report it, once per task (``record_unclear.lua``); anyone else gets
the same "no such task" as for a random id. The NGO reads them newest first
(:func:`list_reports`), after its own ownership check (``Projects.require_owned``).

Run the operations with ``board.run(...)`` on a ``Board`` or an ``AsyncBoard``.
"""

from __future__ import annotations

from typing import Any

import redis

from core import ids
from core.board.script_calls import Commands, ScriptCall, text
from core.clock import Clock
from core.errors import InvalidRequest, TaskNotFound
from core.insights.models import UnclearReport
from core.redis.keys import Keys
from core.redis.scripts import ScriptName

__all__ = [
    "MAX_NOTE_LENGTH",
    "MAX_REPORTS",
    "forget_reports",
    "list_reports",
    "record_unclear",
]

MAX_REPORTS = 1_000  # reports kept per project (the oldest go first)
MAX_NOTE_LENGTH = 500  # characters


def _clean_note(note: str | None) -> str:
    cleaned = " ".join((note or "").split())
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise InvalidRequest(
            f"the note is too long (at most {MAX_NOTE_LENGTH} characters)",
            [
                {
                    "loc": ["body", "note"],
                    "msg": f"at most {MAX_NOTE_LENGTH} characters",
                    "type": "string_too_long",
                }
            ],
        )
    return cleaned


def record_unclear(
    keys: Keys,
    clock: Clock,
    project_id: str,
    volunteer_id: str,
    task_id: str,
    note: str | None = None,
    *,
    keep: int = MAX_REPORTS,
) -> ScriptCall[str | None]:
    """Record a report; the operation returns its id, or None when this volunteer had reported
    this task before (nothing written). Raises ``TaskNotFound`` for a task the volunteer never
    claimed (or a malformed id), ``InvalidRequest`` for a note over :data:`MAX_NOTE_LENGTH`.
    The stream keeps the newest ``keep`` reports."""
    if not (
        ids.PROJECT_ID.match(project_id)
        and ids.VOLUNTEER_ID.match(volunteer_id)
        and ids.TASK_ID.match(task_id)
    ):
        raise TaskNotFound("no such task")
    cleaned = _clean_note(note)
    pk = keys.project(project_id)

    def parse(reply: Any) -> str | None:
        if text(reply[0]) == "err":
            raise TaskNotFound("no such task")
        return text(reply[1]) or None

    return ScriptCall(
        ScriptName.RECORD_UNCLEAR,
        [pk.touched(volunteer_id), pk.unclear_seen, pk.unclear],
        [clock.script_now(), volunteer_id, task_id, cleaned, keep],
        parse,
    )


def _report(entry_id: Any, raw: Any) -> UnclearReport:
    fields = {text(k): text(v) for k, v in dict(raw).items()}
    return UnclearReport(
        report_id=text(entry_id),
        volunteer_id=fields.get("volunteer", ""),
        task_id=fields.get("task", ""),
        note=fields.get("note", ""),
        at_ms=int(fields.get("at") or 0),
    )


def list_reports(
    keys: Keys, project_id: str, *, limit: int = 50, before: str | None = None
) -> Commands[tuple[list[UnclearReport], int]]:
    """The newest ``limit`` reports (older than the report id ``before``, for the next page)
    and how many the project holds."""
    pk = keys.project(ids.validate_project_id(project_id))
    limit = max(1, min(limit, MAX_REPORTS))
    top = f"({before}" if before else "+"

    def parse(replies: list[Any]) -> tuple[list[UnclearReport], int]:
        entries, total = replies
        return [_report(i, f) for i, f in entries], int(total)

    return Commands(
        [("XREVRANGE", pk.unclear, top, "-", "COUNT", limit), ("XLEN", pk.unclear)], parse
    )


def forget_reports(client: redis.Redis, keys: Keys, project_id: str, volunteer_id: str) -> int:
    """Delete a volunteer's reports and de-duplication marks in a project (an erasure); returns
    the reports deleted. Bounded: the stream holds at most :data:`MAX_REPORTS` entries."""
    pk = keys.project(ids.validate_project_id(project_id))
    ids.validate_volunteer_id(volunteer_id)
    entries = client.xrange(pk.unclear) or []
    reports = [_report(entry_id, fields or {}) for entry_id, fields in entries]
    mine = [r.report_id for r in reports if r.volunteer_id == volunteer_id]
    if mine:
        client.xdel(pk.unclear, *mine)
    marks = list(client.sscan_iter(pk.unclear_seen, match=f"{volunteer_id}:*", count=500))
    if marks:
        client.srem(pk.unclear_seen, *marks)
    return len(mine)
