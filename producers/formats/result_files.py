"""Results as the NGO reads them: JSON lines, CSV, or a new PO / XLIFF 1.2 file.

JSONL and CSV print one result at a time (``--follow`` can stream them); CSV has a column per
answer field (and the source text for translations, read from each task), with cells a
spreadsheet would run as a formula prefixed with ``'``.
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

__all__ = ["CsvResults", "build_catalog", "jsonl_line"]

#: The columns before the answer's, and after it.
LEADING_COLUMNS = ("task_id", "external_id")
TRAILING_COLUMNS = ("confidence", "method", "decided_at")
#: Answer fields a later result has that the header (made from the first results) does not name:
#: kept, as JSON, rather than lost.
OTHER_COLUMN = "answer_other"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CONFIDENCE_PLACES = 3


def jsonl_line(result: Result) -> str:
    return result.model_dump_json() + "\n"


def _safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(row: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(row)
    return buffer.getvalue()


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """An answer as one cell per field: nested objects by dotted names (``values.amount``)."""
    if isinstance(value, dict):
        cells: dict[str, Any] = {}
        for key, item in value.items():
            cells.update(_flat(item, f"{prefix}{key}."))
        return cells
    return {prefix.removesuffix("."): value}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _safe(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return _safe("|".join(value))  # as `ruche submit` reads a list: ok|spam
    return _safe(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


class CsvResults:
    """Results as a spreadsheet reads them: one column per answer field (named after the
    answer, dotted where it nests), the source text for translations (``with_source``),
    confidence to three places. The answer's columns come from the first results seen
    (``header``); a later result's field outside them goes to ``answer_other`` as JSON."""

    def __init__(self, *, with_source: bool = False) -> None:
        self.with_source = with_source
        self.answer_columns: list[str] = []
        self.started = False

    def header(self, first: Sequence[Result]) -> str:
        self.started = True
        for result in first:
            for name in _flat(result.answer or {}):
                if name not in self.answer_columns:
                    self.answer_columns.append(name)
        source = ["source_text"] if self.with_source else []
        return _csv(
            [*LEADING_COLUMNS, *source, *self.answer_columns, *TRAILING_COLUMNS, OTHER_COLUMN]
        )

    def line(self, result: Result, source: str | None = None) -> str:
        cells = _flat(result.answer or {})
        other = {name: value for name, value in cells.items() if name not in self.answer_columns}
        return _csv(
            [
                result.task_id,
                _safe(result.external_id or ""),
                *([_safe(source or "")] if self.with_source else []),
                *(_cell(cells.get(name)) for name in self.answer_columns),
                f"{result.confidence:.{CONFIDENCE_PLACES}f}",
                _safe(result.method),
                result.decided_at.isoformat().replace("+00:00", "Z"),
                json.dumps(other, ensure_ascii=False, separators=(",", ":")) if other else "",
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
