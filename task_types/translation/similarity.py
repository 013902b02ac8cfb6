"""How alike two translations are, on a 0-1 scale, and how long a text is in words.

Two rapidfuzz scores on a punctuation- and case-blind key, keeping the higher:

- ``fuzz.ratio``: character-level Indel similarity. Like chrF it rewards shared character
  sequences, so inflections and near-synonyms ("midday"/"noon" aside) still count partly.
- ``fuzz.token_sort_ratio``: the same on words sorted alphabetically, so "Demain à midi, la
  réunion aura lieu" and "La réunion aura lieu demain à midi" read as the same sentence.

Measured on hand-made pairs (tests/task_types/test_translation_similarity.py): independent
paraphrases of one sentence score 0.69-1.0, unrelated sentences in the same language 0.36-0.53
(shared letters and short words keep it above zero).
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

from task_types.text import clean_text

__all__ = ["count_words", "similarity", "similarity_key"]

_SPACES = re.compile(r"\s+")
# One word per ideograph or kana, as translators count Chinese and Japanese.
_DENSE_CHAR = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_DENSE_CHAR}]|[^\s{_DENSE_CHAR}]+")


def similarity_key(text: str) -> str:
    """Case-folded, punctuation and symbols as spaces, whitespace collapsed."""
    folded = clean_text(text).casefold()
    spaced = "".join(
        " " if unicodedata.category(char)[0] in {"P", "S"} else char for char in folded
    )
    return _SPACES.sub(" ", spaced).strip()


def similarity(key_a: str, key_b: str) -> float:
    """Similarity in [0, 1] of two ``similarity_key`` results (1.0 = same text)."""
    if key_a == key_b:
        return 1.0
    if not key_a or not key_b:
        return 0.0
    best = max(fuzz.ratio(key_a, key_b), fuzz.token_sort_ratio(key_a, key_b))
    return min(1.0, max(0.0, best / 100.0))


def count_words(text: str) -> int:
    """Words in a text; each Chinese/Japanese character counts as one. Punctuation does not."""
    return sum(1 for token in _WORD.findall(text) if any(char.isalnum() for char in token))
