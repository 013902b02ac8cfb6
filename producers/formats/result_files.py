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

from lxml import etree  # type: ignore[import-untyped]  # (translate-toolkit's own dependency)
from translate.storage import pypo, xliff

from producers.models import Result

__all__ = ["CSV_COLUMNS", "build_catalog", "csv_header", "csv_line", "jsonl_line"]

CSV_COLUMNS = ("task_id", "external_id", "answer", "confidence", "method", "decided_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# translate-toolkit's own empty XLIFF says version 1.1; start from a 1.2 document instead.
_XLIFF_FILE = "results"
_XLIFF_12 = b"""<?xml version="1.0" encoding="UTF-8"?>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">
<file original="results" datatype="plaintext" source-language="en"><body></body></file>
</xliff>
"""


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


def _note(result: Result) -> str:
    return (
        f"ruche: task {result.task_id}, external id {result.external_id or '-'}, "
        f"confidence {result.confidence:.2f}, {result.method}"
    )


def build_catalog(
    kind: str, entries: Sequence[tuple[Result, dict[str, Any]]], review_below: float
) -> bytes:
    """A PO or XLIFF 1.2 file holding each answered translation result with its source.

    ``entries`` pairs each result with its task's payload. Two tasks with the same source text
    are told apart by a msgctxt (PO) or their task id (XLIFF); rejected results are left out.
    """
    answered = [
        (result, payload)
        for result, payload in entries
        if result.answer is not None and isinstance(result.answer.get("text"), str)
    ]
    source = next((str(p.get("source_lang", "")) for _, p in answered), "")
    target = next((str(p.get("target_lang", "")) for _, p in answered), "")
    if kind == "po":
        return _po(answered, target, review_below)
    return _xliff(answered, source, target, review_below)


def _po(
    entries: Sequence[tuple[Result, dict[str, Any]]], target: str, review_below: float
) -> bytes:
    store: Any = pypo.pofile()
    store.updateheader(
        add=True,
        Language=target.replace("-", "_"),
        Content_Type="text/plain; charset=UTF-8",
        Content_Transfer_Encoding="8bit",
        X_Generator="ruche results",
    )
    seen: set[str] = set()
    for result, payload in entries:
        text = str(payload.get("source_text", ""))
        unit: Any = store.addsourceunit(text)
        if text in seen:
            unit.setcontext(result.external_id or result.task_id)
        seen.add(text)
        unit.target = str(result.answer["text"]) if result.answer else ""
        unit.addnote(_note(result), origin="developer")
        unit.markfuzzy(result.confidence < review_below)
    return bytes(store)


def _xliff(
    entries: Sequence[tuple[Result, dict[str, Any]]],
    source: str,
    target: str,
    review_below: float,
) -> bytes:
    xliff_file: Any = xliff.xlifffile  # translate-toolkit leaves parsestring untyped
    store: Any = xliff_file.parsestring(_XLIFF_12)
    store.setsourcelanguage(source or "en")
    if target:
        store.settargetlanguage(target)
    for result, payload in entries:
        unit: Any = store.addsourceunit(str(payload.get("source_text", "")), _XLIFF_FILE)
        unit.setid(result.task_id)
        unit.target = str(result.answer["text"]) if result.answer else ""
        unit.addnote(_note(result), origin="developer")
        unit.set_state_n(
            unit.S_NEEDS_REVIEW if result.confidence < review_below else unit.S_TRANSLATED
        )
    etree.cleanup_namespaces(store.document)  # units are made in 1.1's namespace, then moved
    return bytes(store)
