"""PO and XLIFF (1.2 and 2.x) files, through translate-toolkit: their untranslated units become
translation tasks, and results are written back into the same file.

**Which units.** Those with no translation at all; translated, fuzzy, obsolete, header and
``translate="no"`` units are left alone. A PO entry with a plural gives two tasks, its singular
and its plural source (``#0``, ``#1``).

**External ids** identify the unit *in its target language*, so one file can be re-submitted
(nothing is created twice), and ``ruche results --into`` finds the unit again in that file or in
a newer one. They hold no line numbers, which change with every edit:

- PO: ``po:<lang>:<32 hex>`` (+ ``#0``/``#1`` for plural forms), hex from SHA-256 of msgctxt,
  msgid and msgid_plural: what gettext itself uses to tell entries apart;
- XLIFF: ``xlf:<lang>:<file>/<unit id>#<10 hex of the source text>``: the unit's own id, plus the
  source so that a unit whose text was changed under the same id is a new task, not the old
  translation back (over 200 characters: ``xlf:<lang>:#<40 hex>``).

**Writing back.** A unit still untranslated, or marked for review by an earlier write-back,
gets the result's text. Results whose confidence is below ``review_below`` are marked as
needing review: PO ``#, fuzzy``, XLIFF 1.2 ``state="needs-review-translation"``, XLIFF 2
``state="initial"``; the others as translated. A PO entry with a format flag (``c-format``,
``python-format``, ``python-brace-format``) whose translation lost or gained a placeholder is
marked fuzzy whatever its confidence, so ``msgfmt --check`` keeps passing. Results a reviewer
rejected (no answer) leave their unit untranslated.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translate.misc.multistring import multistring
from translate.storage import pypo, xliff, xliff2

from producers.downloads import atomic_file
from producers.models import Result

__all__ = [
    "CATALOG_SUFFIXES",
    "Catalog",
    "CatalogUnit",
    "WriteBack",
    "bcp47",
    "catalog_kind",
]

CATALOG_SUFFIXES = {".po": "po", ".pot": "po", ".xlf": "xliff", ".xliff": "xliff"}
MAX_CONTEXT_CHARS = 2_000  # task_types.translation.models
MAX_EXTERNAL_ID_CHARS = 200
_FORMAT_FLAGS = ("c-format", "python-format", "python-brace-format")
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[hlLqjzt]*[a-zA-Z%]")
_BRACE = re.compile(r"\{[^{}]*\}")
_SCRIPTS = {"latin": "Latn", "cyrillic": "Cyrl", "arabic": "Arab", "devanagari": "Deva"}
_MSGID_LINE = re.compile(rb"^(#~\s*)?msgid\s")
_XLIFF2_NS = b"urn:oasis:names:tc:xliff:document:2"


def catalog_kind(path: Path) -> str | None:
    return CATALOG_SUFFIXES.get(path.suffix.lower())


def bcp47(tag: str | None) -> str | None:
    """A gettext locale (``pt_BR``, ``sr@latin``) as a BCP-47 tag (``pt-BR``, ``sr-Latn``)."""
    if not tag or not tag.strip():
        return None
    base, _, modifier = tag.strip().partition("@")
    base = base.split(".", 1)[0].replace("_", "-")  # pt_BR.UTF-8
    script = _SCRIPTS.get(modifier.lower())
    if script:
        language, _, region = base.partition("-")
        base = "-".join(part for part in (language, script, region) if part)
    return base


def _digest(*parts: str, length: int) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def _clip(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    return text if len(text) <= MAX_CONTEXT_CHARS else text[: MAX_CONTEXT_CHARS - 1] + "…"


def _placeholders(text: str, flags: set[str]) -> Counter[str]:
    found: Counter[str] = Counter()
    if flags & {"c-format", "python-format"}:
        found.update(p for p in _PRINTF.findall(text) if p != "%%")
    if "python-brace-format" in flags:
        found.update(_BRACE.findall(text))
    return found


@dataclass(frozen=True, slots=True)
class CatalogUnit:
    """One text to translate, as a translation task will carry it."""

    external_id: str
    source_text: str
    context: str | None
    line: int | None
    label: str


@dataclass
class WriteBack:
    """What a write-back did, in units of the file."""

    translated: int = 0
    needs_review: int = 0
    rejected: int = 0
    waiting: int = 0  # submitted units whose result has not come yet
    ids: list[str] = field(default_factory=list)


class Catalog:
    """A PO or XLIFF file held in memory; ``store`` is translate-toolkit's object."""

    def __init__(self, kind: str, store: Any, data: bytes) -> None:
        self.kind = kind  # "po", "xliff" (1.x) or "xliff2"
        self.store = store
        self._msgid_lines = _po_msgid_lines(data) if kind == "po" else []

    @classmethod
    def parse(cls, data: bytes, kind: str) -> Catalog:
        """``kind``: ``po`` or ``xliff`` (whose version, 1.x or 2.x, is read from the file)."""
        if kind == "po":
            return cls("po", _parse(pypo.pofile, data), data)
        if _XLIFF2_NS in data[:4096] or re.search(rb"<xliff[^>]*version=.2\.", data[:4096]):
            return cls("xliff2", _parse(xliff2.Xliff2File, data), data)
        return cls("xliff", _parse(xliff.xlifffile, data), data)

    @classmethod
    def load(cls, path: Path, kind: str | None = None) -> Catalog:
        kind = kind or catalog_kind(path)
        if kind is None:
            raise ValueError(f"{path.name}: not a .po, .pot, .xlf or .xliff file")
        return cls.parse(path.read_bytes(), kind)

    # -- languages ----------------------------------------------------------------------------

    @property
    def source_language(self) -> str | None:
        if self.kind == "po":
            header = self.store.parseheader()
            return bcp47(header.get("X-Source-Language"))
        return bcp47(self.store.getsourcelanguage())

    @property
    def target_language(self) -> str | None:
        return bcp47(self.store.gettargetlanguage())

    # -- reading ------------------------------------------------------------------------------

    def untranslated(self, target_lang: str) -> Iterator[CatalogUnit]:
        """The units to translate, in file order."""
        lang = target_lang.lower()
        for index, unit in enumerate(self.store.units):
            if self.kind == "po":
                if _po_skipped(unit) or _po_has_target(unit):
                    continue
                yield from self._po_units(unit, index, lang)
            else:
                if not unit.istranslatable() or unit.target:
                    continue
                source = str(unit.source or "")
                if not source.strip():
                    continue
                yield CatalogUnit(
                    external_id=_xliff_id(lang, unit.getid(), source),
                    source_text=source,
                    context=_clip(_xliff_notes(self.kind, unit)),
                    line=unit.xmlelement.sourceline,
                    label=f"unit {_local_id(unit.getid())}",
                )

    def _po_units(self, unit: Any, index: int, lang: str) -> Iterator[CatalogUnit]:
        strings = [str(s) for s in unit.source.strings] if unit.hasplural() else [str(unit.source)]
        if not strings[0].strip():
            return
        ids = _po_ids(lang, unit)
        context = str(unit.getcontext() or "")
        notes = str(unit.getnotes("developer") or "")
        line = self._msgid_lines[index] if index < len(self._msgid_lines) else None
        preview = strings[0] if len(strings[0]) <= 40 else strings[0][:39] + "…"
        for form, (external_id, text) in enumerate(zip(ids, strings, strict=False)):
            parts = [f"Context: {context}" if context else "", notes]
            if len(strings) > 1:
                parts.append(
                    f"Singular form; the plural is: {strings[1]}"
                    if form == 0
                    else f"Plural form (for several); the singular is: {strings[0]}"
                )
            yield CatalogUnit(
                external_id=external_id,
                source_text=text,
                context=_clip("\n".join(p for p in parts if p)),
                line=line,
                label=f"msgid {preview!r}" + (f" form {form}" if len(strings) > 1 else ""),
            )

    # -- writing back -------------------------------------------------------------------------

    def apply(
        self, results: Mapping[str, Result], target_lang: str, review_below: float
    ) -> WriteBack:
        """Write ``results`` (by external id) into the units they answer."""
        lang = target_lang.lower()
        report = WriteBack()
        for unit in self.store.units:
            if self.kind == "po":
                if _po_skipped(unit) or (_po_has_target(unit) and not unit.isfuzzy()):
                    continue
                self._apply_po(unit, _po_ids(lang, unit), results, review_below, report)
            elif unit.istranslatable() and (not unit.target or _xliff_marked(self.kind, unit)):
                source = str(unit.source or "")
                if source.strip():
                    found = results.get(_xliff_id(lang, unit.getid(), source))
                    self._apply_xliff(unit, found, review_below, report)
        return report

    def _apply_po(
        self,
        unit: Any,
        ids: list[str],
        results: Mapping[str, Result],
        review_below: float,
        report: WriteBack,
    ) -> None:
        found = [results.get(external_id) for external_id in ids]
        if any(result is None for result in found):
            report.waiting += not _po_has_target(unit)  # a fuzzy entry was never submitted
            return
        texts = [_text(result) for result in found]
        if not all(texts):
            report.rejected += 1
            return
        low = any(result is not None and result.confidence < review_below for result in found)
        sources = [str(s) for s in unit.source.strings] if unit.hasplural() else [str(unit.source)]
        if unit.hasplural():
            count = _nplurals(self.store)
            forms = [texts[0], *[texts[1]] * (count - 1)] if count > 1 else [texts[1]]
            unit.target = multistring(forms)
            low = low or count > 2  # the third and later forms are guesses: a person checks
        else:
            unit.target = texts[0]
        flags = {flag for flag in _FORMAT_FLAGS if unit.hastypecomment(flag)}
        if flags and any(
            _placeholders(text, flags) != _placeholders(source, flags)
            for text, source in zip(texts, sources, strict=True)
        ):
            low = True
        unit.markfuzzy(low)
        report.needs_review += low
        report.translated += not low
        report.ids += ids

    def _apply_xliff(
        self, unit: Any, result: Result | None, review_below: float, report: WriteBack
    ) -> None:
        if result is None:
            report.waiting += not unit.target  # one marked for review has its result already
            return
        text = _text(result)
        if not text:
            report.rejected += 1
            return
        unit.target = text
        low = result.confidence < review_below
        if self.kind == "xliff2":
            if low:
                unit.markfuzzy(True)
            else:
                unit.marktranslated()
        else:
            unit.set_state_n(unit.S_NEEDS_REVIEW if low else unit.S_TRANSLATED)
        report.needs_review += low
        report.translated += not low
        report.ids.append(result.external_id or "")

    def to_bytes(self) -> bytes:
        return bytes(self.store)

    def save(self, path: Path) -> None:
        """Replace ``path`` with this catalog in one step (a crash leaves the old file whole)."""
        data = self.to_bytes()
        with atomic_file(path) as out:
            out.write(data)


