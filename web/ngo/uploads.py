"""A file of tasks uploaded in the console: read as ``ruche submit`` reads it, written as the
API's bulk route writes it.

- Reading: :func:`producers.file_submission.read_data` (CSV, JSONL, PO, XLIFF; the rows'
  checks are the task type's own), so a file gives the same tasks, the same bad rows and the
  same line numbers in the browser as on the command line.
- Writing: :func:`core.board.bulk_submission.write_batch`, in chunks of :data:`CHUNK_ROWS`
  good rows: the organisation's bulk rate, storage quota and turn apply as to a program's
  batch. A refusal (rate, quota, another upload holding the turn) stops the upload where it is:
  the report says how far it got and why; the rows before stay written.
- Nothing twice: every row carries an external id (its own column, else one derived from its
  content: :func:`producers.formats.rows.content_external_id`), and re-sending an external id
  never makes a second task, so uploading the same file again (after a stop, or by mistake)
  only adds what is missing.
- Progress: after each chunk the line reached is written to a small hash in the project's slot
  (``P:upload:<upload id>``, an hour), which the page's script polls while the upload runs
  (:func:`read_progress`). It holds numbers only, and goes with the project when it is deleted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio

from core.accounts.quotas import Quotas
from core.board.bulk import MAX_BATCH_ITEMS
from core.board.bulk_submission import write_batch
from core.board.runner import AsyncBoard
from core.errors import (
    BatchTooLarge,
    InsufficientStorage,
    ProjectClosed,
    QuotaExceeded,
    RucheError,
    TooManyRequests,
)
from core.ratelimit import RateLimits
from core.redis.keys import Keys
from core.settings import Settings
from producers.file_submission import BadRow, FileOptions, read_data
from producers.formats.rows import Problem, Row
from task_types import get as get_task_type

__all__ = [
    "CHUNK_ROWS",
    "UPLOAD_ID",
    "Stop",
    "UploadReport",
    "Writer",
    "progress_key",
    "read_progress",
    "upload_rows",
]

#: Good rows written per bulk request (each one counts against the bulk rate).
CHUNK_ROWS = min(1_000, MAX_BATCH_ITEMS)
#: The id a form carries so its progress can be asked for while it is posted.
UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
PROGRESS_TTL_S = 3600


class Stop:
    """Why an upload stopped before its end (the report words it)."""

    RATE = "rate"  # the organisation's bulk rate
    QUOTA = "quota"  # the organisation's storage quota is full
    BUSY = "busy"  # another bulk submission of the organisation held the turn too long
    FULL = "full"  # the server's storage is full
    CLOSED = "closed"  # the project is closed


@dataclass
class UploadReport:
    rows: int = 0  # rows read (good and bad)
    created: int = 0
    already_there: int = 0
    over_quota: int = 0  # good rows not created because the quota filled midway
    bad: list[BadRow] = field(default_factory=list)
    stopped: str | None = None  # a Stop, when it did not reach the end
    stopped_at: int | None = None  # the first line not written
    retry_after_s: int | None = None


@dataclass(frozen=True)
class Writer:
    """What writing needs from the process (the app's state)."""

    board: AsyncBoard
    client: redis.asyncio.Redis
    keys: Keys
    settings: Settings
    limits: RateLimits
    lanes: asyncio.Semaphore  # the process's bulk lanes, shared with the API
    # Awaited before each step of writing: people's requests first (api.interactive).
    wait_turn: Callable[[], Awaitable[None]] | None = None


def progress_key(keys: Keys, project_id: str, upload_id: str) -> str:
    return f"{keys.project(project_id).base}:upload:{upload_id}"


async def read_progress(
    client: redis.asyncio.Redis, keys: Keys, project_id: str, upload_id: str
) -> dict[str, int] | None:
    found = await client.hgetall(progress_key(keys, project_id, upload_id))
    if not found:
        return None
    return {str(k): int(v) for k, v in found.items()}


async def _note(writer: Writer, key: str, **fields: int) -> None:
    async with writer.client.pipeline(transaction=False) as pipe:
        pipe.hset(key, mapping={name: str(value) for name, value in fields.items()})
        pipe.expire(key, PROGRESS_TTL_S)
        await pipe.execute()


async def upload_rows(
    writer: Writer,
    *,
    org_id: str,
    project_id: str,
    task_type: str,
    data: bytes,
    fmt: str,
    options: FileOptions,
    upload_id: str,
    name: str = "the file",
) -> UploadReport:
    """Reads ``data`` and writes its good rows (see the module docstring); a file that cannot
    be read at all raises :class:`~producers.file_submission.SubmitFileError`."""
    read = read_data(data, fmt, task_type, options, name=name)
    key = progress_key(writer.keys, project_id, upload_id)
    await _note(writer, key, lines=read.lines, line=0, done=0)
    report = UploadReport()
    good: list[Row] = []
    written = 0
    for _ in read.checked(report.bad, good):
        if len(good) - written >= CHUNK_ROWS:
            if not await _write(writer, report, org_id, project_id, task_type, good[written:]):
                break
            written = len(good)
            await _note(writer, key, line=good[-1].line or 0)
    else:
        if len(good) > written:
            await _write(writer, report, org_id, project_id, task_type, good[written:])
    report.rows = read.count
    report.bad.sort(key=lambda bad: (bad.line is None, bad.line or 0))
    await _note(writer, key, line=read.lines, done=1)
    return report


async def _write(
    writer: Writer,
    report: UploadReport,
    org_id: str,
    project_id: str,
    task_type: str,
    rows: list[Row],
) -> bool:
    """Writes one chunk of good rows; False when a refusal stopped the upload."""
    try:
        outcome = await write_batch(
            board=writer.board,
            quotas=Quotas(writer.client, writer.keys, writer.settings),
            limits=writer.limits,
            lanes=writer.lanes,
            org_id=org_id,
            project_id=project_id,
            task_type=get_task_type(task_type),
            items=[row.item for row in rows],
            chunk=writer.settings.bulk_chunk_tasks,
            wait_turn=writer.wait_turn,
        )
    except (TooManyRequests, BatchTooLarge, InsufficientStorage, ProjectClosed) as refused:
        report.stopped = _stop_of(refused)
        report.stopped_at = rows[0].line
        if isinstance(refused, TooManyRequests):
            report.retry_after_s = refused.retry_after_s
        return False
    report.created += outcome.accepted
    report.already_there += outcome.duplicates
    for rejected in outcome.rejected:
        row = rows[rejected.index]
        if any(error.type == "quota_exceeded" for error in rejected.errors):
            report.over_quota += 1
            continue
        problems = [
            Problem(".".join(str(part) for part in error.loc), error.msg)
            for error in rejected.errors
        ]
        report.bad.append(BadRow(row.where, problems, row.line))
    return True


def _stop_of(refused: RucheError) -> str:
    if isinstance(refused, QuotaExceeded):
        return Stop.QUOTA
    if isinstance(refused, InsufficientStorage):
        return Stop.FULL
    if isinstance(refused, ProjectClosed):
        return Stop.CLOSED
    if isinstance(refused, BatchTooLarge):
        return Stop.RATE
    policy = refused.policy if isinstance(refused, TooManyRequests) else None
    return Stop.BUSY if policy is not None and policy[0] == "bulk_writers" else Stop.RATE
