"""Text clean-up and comparison keys shared by the task types.

Two levels on purpose: ``clean_text``/``collapse_whitespace`` keep what a person wrote (only
invisible differences go), while ``fold`` builds a comparison key that forgets case and Latin,
Greek and Cyrillic accents, which volunteers on different keyboards type inconsistently.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["clean_text", "collapse_whitespace", "fold"]

# Invisible characters that only differ by keyboard or copy-paste: BOM and zero-width space.
# Zero-width (non-)joiners are kept: they change spelling in Persian and Indic scripts.
_INVISIBLE = str.maketrans("", "", "\ufeff\u200b")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_PARAGRAPH_GAP = re.compile(r"\n{3,}")
_ANY_SPACE = re.compile(r"\s+")
# Only the generic combining diacritics block (U+0300-U+036F): stripping every combining mark
# would also delete vowel signs and viramas in Indic scripts and change the words.
_DIACRITIC = re.compile("[\u0300-\u036f]")


def clean_text(text: str) -> str:
    """NFC, one kind of line ending, single spaces, trimmed; paragraph breaks are kept."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = (_HORIZONTAL_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _PARAGRAPH_GAP.sub("\n\n", "\n".join(lines)).strip()


def collapse_whitespace(text: str) -> str:
    """NFC, every run of whitespace (newlines included) as one space, trimmed."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return _ANY_SPACE.sub(" ", text).strip()


def fold(text: str) -> str:
    """Comparison key: whitespace collapsed, case folded, Latin/Greek/Cyrillic accents dropped."""
    # Short texts (labels, field names, codes) come back again and again: every moderation
    # payload and answer folds the project's few labels. Long ones are not worth keeping.
    return _fold_short(text) if len(text) <= _SHORT else _fold(text)


_SHORT = 64


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", collapse_whitespace(text).casefold())
    return unicodedata.normalize("NFC", _DIACRITIC.sub("", decomposed))


_fold_short = functools.lru_cache(maxsize=4096)(_fold)
