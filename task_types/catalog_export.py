"""The results of a catalog type as a whole PO or XLIFF 1.2 file (translate-toolkit).

A catalog type (``TaskType.catalog_formats``: translation) has tasks whose payload is a catalog
unit (``source_text``, ``source_lang``, ``target_lang``) and answers carrying the ``text``. Both
the server's export (``GET /v1/projects/{id}/export?format=po|xliff``) and the NGO's
``ruche results --format po|xliff`` build their files here. A result carries the answer, not the
source text, so each entry pairs a result with its task's payload. Two tasks with the same source
are told apart by a msgctxt (PO) or by their task id (XLIFF); the two tasks of a PO entry with a
plural (``#0``, ``#1``) become one entry again, msgid_plural and both forms; rejected results (no
answer) are left out; results below ``review_below`` confidence are marked for review (PO fuzzy,
XLIFF ``needs-review-translation``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # (translate-toolkit's own dependency)
from translate.misc.multistring import multistring
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
    plurals = _plural_pairs(entries)
    if plurals:
        store.updateheader(add=True, Plural_Forms="nplurals=2; plural=(n != 1);")
    paired = {id(entry) for pair in plurals.values() for entry in pair}
    seen: set[str] = set()
    for entry in entries:
        if id(entry) in paired and entry is not plurals[_plural_base(entry)][0]:
            continue  # the plural form: written with its singular, below
        text = str(entry.payload.get("source_text", ""))
        pair = plurals.get(_plural_base(entry)) if id(entry) in paired else None
        unit: Any = store.addsourceunit(
            multistring([text, str(pair[1].payload.get("source_text", ""))]) if pair else text
        )
        if text in seen:
            unit.setcontext(entry.external_id or entry.task_id)
        seen.add(text)
        if pair:
            unit.target = multistring([pair[0].text or "", pair[1].text or ""])
            unit.addnote(pair[0].note() + "; plural: " + pair[1].note(), origin="developer")
            unit.markfuzzy(min(pair[0].confidence, pair[1].confidence) < review_below)
            continue
        unit.target = entry.text or ""
        unit.addnote(entry.note(), origin="developer")
        unit.markfuzzy(entry.confidence < review_below)
    return bytes(store)


#: A PO entry with a plural was submitted as two tasks, ``<id>#0`` (singular) and ``<id>#1``
#: (plural; ``producers.formats.catalogs``): they go back into one entry, msgid_plural included.
_PLURAL_FORM = re.compile(r"^(po:.+)#([01])$")


def _plural_base(entry: CatalogEntry) -> str | None:
    found = _PLURAL_FORM.match(entry.external_id or "")
    return found.group(1) if found else None


def _plural_pairs(entries: Sequence[CatalogEntry]) -> dict[str | None, tuple[CatalogEntry, ...]]:
    """Singular and plural entries of one PO entry, by its id, when both were answered."""
    forms: dict[str, dict[str, CatalogEntry]] = {}
    for entry in entries:
        found = _PLURAL_FORM.match(entry.external_id or "")
        if found:
            forms.setdefault(found.group(1), {})[found.group(2)] = entry
    return {base: (pair["0"], pair["1"]) for base, pair in forms.items() if len(pair) == 2}


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
