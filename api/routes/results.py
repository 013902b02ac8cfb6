"""Results of a project: read by cursor, or exported whole (JSONL or CSV, streamed; PO or
XLIFF 1.2, built whole since a catalog is one document, for a project whose task type lists the
format in its ``catalog_formats``, as translation does)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.deps import BoardDep, OwnedProjectId
from api.openapi.error_responses import error_responses
from core.delivery.export import (
    CATALOG_REVIEW_BELOW,
    CSV_COLUMNS,
    EXPORT_FORMATS,
    ResultOut,
    catalog_entries,
    catalog_formats,
    export_lines,
    result_out,
)
from core.delivery.results import FIRST_CURSOR, MAX_PAGE, parse_cursor, read_results
from core.errors import UnsupportedFormat
from task_types.base import CATALOG_FORMATS
from task_types.catalog_export import build_catalog

__all__ = ["router"]

router = APIRouter(prefix="/v1/projects/{project_id}", tags=["results"])


class ResultsPage(BaseModel):
    items: list[ResultOut]
    next: str = Field(
        description="Pass as `after` to continue. Always set, also on the last page so far: "
        "polling with it later returns only newer results, never one twice, never skipping one."
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
    return ResultsPage(items=[result_out(entry) for entry in page.items], next=page.next)


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
        catalogs = catalog_formats(task_type)
        if fmt not in catalogs:
            raise UnsupportedFormat(
                f"this project's task type ({task_type}) does not export {fmt} files",
                [{"loc": ["query", "format"], "supported": ["jsonl", "csv", *sorted(catalogs)]}],
            )
        return Response(
            build_catalog(fmt, await catalog_entries(board, project_id), CATALOG_REVIEW_BELOW),
            media_type=EXPORT_FORMATS[fmt],
            headers={"Content-Disposition": f'attachment; filename="{project_id}-results.{fmt}"'},
        )
    extension = "jsonl" if fmt == "jsonl" else "csv"
    return StreamingResponse(
        export_lines(board, project_id, fmt),
        media_type=EXPORT_FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{project_id}-results.{extension}"'},
    )
