"""A project's results exported whole: JSON lines and CSV streamed page by page, PO and XLIFF
1.2 catalogs (for task types made of translation-catalog units) built from the results and
their tasks' source text.

The API's ``GET /v1/projects/{id}/export`` and the console's download (:mod:`web.ngo.data`)
both serve these; the console's wide CSV (answer fields as columns) is
:mod:`core.delivery.result_table`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from core.board.runner import AsyncBoard
from core.board.script_calls import Commands
from core.delivery.results import FIRST_CURSOR, ResultEntry, read_results
from task_types import UnknownTaskType
from task_types import get as get_task_type
from task_types.catalog_export import CatalogEntry

__all__ = [
    "CATALOG_REVIEW_BELOW",
    "CSV_COLUMNS",
    "EXPORT_FORMATS",
    "EXPORT_PAGE",
    "ResultOut",
    "catalog_entries",
    "catalog_formats",
    "csv_line",
    "export_lines",
    "payloads_of",
    "result_out",
    "result_pages",
    "safe_cell",
]

EXPORT_PAGE = 500
EXPORT_FORMATS = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "po": "text/x-gettext-translation; charset=utf-8",
    "xliff": "application/xliff+xml",
}
#: Results below this confidence are marked for review in a PO or XLIFF export.
CATALOG_REVIEW_BELOW = 0.8
CSV_COLUMNS = ("task_id", "external_id", "answer", "confidence", "method", "decided_at")
# Spreadsheet programs run a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ResultOut(BaseModel):
    task_id: str
    external_id: str | None
    answer: dict[str, Any] | None = Field(
        description="The final answer; null when a reviewer rejected the task as unanswerable "
        "(method `rejected`)."
    )
    confidence: float
    method: str = Field(
        description="How the answer was decided: `agreement`, `review` or `rejected`."
    )
    decided_at: datetime


def result_out(entry: ResultEntry) -> ResultOut:
    return ResultOut(
        task_id=entry.task_id,
        external_id=entry.external_id,
        answer=entry.answer,
        confidence=entry.confidence,
        method=entry.method,
        decided_at=datetime.fromtimestamp(entry.decided_at_ms / 1000, tz=UTC),
    )


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_line(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(row)
    return buffer.getvalue()


def _render(entry: ResultEntry, fmt: str) -> str:
    item = result_out(entry).model_dump(mode="json")
    if fmt == "jsonl":
        return json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"
    row = [
        item["task_id"],
        safe_cell(item["external_id"] or ""),
        json.dumps(item["answer"], ensure_ascii=False, separators=(",", ":")),
        repr(item["confidence"]),
        safe_cell(item["method"]),
        item["decided_at"],
    ]
    return csv_line(row)


async def result_pages(board: AsyncBoard, project_id: str) -> AsyncIterator[list[ResultEntry]]:
    """Every result of the project, oldest first, :data:`EXPORT_PAGE` at a time (one page in
    memory at once)."""
    after = FIRST_CURSOR
    while True:
        page = await board.run(read_results(board.keys, project_id, after, EXPORT_PAGE))
        if page.items:
            yield page.items
        if len(page.items) < EXPORT_PAGE:
            return
        after = page.next


async def payloads_of(
    board: AsyncBoard, project_id: str, task_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The tasks' payloads (``{}`` for a task gone), in the order asked."""
    if not task_ids:
        return []
    payloads_key = board.keys.project(project_id).payloads
    raw: list[Any] = await board.run(
        Commands([("HMGET", payloads_key, *task_ids)], lambda replies: replies[0])
    )
    return [json.loads(payload) if payload else {} for payload in raw]


async def export_lines(board: AsyncBoard, project_id: str, fmt: str) -> AsyncIterator[str]:
    """The JSONL or CSV (answer as JSON) export, a page of results at a time."""
    if fmt == "csv":
        yield csv_line(list(CSV_COLUMNS))
    async for entries in result_pages(board, project_id):
        yield "".join(_render(entry, fmt) for entry in entries)


async def catalog_entries(board: AsyncBoard, project_id: str) -> list[CatalogEntry]:
    """Every result with its task's payload (the source text), oldest first."""
    found: list[CatalogEntry] = []
    async for entries in result_pages(board, project_id):
        payloads = await payloads_of(board, project_id, [entry.task_id for entry in entries])
        for entry, payload in zip(entries, payloads, strict=True):
            found.append(
                CatalogEntry(
                    task_id=entry.task_id,
                    external_id=entry.external_id,
                    answer=entry.answer,
                    confidence=entry.confidence,
                    method=entry.method,
                    payload=payload,
                )
            )
    return found


def catalog_formats(task_type: str) -> frozenset[str]:
    """The catalog formats a project's type exports (none when not installed here)."""
    try:
        return get_task_type(task_type).catalog_formats
    except UnknownTaskType:
        return frozenset()
