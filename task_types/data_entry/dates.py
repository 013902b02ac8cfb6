"""Reading the dates volunteers type, in the forms NGO paperwork actually uses.

Accepted: ISO (2024-03-05, 2024/3/5, 20240305, with or without a time), numeric day-month-year
(05/03/2024, 5.3.24, 5-3-2024; ``day_first=False`` reads month first), and written months in
English, French, Spanish and Portuguese (5 March 2024, March 5, 2024, 1er mars 2024,
5 de marzo de 2024). Everything comes out as a ``datetime.date``.
"""

from __future__ import annotations

import re
from datetime import date

from task_types.text import fold

__all__ = ["parse_date"]

_MONTH_NAMES = {
    1: "january janvier enero janeiro",
    2: "february fevrier febrero fevereiro",
    3: "march mars marzo marco",
    4: "april avril abril",
    5: "may mai mayo maio",
    6: "june juin junio junho",
    7: "july juillet julio julho",
    8: "august aout agosto",
    9: "september septembre septiembre setiembre setembro",
    10: "october octobre octubre outubro",
    11: "november novembre noviembre novembro",
    12: "december decembre diciembre dezembro",
}


def _month_lookup() -> dict[str, int]:
    """Full names plus 3- and 4-letter abbreviations, minus any spelling two months share
    (French "jui" is both juin and juillet)."""
    spellings: dict[str, set[int]] = {}
    for month, names in _MONTH_NAMES.items():
        for name in names.split():
            for spelling in (name, name[:3], name[:4]):
                spellings.setdefault(spelling, set()).add(month)
    return {spelling: months.pop() for spelling, months in spellings.items() if len(months) == 1}


_MONTHS = _month_lookup()
_TIME_SUFFIX = re.compile(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4}|\d{2})$")
_FILLER_WORDS = {"le", "de", "del", "of", "the", "on"}
_ORDINAL = re.compile(r"^(\d{1,2})(st|nd|rd|th|er|eme|o|a|º|ª)$")


def parse_date(text: str, *, day_first: bool = True) -> date:
    """The date ``text`` denotes; ``ValueError`` when it is not one."""
    cleaned = _TIME_SUFFIX.sub("", text.strip())
    try:
        year, month, day = _parts(cleaned, day_first=day_first)
        return date(year, month, day)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a valid date (expected e.g. 2024-03-05, 05/03/2024 or 5 March 2024)"
        ) from None


def _parts(text: str, *, day_first: bool) -> tuple[int, int, int]:
    if match := _ISO.match(text) or _COMPACT.match(text):
        return int(match[1]), int(match[2]), int(match[3])
    if match := _NUMERIC.match(text):
        first, second = int(match[1]), int(match[2])
        day, month = (first, second) if day_first else (second, first)
        # A number above 12 can only be the day, whatever the convention says.
        if month > 12 >= day:
            day, month = month, day
        return _full_year(match[3]), month, day
    return _written_month(text)


def _written_month(text: str) -> tuple[int, int, int]:
    tokens = [token for token in re.split(r"[\s,./-]+", fold(text)) if token]
    months = [_MONTHS[token] for token in tokens if token in _MONTHS]
    numbers: list[str] = []
    for token in tokens:
        if token in _MONTHS or token in _FILLER_WORDS:
            continue
        ordinal = _ORDINAL.match(token)
        if ordinal:
            token = ordinal[1]
        if not token.isdigit():
            raise ValueError(f"unexpected word {token!r}")
        numbers.append(token)
    if len(months) != 1 or len(numbers) != 2 or len(numbers[0]) > 2:
        raise ValueError("expected a day, a month name and a year")
    return _full_year(numbers[1]), months[0], int(numbers[0])


def _full_year(digits: str) -> int:
    """Two-digit years follow the POSIX strptime pivot: 69-99 -> 1900s, 00-68 -> 2000s."""
    if len(digits) == 4:
        return int(digits)
    if len(digits) != 2:
        raise ValueError("year must have 2 or 4 digits")
    short = int(digits)
    return 1900 + short if short >= 69 else 2000 + short
