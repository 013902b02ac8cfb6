"""Results of a project: read by cursor, or exported whole (JSONL or CSV, streamed; PO or
XLIFF 1.2, built whole since a catalog is one document, for a project whose task type lists the
format in its ``catalog_formats``, as translation does)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.deps import BoardDep, OwnedProjectId
from api.openapi.error_responses import error_responses
from core.board.runner import AsyncBoard
from core.board.script_calls import Commands
from core.delivery.results import FIRST_CURSOR, MAX_PAGE, ResultEntry, parse_cursor, read_results
from core.errors import UnsupportedFormat
from task_types import UnknownTaskType
from task_types import get as get_task_type
from task_types.base import CATALOG_FORMATS
from task_types.catalog_export import CatalogEntry, build_catalog

__all__ = ["router"]

router = APIRouter(prefix="/v1/projects/{project_id}", tags=["results"])

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


async def _catalog_entries(board: AsyncBoard, project_id: str) -> list[CatalogEntry]:
    """Every result with its task's payload (the source text), oldest first."""
    payloads_key = board.keys.project(project_id).payloads
    entries: list[CatalogEntry] = []
    after = FIRST_CURSOR
    while True:
        page = await board.run(read_results(board.keys, project_id, after, EXPORT_PAGE))
        task_ids = [entry.task_id for entry in page.items]
        raw: list[Any] = (
            await board.run(
                Commands([("HMGET", payloads_key, *task_ids)], lambda replies: replies[0])
            )
            if task_ids
            else []
        )
        for entry, payload in zip(page.items, raw, strict=True):
            entries.append(
                CatalogEntry(
                    task_id=entry.task_id,
                    external_id=entry.external_id,
                    answer=entry.answer,
                    confidence=entry.confidence,
                    method=entry.method,
                    payload=json.loads(payload) if payload else {},
                )
            )
        if len(page.items) < EXPORT_PAGE:
            return entries
        after = page.next


def _catalog_formats(task_type: str) -> frozenset[str]:
    """The catalog formats a project's type exports (none when not installed here)."""
    try:
        return get_task_type(task_type).catalog_formats
    except UnknownTaskType:
        return frozenset()


@router.get(
    "/export",
    response_class=StreamingResponse,
    summary="Every result of the project: JSONL or CSV (streamed), PO or XLIFF (catalogs)",
    description="`format=jsonl` (default): one result object per line. `format=csv`: columns "
    f"{', '.join(CSV_COLUMNS)}, with `answer` as JSON; cells a spreadsheet would run as a "
    "formula are prefixed with `'`. `format=po|xliff` (task types made of translation-catalog "
    "units, such as translation): a PO or XLIFF 1.2 file with each answered sentence (source "
    f"from the task), results below {CATALOG_REVIEW_BELOW} confidence marked for review.",
    responses={
        200: {
            "description": "The results, oldest first",
            "content": {media.split(";")[0]: {} for media in EXPORT_FORMATS.values()},
        },
        **error_responses(401, 403, 404, 422),
    },
)
async def export(
    project_id: OwnedProjectId,
    board: BoardDep,
    format: Annotated[str, Query(max_length=16)] = "jsonl",
) -> Response:
    fmt = format.lower()
    if fmt not in EXPORT_FORMATS:
        raise UnsupportedFormat(
            f"export formats: {', '.join(EXPORT_FORMATS)}",
            [{"loc": ["query", "format"], "supported": list(EXPORT_FORMATS)}],
        )
    if fmt in CATALOG_FORMATS:
        document = await board.run(board.ops.project_document(project_id))
        task_type = str(document.get("task_type"))
        catalogs = _catalog_formats(task_type)
        if fmt not in catalogs:
            raise UnsupportedFormat(
                f"this project's task type ({task_type}) does not export {fmt} files",
                [{"loc": ["query", "format"], "supported": ["jsonl", "csv", *sorted(catalogs)]}],
            )
        return Response(
            build_catalog(fmt, await _catalog_entries(board, project_id), CATALOG_REVIEW_BELOW),
            media_type=EXPORT_FORMATS[fmt],
            headers={"Content-Disposition": f'attachment; filename="{project_id}-results.{fmt}"'},
        )
    extension = "jsonl" if fmt == "jsonl" else "csv"
    return StreamingResponse(
        _export(board, project_id, fmt),
        media_type=EXPORT_FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{project_id}-results.{extension}"'},
    )
