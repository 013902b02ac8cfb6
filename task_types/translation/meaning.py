"""The words whose difference changes what a translation says, whatever its similarity.

String similarity measures closeness of wording: "Take 2 tablets a day" and "Take 3 tablets a
day" score as paraphrases, and so do "Do not drink the water" and "Do drink the water". Two
candidates are one meaning (one camp, :mod:`task_types.translation.posterior`) only if they
also agree on their *marks*:

- the numbers they write (digits, separators ignored);
- whether they negate (a negation word of a common language, or "n't");
- the glossary terms the NGO imposed for the source at hand (which of them they use);
- the names copied from the source (capitalised words of the source found in the candidate:
  "Dakar", "Awa"), so one that drops or changes a name is not counted with one that keeps it.

Candidates that differ on a mark are then two camps, each with fewer backers: the confidence
drops, and the task gets one more answer or a reviewer (issue 15: near-identical candidates with
a wrong or missing word were accepted, and more answers were almost never asked for).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from task_types.text import fold
from task_types.translation.models import TranslationPayload

__all__ = ["NEGATIONS", "meaning_marks"]

#: Negation words (folded) of the languages volunteers most often translate into.
NEGATIONS = frozenset(
    {
        # English, French, Spanish, Portuguese, Italian, German, Swahili, Dutch
        "not", "no", "never", "none", "nobody", "nothing", "without", "cannot",
        "ne", "pas", "jamais", "aucun", "aucune", "rien", "sans", "non",
        "nunca", "nada", "sin", "ningun", "ninguna", "nao", "sem", "nenhum",
        "senza", "nicht", "kein", "keine", "keinen", "nie", "ohne",
        "hapana", "bila", "niet", "geen", "nooit",
    }
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?")


def meaning_marks(payload: TranslationPayload, text: str) -> frozenset[str]:
    """The marks of ``text`` as a translation of ``payload``'s source (see the module)."""
    marks: set[str] = set()
    for number in _NUMBER.findall(text):
        marks.add("#" + re.sub(r"\D", "", number))
    words = [
        fold(word).replace("\u2019", "'") for word in _WORD.findall(text.replace("\u2019", "'"))
    ]
    if any(word in NEGATIONS or word.endswith("n't") for word in words):
        marks.add("!not")
    folded = fold(text)
    for target in _imposed_terms(payload):
        if target in folded:
            marks.add("=" + target)
    present = set(words)
    for name in _source_names(payload.source_text):
        if name in present:
            marks.add("@" + name)
    return frozenset(marks)


def _imposed_terms(payload: TranslationPayload) -> list[str]:
    """The glossary's targets (folded) for the terms found in the source."""
    glossary: Mapping[str, str] = payload.glossary or {}
    source = fold(payload.source_text)
    return sorted({fold(target) for term, target in glossary.items() if fold(term) in source})


def _source_names(source: str) -> set[str]:
    """Capitalised words of the source that do not start a sentence (folded): names, which a
    translation keeps as they are."""
    names = set()
    for found in _WORD.finditer(source):
        word = found.group()
        before = source[: found.start()].rstrip()
        starts_sentence = not before or before[-1] in ".!?:;\"'«“(¡¿"
        if word[:1].isupper() and not starts_sentence and len(word) > 1:
            names.add(fold(word))
    return names
