"""Results of a project: read by cursor, or exported whole (JSONL or CSV, streamed)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api import examples
from api.deps import BoardDep
from api.error_docs import error_responses
from api.services import OwnedProjectId
from core.board import AsyncBoard
from core.errors import UnsupportedFormat
from core.results import FIRST_CURSOR, MAX_PAGE, ResultEntry, parse_cursor, read_results

__all__ = ["router"]

router = APIRouter(prefix="/v1/projects/{project_id}", tags=["results"])

EXPORT_PAGE = 500
EXPORT_FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
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


class ResultsPage(BaseModel):
    items: list[ResultOut]
    next: str = Field(
        description="Pass as `after` to continue. Always set, also on the last page so far: "
        "polling with it later returns only newer results, never one twice, never skipping one."
    )


def _out(entry: ResultEntry) -> ResultOut:
    return ResultOut(
        task_id=entry.task_id,
        external_id=entry.external_id,
        answer=entry.answer,
        confidence=entry.confidence,
        method=entry.method,
        decided_at=datetime.fromtimestamp(entry.decided_at_ms / 1000, tz=UTC),
    )


@router.get(
    "/results",
    response_model=ResultsPage,
    summary="Results after a cursor, oldest first",
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=examples.RESULTS,
)
async def results(
    project_id: OwnedProjectId,
    board: BoardDep,
    after: Annotated[
        str, Query(max_length=64, description="The `next` of a previous page; omit to start.")
    ] = FIRST_CURSOR,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> ResultsPage:
    page = await board.run(read_results(board.keys, project_id, parse_cursor(after), limit))
    return ResultsPage(items=[_out(entry) for entry in page.items], next=page.next)


def _safe_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_line(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(row)
    return buffer.getvalue()


def _render(entry: ResultEntry, fmt: str) -> str:
    item = _out(entry).model_dump(mode="json")
    if fmt == "jsonl":
        return json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"
    row = [
        item["task_id"],
        _safe_cell(item["external_id"] or ""),
        json.dumps(item["answer"], ensure_ascii=False, separators=(",", ":")),
        repr(item["confidence"]),
        _safe_cell(item["method"]),
        item["decided_at"],
    ]
    return _csv_line(row)


async def _export(board: AsyncBoard, project_id: str, fmt: str) -> AsyncIterator[str]:
    if fmt == "csv":
        yield _csv_line(list(CSV_COLUMNS))
    after = FIRST_CURSOR
    while True:
        page = await board.run(read_results(board.keys, project_id, after, EXPORT_PAGE))
        if page.items:
            yield "".join(_render(entry, fmt) for entry in page.items)
        if len(page.items) < EXPORT_PAGE:
            return
        after = page.next


@router.get(
    "/export",
    response_class=StreamingResponse,
    summary="Every result of the project, streamed as JSONL or CSV",
    description="`format=jsonl` (default): one result object per line. `format=csv`: columns "
    f"{', '.join(CSV_COLUMNS)}, with `answer` as JSON; cells a spreadsheet would run as a "
    "formula are prefixed with `'`. `po` and `xliff` are not written yet (422 "
    "`unsupported_format`).",
    responses={
        200: {
            "description": "The results, oldest first",
            "content": {"application/x-ndjson": {}, "text/csv": {}},
        },
        **error_responses(401, 403, 404, 422),
    },
    openapi_extra=examples.EXPORT,
)
async def export(
    project_id: OwnedProjectId,
    board: BoardDep,
    format: Annotated[str, Query(max_length=16)] = "jsonl",
) -> StreamingResponse:
    fmt = format.lower()
    if fmt not in EXPORT_FORMATS:
        raise UnsupportedFormat(
            f"export formats: {', '.join(EXPORT_FORMATS)}",
            [{"loc": ["query", "format"], "supported": list(EXPORT_FORMATS)}],
        )
    extension = "jsonl" if fmt == "jsonl" else "csv"
    return StreamingResponse(
        _export(board, project_id, fmt),
        media_type=EXPORT_FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{project_id}-results.{extension}"'},
    )
