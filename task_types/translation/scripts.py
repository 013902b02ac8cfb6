"""Which writing system a text is in, and which ones a target language expects.

A cheap stand-in for language identification: it cannot tell French from English, but it does
catch the common slip of answering an Arabic, Amharic or Chinese task in Latin letters (or
pasting the source back when the scripts differ), with no model to download.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

__all__ = ["dominant_share", "expected_scripts", "script_of", "visual_length"]

_LATIN = frozenset({"LATIN"})
_CYRILLIC = frozenset({"CYRILLIC"})
_ARABIC = frozenset({"ARABIC"})
_HEBREW = frozenset({"HEBREW"})
_DEVANAGARI = frozenset({"DEVANAGARI"})
_ETHIOPIC = frozenset({"ETHIOPIC"})
_CHINESE = frozenset({"CJK"})
_JAPANESE = frozenset({"CJK", "HIRAGANA", "KATAKANA"})
_KOREAN = frozenset({"HANGUL", "CJK"})


def _table(scripts: frozenset[str], languages: str) -> dict[str, frozenset[str]]:
    return dict.fromkeys(languages.split(), scripts)


# Languages written in one script in everyday use. Languages not listed (or written in several,
# like Serbian without a script subtag) are simply not checked.
_SCRIPTS_OF_LANGUAGE: dict[str, frozenset[str]] = {
    **_table(
        _LATIN,
        "af az bs ca cs cy da de en es et eu ff fi fr ga gl ha hr ht hu id ig is it lg ln lt lv "
        "mg ms mt nb nl nn no ny om pl pt qu ro rw sk sl sn so sq sv sw tl tr uz vi wo xh yo zu",
    ),
    **_table(_CYRILLIC, "be bg kk ky mk mn ru tg uk"),
    **_table(_ARABIC, "ar fa ps ckb sd ug ur"),
    **_table(_HEBREW, "he yi"),
    **_table(_DEVANAGARI, "hi mr ne"),
    **_table(_ETHIOPIC, "am ti"),
    **_table(_CHINESE, "zh yue"),
    "ja": _JAPANESE,
    "ko": _KOREAN,
    "el": frozenset({"GREEK"}),
    "hy": frozenset({"ARMENIAN"}),
    "ka": frozenset({"GEORGIAN"}),
    "bn": frozenset({"BENGALI"}),
    "pa": frozenset({"GURMUKHI"}),
    "gu": frozenset({"GUJARATI"}),
    "ta": frozenset({"TAMIL"}),
    "te": frozenset({"TELUGU"}),
    "kn": frozenset({"KANNADA"}),
    "ml": frozenset({"MALAYALAM"}),
    "si": frozenset({"SINHALA"}),
    "th": frozenset({"THAI"}),
    "lo": frozenset({"LAO"}),
    "km": frozenset({"KHMER"}),
    "my": frozenset({"MYANMAR"}),
}

# ISO 15924 script subtags ("sr-Cyrl", "zh-Hant") override the language's default.
_SCRIPTS_OF_SUBTAG: dict[str, frozenset[str]] = {
    "latn": _LATIN,
    "cyrl": _CYRILLIC,
    "arab": _ARABIC,
    "hebr": _HEBREW,
    "deva": _DEVANAGARI,
    "ethi": _ETHIOPIC,
    "grek": frozenset({"GREEK"}),
    "hans": _CHINESE,
    "hant": _CHINESE,
    "jpan": _JAPANESE,
    "kore": _KOREAN,
}

# Characters of these scripts carry about a syllable or a word each, so a faithful translation
# into them is 2-3 times shorter in characters than the same text in an alphabet.
_VISUAL_WEIGHT = {"CJK": 3, "HIRAGANA": 3, "KATAKANA": 3, "HANGUL": 2}


def expected_scripts(language_tag: str) -> frozenset[str] | None:
    """Scripts a text in this language is written in, or None when we do not know."""
    subtags = language_tag.lower().split("-")
    for subtag in subtags[1:]:
        if len(subtag) == 4 and subtag in _SCRIPTS_OF_SUBTAG:
            return _SCRIPTS_OF_SUBTAG[subtag]
    return _SCRIPTS_OF_LANGUAGE.get(subtags[0])


def script_of(char: str) -> str | None:
    """The script of a letter, from its Unicode name ('LATIN', 'CJK', ...); None otherwise."""
    if not char.isalpha():
        return None
    words = unicodedata.name(char, "").split()
    if words and words[0] in {"FULLWIDTH", "HALFWIDTH"}:
        words = words[1:]
    # Modifier letters (the okina, the modifier apostrophe) are shared across scripts and say
    # nothing about the language.
    if not words or words[0] == "MODIFIER":
        return None
    return words[0]


def dominant_share(text: str, scripts: frozenset[str]) -> tuple[float, int]:
    """Share of the letters of ``text`` written in ``scripts``, and how many letters there are."""
    counts = Counter(script for char in text if (script := script_of(char)) is not None)
    letters = sum(counts.values())
    if letters == 0:
        return 0.0, 0
    return sum(counts[script] for script in scripts) / letters, letters


def visual_length(text: str) -> int:
    """Length in alphabet-equivalent characters, so length ratios compare across scripts."""
    return sum(_VISUAL_WEIGHT.get(script_of(char) or "", 1) for char in text)
