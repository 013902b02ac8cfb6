"""The translation workbench: what the translation task page shows beside the source.

- :func:`mark_glossary`: the source cut into plain and glossary-term segments, for
  ``work/workbench_source.html`` (the terms marked, each with its imposed translation).
- :func:`similar_results` (:mod:`web.work.translation_memory`): up to three past results of the
  same project whose source is close to this one (``work/workbench_memory.html``).
- :func:`translation_checks` (:mod:`web.work.translation_checks`): warnings before submit
  (``work/workbench_checks.html``).
- :func:`workbench`: all of it for one task, in the :class:`Workbench` the partials expect.

No HTTP here: the task page's route calls :func:`workbench` with the app's Redis client.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.redis.keys import Keys
from task_types.translation.scripts import script_of
from web.i18n import is_rtl
from web.work.translation_checks import (
    CHECK_LIMITS,
    CHECK_MESSAGES,
    Check,
    translation_checks,
)
from web.work.translation_memory import (
    MEMORY_CUTOFF,
    MEMORY_WINDOW,
    Match,
    TranslationMemory,
    similar_results,
)

__all__ = [
    "CHECK_MESSAGES",
    "MEMORY_CUTOFF",
    "MEMORY_WINDOW",
    "Check",
    "Match",
    "Segment",
    "TranslationMemory",
    "Workbench",
    "glossary_entries",
    "mark_glossary",
    "similar_results",
    "translation_checks",
    "workbench",
]

# -- glossary ------------------------------------------------------------------------------------

#: A glossary value: the imposed translation, or ``{"translation": …, "note": …}``.
GlossaryValue = str | Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of the source: plain text, or a glossary term (``term`` set) as it is written in
    the source (``text``), with the glossary's spelling, translation and note."""

    text: str
    term: str | None = None
    translation: str | None = None
    note: str | None = None

    @property
    def is_term(self) -> bool:
        return self.term is not None


# Scripts written without spaces between words: a term in them has no word boundary to wait for.
_UNSPACED_SCRIPTS = frozenset({"CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR"})


def _is_word_char(char: str) -> bool:
    """A letter, digit or underscore (as ``\\w``), or a combining mark, which ``\\w`` forgets:
    the accent of a decomposed "é", an Indic vowel sign, an Arabic vowel mark."""
    return char.isalnum() or char == "_" or unicodedata.category(char).startswith("M")


def _needs_boundary(char: str) -> bool:
    return _is_word_char(char) and script_of(char) not in _UNSPACED_SCRIPTS


@dataclass(frozen=True, slots=True)
class _TermPattern:
    pattern: re.Pattern[str]
    boundary_before: bool
    boundary_after: bool


@lru_cache(maxsize=2048)
def _term_pattern(term: str) -> _TermPattern | None:
    """The term in either Unicode normal form, any run of spaces for its spaces, case-blind;
    and whether it needs a word boundary on each side (it ends in a letter or digit of a script
    written with spaces)."""
    words = unicodedata.normalize("NFC", term).split()
    if not words:
        return None
    variants = sorted(
        {unicodedata.normalize(form, " ".join(words)) for form in ("NFC", "NFD")}, key=len
    )
    bodies = (r"\s+".join(re.escape(word) for word in v.split()) for v in reversed(variants))
    return _TermPattern(
        re.compile("|".join(bodies), re.IGNORECASE),
        _needs_boundary(words[0][0]),
        _needs_boundary(words[-1][-1]),
    )


def _occurrences(term: _TermPattern, source: str) -> Iterable[tuple[int, int]]:
    """Where the term stands in ``source`` as a word (or words) of its own."""
    position = 0
    while (match := term.pattern.search(source, position)) is not None:
        start, end = match.span()
        if (
            end > start
            and not (term.boundary_before and start > 0 and _is_word_char(source[start - 1]))
            and not (term.boundary_after and end < len(source) and _is_word_char(source[end]))
        ):
            yield start, end
            position = end
        else:
            position = start + 1