def _parse(kind: Any, data: bytes) -> Any:
    return kind.parsestring(data)


def _text(result: Result | None) -> str:
    if result is None or result.answer is None:
        return ""
    text = result.answer.get("text")
    return text if isinstance(text, str) else ""


def _po_skipped(unit: Any) -> bool:
    return bool(unit.isheader() or unit.isobsolete() or not unit.istranslatable())


def _po_has_target(unit: Any) -> bool:
    if unit.hasplural():
        return any(str(s) for s in unit.target.strings)
    return bool(unit.target)


def _po_ids(lang: str, unit: Any) -> list[str]:
    strings = [str(s) for s in unit.source.strings] if unit.hasplural() else [str(unit.source)]
    plural = strings[1] if len(strings) > 1 else ""
    base = f"po:{lang}:" + _digest(str(unit.getcontext() or ""), strings[0], plural, length=32)
    return [f"{base}#{form}" for form in range(2)] if unit.hasplural() else [base]


def _nplurals(store: Any) -> int:
    forms = str(store.parseheader().get("Plural-Forms", ""))
    found = re.search(r"nplurals\s*=\s*(\d+)", forms)
    return max(1, int(found.group(1))) if found else 2


def _po_msgid_lines(data: bytes) -> list[int]:
    """The line of each entry's ``msgid``, header and obsolete entries included (the order of
    translate-toolkit's units); previous-msgid comments (``#|``) are not entries."""
    return [n for n, line in enumerate(data.split(b"\n"), start=1) if _MSGID_LINE.match(line)]


def _local_id(unit_id: str) -> str:
    return str(unit_id).replace("\x04", "/")


def _xliff_id(lang: str, unit_id: str, source: str) -> str:
    local = _local_id(unit_id)
    readable = f"xlf:{lang}:{local}#{_digest(source, length=10)}"
    if len(readable) <= MAX_EXTERNAL_ID_CHARS:
        return readable
    return f"xlf:{lang}:#" + _digest(local, source, length=40)


def _xliff_marked(kind: str, unit: Any) -> bool:
    """Marked for review by an earlier write-back (so a newer result may replace it)."""
    if kind == "xliff2":
        return bool(unit.xmlelement.get("state") == "initial")
    return bool(unit.get_state_n() == unit.S_NEEDS_REVIEW)


def _xliff_notes(kind: str, unit: Any) -> str:
    """The unit's notes; XLIFF 2 keeps them on the ``<unit>``, around its segments."""
    if kind != "xliff2":
        return str(unit.getnotes() or "")
    element = unit.getunitelement()
    notes = element.iter("{*}note")
    return "\n".join(note.text.strip() for note in notes if note.text and note.text.strip())
