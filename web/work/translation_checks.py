"""Checks of a translation before it is submitted: warnings the volunteer may override.

Each finding is a :class:`Check` with a stable ``code`` (the same codes in
``web/static/js/30-workbench.js``, which runs the same checks while the volunteer types) and a
message marked for translation (:data:`CHECK_MESSAGES`), shown by
``work/workbench_checks.html``. None of them refuses an answer: a proper name left as is, a
number written out in words or a tag the target language does not need are all legitimate, so
the page shows the findings and offers "Submit anyway".

- ``copy_of_source``: the translation is the source again (case and spacing aside), between two
  different languages, for a source that has letters at all ("12/05" stays "12/05").
- ``too_short`` / ``too_long``: the same length rule as the task type's own plausibility filter
  (:mod:`task_types.translation.filters`), which would drop the answer from the vote: outside
  0.3-3 times the source's (visual) length, or past a ceiling for a short source.
- ``numbers_missing``: a number of the source that the translation lacks. Digits are compared
  without their separators, so 1,000 = 1 000 = 1.000 = 1000, 3.5 = 3,5 and Arabic-Indic or
  Devanagari digits equal their ASCII twins.
- ``placeholders_missing`` / ``placeholders_extra``: printf (``%s``, ``%d``, ``%1$s``),
  Python (``%(name)s``), ``{name}``, ``{0}`` and ``{{name}}``, compared as multisets.
- ``tags_missing`` / ``tags_extra``: markup tags (``<b>``, ``</b>``, ``<br/>``), by name and
  kind (opening or closing) only, so a translated ``title="…"`` attribute is fine.
- ``line_breaks``: not as many line breaks as the source.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from task_types.languages import primary_language
from task_types.translation.filters import (
    LENGTH_RATIO_BAND,
    SHORT_ANSWER_CEILING,
    SHORT_SOURCE_CHARS,
)
from task_types.translation.scripts import visual_length
from web.i18n import N_

__all__ = ["CHECK_LIMITS", "CHECK_MESSAGES", "Check", "translation_checks"]

#: The length rule (the task type's filter's), also handed to the page's live checks.
CHECK_LIMITS: dict[str, float] = {
    "low": LENGTH_RATIO_BAND[0],
    "high": LENGTH_RATIO_BAND[1],
    "short": SHORT_SOURCE_CHARS,
    "ceiling": SHORT_ANSWER_CEILING,
}

#: Every check's message, by code (``%(items)s``: what is missing or extra, comma-separated).
CHECK_MESSAGES: dict[str, str] = {
    "copy_of_source": N_("Your translation is the same as the source text."),
    "too_short": N_("Your translation is much shorter than the source: is a part missing?"),
    "too_long": N_("Your translation is much longer than the source: is something extra?"),
    "numbers_missing": N_("Numbers of the source missing from your translation: %(items)s"),
    "placeholders_missing": N_(
        "Placeholders of the source missing from your translation (copy them as they are): "
        "%(items)s"
    ),
    "placeholders_extra": N_(
        "Placeholders in your translation that the source does not have: %(items)s"
    ),
    "tags_missing": N_("Markup tags of the source missing from your translation: %(items)s"),
    "tags_extra": N_("Markup tags in your translation that the source does not have: %(items)s"),
    "line_breaks": N_("Line breaks: %(expected)s in the source, %(found)s in your translation."),
}


@dataclass(frozen=True, slots=True)
class Check:
    """One warning: its stable code and what fills its message's placeholders."""

    code: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The English message (a msgid): templates show ``_(check.message, **check.params)``."""
        return CHECK_MESSAGES[self.code]


# A literal %% first (skipped), then %(name)s, printf with its flags, position, width, precision
# and length, {{name}}, and {name} / {0} / {}. No space flag in printf: "50 % de" is French.
_PLACEHOLDER = re.compile(
    r"%%"
    r"|%\([^()\s]{1,40}\)[-#0+]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|%(?:\d+\$)?[-#0+']*\d*(?:\.\d+)?(?:hh|h|ll|l|L|z|j|t|q)?[diouxXeEfFgGcsp@]"
    r"|\{\{\s*[^{}\s][^{}]*?\s*\}\}"
    r"|\{[^{}\s]*\}"
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)(?:\s[^<>]*)?/?>")
_SPACES = re.compile(r"\s+")
# A number, with its thousands groups (comma, dot, apostrophe, spaces) and decimal part.
_NUMBER = re.compile(r"\d+(?:[,.'\u00a0\u202f ]\d{3}(?!\d))*(?:[.,]\d+)?")
# The same without spaces as separators: "5 100-page books" holds 5 and 100, not 5100.
_NUMBER_UNSPACED = re.compile(r"\d+(?:[,.'\u00a0\u202f]\d{3}(?!\d))*(?:[.,]\d+)?")
_SPACE_SEPARATOR = re.compile(r"[\u00a0\u202f ]")


def _placeholders(text: str) -> Counter[str]:
    found = (_SPACES.sub("", m) if m.startswith("{{") else m for m in _PLACEHOLDER.findall(text))
    return Counter(mark for mark in found if mark != "%%")


def _tags(text: str) -> Counter[str]:
    return Counter(f"<{slash}{name.lower()}>" for slash, name in _TAG.findall(text))


def _digits(number: str) -> str:
    """The number's digits alone, as ASCII, without leading zeros: its comparison key."""
    ascii_digits = "".join(str(unicodedata.digit(char)) for char in number if char.isdigit())
    return ascii_digits.lstrip("0") or "0"


