"""Hard filters applied to each translation before any voting.

An answer that fails one is not a candidate: it is listed in the verdict's details with the
reason, so a reviewer can still see (and accept) it, e.g. a proper name legitimately left as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from task_types.languages import primary_language
from task_types.translation.models import TranslationPayload
from task_types.translation.scripts import dominant_share, expected_scripts, visual_length
from task_types.translation.similarity import count_words, similarity, similarity_key

__all__ = ["Rejection", "screen", "unchanged_sentence"]

# Across languages, keeping ~all of the source's characters means it was not translated;
# 0.95 leaves room for the odd changed digit or punctuation mark of a pasted source.
COPY_SIMILARITY = 0.95
# A source of this many words is a sentence, not a name or a brand that may stay as it is: its
# unchanged copy is refused at submission (``unchanged_sentence``), not only screened out later.
MIN_SENTENCE_WORDS = 4
# Faithful translations between alphabetic languages stay within about 0.5-2x the source
# length; [0.3, 3.0] only throws out truncations, fragments and padded or doubled answers.
LENGTH_RATIO_BAND = (0.3, 3.0)
# Below this many (visual) characters ratios swing wildly ("OK" -> "D'accord" is x4), so a
# short source only caps the answer's length, at the long band's ceiling for such a source.
SHORT_SOURCE_CHARS = 20
SHORT_ANSWER_CEILING = int(LENGTH_RATIO_BAND[1] * SHORT_SOURCE_CHARS)
# Require most letters in the target's script, not all: names, brands and URLs stay in Latin.
MIN_TARGET_SCRIPT_SHARE = 0.5
# Too few letters to judge a script (numbers, "OK", an emoji).
MIN_LETTERS_FOR_SCRIPT = 5


@dataclass(frozen=True)
class Rejection:
    reason: str
    measure: float

    def as_detail(self, index: int) -> dict[str, Any]:
        return {"index": index, "reason": self.reason, "measure": round(self.measure, 4)}


def screen(payload: TranslationPayload, text: str) -> Rejection | None:
    """Why this (normalised) translation cannot be a candidate, or None if it can."""
    return (
        _copy_of_source(payload, text)
        or _implausible_length(payload, text)
        or _wrong_script(payload, text)
    )


def _copy_of_source(payload: TranslationPayload, text: str) -> Rejection | None:
    closeness = similarity(similarity_key(text), similarity_key(payload.source_text))
    if closeness == 1.0:
        return Rejection("copy_of_source", closeness)
    # Within one language (en-GB -> en-US, plain-language rewrites) most words legitimately
    # stay, so only an unchanged text is a copy there.
    cross_language = primary_language(payload.source_lang) != primary_language(payload.target_lang)
    if cross_language and closeness >= COPY_SIMILARITY:
        return Rejection("copy_of_source", closeness)
    return None


def unchanged_sentence(payload: TranslationPayload, text: str) -> bool:
    """Whether ``text`` is the source sentence itself, unchanged (up to case, spacing and
    punctuation), into another language: certainly not a translation, so refused when
    submitted. Shorter sources (a name, "OK") may stay as they are; near-copies are left to
    ``screen`` at aggregation, where a reviewer can still accept them."""
    if primary_language(payload.source_lang) == primary_language(payload.target_lang):
        return False
    if count_words(payload.source_text) < MIN_SENTENCE_WORDS:
        return False
    return similarity_key(text) == similarity_key(payload.source_text)


def _implausible_length(payload: TranslationPayload, text: str) -> Rejection | None:
    source_length = visual_length(payload.source_text.strip())
    answer_length = visual_length(text)
    ratio = answer_length / source_length
    if source_length <= SHORT_SOURCE_CHARS:
        plausible = answer_length <= SHORT_ANSWER_CEILING
    else:
        low, high = LENGTH_RATIO_BAND
        plausible = low <= ratio <= high
    return None if plausible else Rejection("implausible_length", ratio)


def _wrong_script(payload: TranslationPayload, text: str) -> Rejection | None:
    scripts = expected_scripts(payload.target_lang)
    if scripts is None:
        return None
    share, letters = dominant_share(text, scripts)
    if letters < MIN_LETTERS_FOR_SCRIPT or share >= MIN_TARGET_SCRIPT_SHARE:
        return None
    return Rejection("wrong_script", share)
