"""The results of a catalog type as a whole PO or XLIFF 1.2 file (translate-toolkit).

A catalog type (``TaskType.catalog_formats``: translation) has tasks whose payload is a catalog
unit (``source_text``, ``source_lang``, ``target_lang``) and answers carrying the ``text``. Both
the server's export (``GET /v1/projects/{id}/export?format=po|xliff``) and the NGO's
``ruche results --format po|xliff`` build their files here. A result carries the answer, not the
source text, so each entry pairs a result with its task's payload. Two tasks with the same source
are told apart by a msgctxt (PO) or by their task id (XLIFF); rejected results (no answer) are
left out; results below ``review_below`` confidence are marked for review (PO fuzzy, XLIFF
``needs-review-translation``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # (translate-toolkit's own dependency)
from translate.storage import pypo, xliff

__all__ = ["CatalogEntry", "build_catalog"]

# translate-toolkit's own empty XLIFF says version 1.1; start from a 1.2 document instead.
_XLIFF_FILE = "results"
_XLIFF_12 = b"""<?xml version="1.0" encoding="UTF-8"?>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">
<file original="results" datatype="plaintext" source-language="en"><body></body></file>
</xliff>
"""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One result with what the file needs of it and of its task."""

    task_id: str
    external_id: str | None
    answer: Mapping[str, Any] | None
    confidence: float
    method: str
    payload: Mapping[str, Any]

    @property
    def text(self) -> str | None:
        value = self.answer.get("text") if self.answer is not None else None
        return value if isinstance(value, str) else None

    def note(self) -> str:
        return (
            f"ruche: task {self.task_id}, external id {self.external_id or '-'}, "
            f"confidence {self.confidence:.2f}, {self.method}"
        )


def build_catalog(kind: str, entries: Sequence[CatalogEntry], review_below: float) -> bytes:
    """A PO (``kind="po"``) or XLIFF 1.2 file of the answered entries."""
    answered = [entry for entry in entries if entry.text is not None]
    source = next((str(e.payload.get("source_lang", "")) for e in answered), "")
    target = next((str(e.payload.get("target_lang", "")) for e in answered), "")
    if kind == "po":
        return _po(answered, target, review_below)
    return _xliff(answered, source, target, review_below)


def _po(entries: Sequence[CatalogEntry], target: str, review_below: float) -> bytes:
    store: Any = pypo.pofile()
    store.updateheader(
        add=True,
        Language=target.replace("-", "_"),
        Content_Type="text/plain; charset=UTF-8",
        Content_Transfer_Encoding="8bit",
        X_Generator="ruche",
    )
    seen: set[str] = set()
    for entry in entries:
        text = str(entry.payload.get("source_text", ""))
        unit: Any = store.addsourceunit(text)
        if text in seen:
            unit.setcontext(entry.external_id or entry.task_id)
        seen.add(text)
        unit.target = entry.text or ""
        unit.addnote(entry.note(), origin="developer")
        unit.markfuzzy(entry.confidence < review_below)
    return bytes(store)


def _xliff(entries: Sequence[CatalogEntry], source: str, target: str, review_below: float) -> bytes:
    xliff_file: Any = xliff.xlifffile  # translate-toolkit leaves parsestring untyped
    store: Any = xliff_file.parsestring(_XLIFF_12)
    store.setsourcelanguage(source or "en")
    if target:
        store.settargetlanguage(target)
    for entry in entries:
        unit: Any = store.addsourceunit(str(entry.payload.get("source_text", "")), _XLIFF_FILE)
        unit.setid(entry.task_id)
        unit.target = entry.text or ""
        unit.addnote(entry.note(), origin="developer")
        unit.set_state_n(
            unit.S_NEEDS_REVIEW if entry.confidence < review_below else unit.S_TRANSLATED
        )
    etree.cleanup_namespaces(store.document)  # units are made in 1.1's namespace, then moved
    return bytes(store)