def _numbers_of(text: str) -> Iterable[str]:
    return _NUMBER.findall(_TAG.sub(" ", _PLACEHOLDER.sub(" ", text)))


def _missing_numbers(source: str, translation: str) -> list[str]:
    bare = _TAG.sub(" ", _PLACEHOLDER.sub(" ", translation))
    present = {_digits(n) for n in _NUMBER.findall(bare)}
    present |= {_digits(n) for n in _NUMBER_UNSPACED.findall(bare)}
    missing: list[str] = []
    for number in _numbers_of(source):
        if _digits(number) in present:
            continue
        parts = _SPACE_SEPARATOR.split(number)
        if len(parts) > 1 and all(_digits(part) in present for part in parts):
            continue
        if number not in missing:
            missing.append(number)
    return missing


def _squash(text: str) -> str:
    return " ".join(text.casefold().split())


def _line_breaks(text: str) -> int:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip().count("\n")


def _items(counter: Counter[str]) -> str:
    return ", ".join(sorted(counter.elements()))


def translation_checks(
    source: str, translation: str, *, source_lang: str, target_lang: str
) -> list[Check]:
    """What looks wrong in ``translation`` of ``source``: warnings, in a stable order."""
    if not translation.strip():
        return []  # an empty answer is the form's own error ("Your translation" is required)
    checks: list[Check] = []
    cross_language = primary_language(source_lang) != primary_language(target_lang)
    copied = _squash(translation) == _squash(source)
    if copied and cross_language and any(char.isalpha() for char in source):
        checks.append(Check("copy_of_source"))
    elif not copied:
        source_length = visual_length(source.strip())
        answer_length = visual_length(translation.strip())
        low, high = LENGTH_RATIO_BAND
        if source_length <= SHORT_SOURCE_CHARS:
            if answer_length > SHORT_ANSWER_CEILING:
                checks.append(Check("too_long"))
        elif answer_length < low * source_length:
            checks.append(Check("too_short"))
        elif answer_length > high * source_length:
            checks.append(Check("too_long"))
    missing = _missing_numbers(source, translation)
    if missing:
        checks.append(Check("numbers_missing", {"items": ", ".join(missing)}))
    for code, expected, found in (
        ("placeholders", _placeholders(source), _placeholders(translation)),
        ("tags", _tags(source), _tags(translation)),
    ):
        if expected - found:
            checks.append(Check(f"{code}_missing", {"items": _items(expected - found)}))
        if found - expected:
            checks.append(Check(f"{code}_extra", {"items": _items(found - expected)}))
    expected_breaks, found_breaks = _line_breaks(source), _line_breaks(translation)
    if expected_breaks != found_breaks:
        checks.append(
            Check("line_breaks", {"expected": str(expected_breaks), "found": str(found_breaks)})
        )
    return checks
