"""A project's results as a table for people: one CSV column per answer field.

The API's CSV export keeps the answer as one JSON cell (a program reads it back whole); a
person opening the file in a spreadsheet wants a column per field. This table is what the
console's "Results as CSV" download serves:

- ``task_id``, ``external_id``; ``source_text`` for a type made of translation-catalog units
  (the sentence the answer translates, from the task's payload);
- one column ``answer.<field>`` per answer field, nested objects flattened with dots
  (``answer.values.amount``), in the order first met; a list of words joined with ``|`` (as
  the CSV upload reads them back), any other list as JSON; an empty cell for a field an answer
  lacks, and for every field of a task a reviewer rejected;
- ``confidence`` rounded to 3 places, ``method``, ``decided_at`` (ISO 8601, UTC).

Streamed: a first pass over the results finds the answer columns (the header comes first),
a second writes the rows, one page of results (:data:`~core.delivery.export.EXPORT_PAGE`)
in memory at a time. Cells a spreadsheet would run as a formula are prefixed with ``'``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

from core.board.runner import AsyncBoard
from core.delivery.export import catalog_formats, csv_line, payloads_of, result_pages, safe_cell
from core.delivery.results import ResultEntry

__all__ = ["flat_answer", "result_table"]

_SEPARATOR = "|"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(
        isinstance(item, str) and _SEPARATOR not in item for item in value
    ):
        return _SEPARATOR.join(value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _flat(value: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for name, inner in value.items():
        key = f"{prefix}.{name}"
        if isinstance(inner, dict) and inner:
            yield from _flat(inner, key)
        else:
            yield key, inner


def flat_answer(answer: dict[str, Any] | None) -> dict[str, str]:
    """An answer as ``{"answer.<dotted field>": cell text}``."""
    return {key: _cell(value) for key, value in _flat(answer or {}, "answer")}


async def _answer_columns(board: AsyncBoard, project_id: str) -> list[str]:
    columns: dict[str, None] = {}  # ordered set
    async for entries in result_pages(board, project_id):
        for entry in entries:
            for key in flat_answer(entry.answer):
                columns.setdefault(key)
    return list(columns)


def _row(entry: ResultEntry, columns: list[str], source: dict[str, Any] | None) -> list[str]:
    answer = flat_answer(entry.answer)
    decided = datetime.fromtimestamp(entry.decided_at_ms / 1000, tz=UTC)
    row = [entry.task_id, safe_cell(entry.external_id or "")]
    if source is not None:
        row.append(safe_cell(_cell(source.get("source_text"))))
    row += [safe_cell(answer.get(column, "")) for column in columns]
    row += [
        f"{entry.confidence:.3f}",
        safe_cell(entry.method),
        decided.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    ]
    return row


async def result_table(board: AsyncBoard, project_id: str, task_type: str) -> AsyncIterator[str]:
    """The CSV's lines (see the module docstring), a page of results at a time."""
    columns = await _answer_columns(board, project_id)
    with_source = bool(catalog_formats(task_type))
    header = ["task_id", "external_id", *(["source_text"] if with_source else []), *columns]
    yield csv_line([*header, "confidence", "method", "decided_at"])
    async for entries in result_pages(board, project_id):
        sources: list[dict[str, Any] | None] = (
            list(await payloads_of(board, project_id, [entry.task_id for entry in entries]))
            if with_source
            else [None] * len(entries)
        )
        yield "".join(
            csv_line(_row(entry, columns, source))
            for entry, source in zip(entries, sources, strict=True)
        )
