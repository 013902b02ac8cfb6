"""Results as the NGO reads them: JSON lines, CSV, or a new PO / XLIFF 1.2 file.

JSONL and CSV print one result at a time (``--follow`` can stream them); CSV has the columns of
the server's own export, with cells a spreadsheet would run as a formula prefixed with ``'``.
PO and XLIFF are whole documents built from the results *and* their tasks' payloads (the
source text lives in the task, not the result): for writing into the very file that was
submitted, ``ruche results --into`` (:meth:`Catalog.apply`) is the better tool.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from producers.models import Result
from task_types import catalog_export

__all__ = ["CSV_COLUMNS", "build_catalog", "csv_header", "csv_line", "jsonl_line"]

CSV_COLUMNS = ("task_id", "external_id", "answer", "confidence", "method", "decided_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def jsonl_line(result: Result) -> str:
    return result.model_dump_json() + "\n"


def _safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(row: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(row)
    return buffer.getvalue()


def csv_header() -> str:
    return _csv(CSV_COLUMNS)


def csv_line(result: Result) -> str:
    answer = json.dumps(result.answer, ensure_ascii=False, separators=(",", ":"))
    return _csv(
        [
            result.task_id,
            _safe(result.external_id or ""),
            answer,
            repr(result.confidence),
            _safe(result.method),
            result.decided_at.isoformat().replace("+00:00", "Z"),
        ]
    )


def build_catalog(
    kind: str, entries: Sequence[tuple[Result, dict[str, Any]]], review_below: float
) -> bytes:
    """A PO or XLIFF 1.2 file holding each answered translation result with its source
    (``task_types.catalog_export``, which the server's export uses too). ``entries`` pairs
    each result with its task's payload."""
    return catalog_export.build_catalog(
        kind,
        [
            catalog_export.CatalogEntry(
                task_id=result.task_id,
                external_id=result.external_id,
                answer=result.answer,
                confidence=result.confidence,
                method=result.method,
                payload=payload,
            )
            for result, payload in entries
        ],
        review_below,
    )