def _entry(value: GlossaryValue) -> tuple[str, str | None]:
    if isinstance(value, str):
        return value, None
    return str(value.get("translation", "")), value.get("note") or None


def mark_glossary(source: str, glossary: Mapping[str, GlossaryValue] | None) -> list[Segment]:
    """``source`` cut into plain segments and glossary-term segments (joined, they give
    ``source`` back exactly). Terms match case-blind, on word boundaries (Unicode-aware: letters
    of any script, combining marks included; none needed in Chinese, Japanese, Thai…), in either
    Unicode normal form; where two matches overlap the longer wins (then the earlier)."""
    if not source:
        return []
    found: list[tuple[int, int, int, str]] = []  # (-length, start, order, term)
    for order, term in enumerate(glossary or {}):
        pattern = _term_pattern(term)
        if pattern is None:
            continue
        for start, end in _occurrences(pattern, source):
            found.append((start - end, start, order, term))
    taken = bytearray(len(source))
    chosen: list[tuple[int, int, str]] = []
    for negative_length, start, _, term in sorted(found):
        end = start - negative_length
        if not any(taken[start:end]):
            taken[start:end] = b"\x01" * (end - start)
            chosen.append((start, end, term))
    segments: list[Segment] = []
    position = 0
    for start, end, term in sorted(chosen):
        if start > position:
            segments.append(Segment(source[position:start]))
        translation, note = _entry((glossary or {})[term])
        segments.append(Segment(source[start:end], term, translation, note))
        position = end
    if position < len(source):
        segments.append(Segment(source[position:]))
    return segments


def glossary_entries(segments: Iterable[Segment]) -> list[Segment]:
    """The glossary terms found in the source, once each, in order of first appearance."""
    seen: set[str] = set()
    entries = []
    for segment in segments:
        if segment.term is not None and segment.term not in seen:
            seen.add(segment.term)
            entries.append(segment)
    return entries


# -- the whole workbench -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workbench:
    """What the workbench partials show for one translation task (context variable ``wb``)."""

    source: str
    source_lang: str
    target_lang: str
    source_dir: str  # "rtl" or "ltr"
    target_dir: str
    context: str | None
    segments: list[Segment]
    glossary: list[Segment]  # the terms found in the source, once each
    memory: list[Match]

    @property
    def check_messages(self) -> dict[str, str]:
        """Every check's message by code (msgids), for the live checks' data attributes."""
        return CHECK_MESSAGES

    @property
    def check_limits(self) -> dict[str, float]:
        """The length rule's numbers, so the live checks use the very same."""
        return CHECK_LIMITS


async def workbench(
    client: Any,
    keys: Keys,
    project_id: str,
    payload: Mapping[str, Any],
    *,
    task_id: str | None = None,
    memory: TranslationMemory | None = None,
    use_memory: bool = True,
) -> Workbench:
    """The workbench of a translation task of ``payload`` (a valid translation payload, as the
    board stores it); ``task_id``: the task's own, left out of the translation memory.

    The memory shows the volunteer sources and results of other tasks of the same project,
    which they never held: ``use_memory=False`` leaves it out (for a project whose texts are
    too sensitive for that), with no Redis read at all."""
    source = str(payload["source_text"])
    source_lang = str(payload["source_lang"])
    target_lang = str(payload["target_lang"])
    segments = mark_glossary(source, payload.get("glossary"))
    matches = (
        await similar_results(
            client,
            keys,
            project_id,
            source,
            source_lang=source_lang,
            target_lang=target_lang,
            exclude_task_id=task_id,
            memory=memory,
        )
        if use_memory
        else []
    )
    context = payload.get("context")
    return Workbench(
        source=source,
        source_lang=source_lang,
        target_lang=target_lang,
        source_dir="rtl" if is_rtl(source_lang) else "ltr",
        target_dir="rtl" if is_rtl(target_lang) else "ltr",
        context=str(context) if context else None,
        segments=segments,
        glossary=glossary_entries(segments),
        memory=matches,
    )
