"""Per-field-type normalisation: the same reading typed differently gets the same key.

Each normaliser turns a raw value into a ``Reading``: ``value`` is the canonical form returned to
the NGO, ``key`` is what votes are counted on. They differ only for free text and choices, where
case and accents are folded for counting but the volunteers' spelling is what is returned.
Placeholders ("N/A", "unknown", "-", ...) and nulls read as ``None``: an abstention, not a vote.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import phonenumbers

from task_types.data_entry.dates import parse_date
from task_types.data_entry.models import FieldSpec, RawValue
from task_types.text import collapse_whitespace, fold

__all__ = ["Reading", "is_placeholder", "read_value"]


@dataclass(frozen=True)
class Reading:
    value: str
    key: str


# Compared after folding. "none"/"na" are left out: they are real answers too often
# ("Allergies: none", Namibia's country code).
_PLACEHOLDERS = frozenset(
    {"n/a", "n.a.", "n.a", "unknown", "inconnu", "desconocido", "illegible", "illisible"}
)
# Nothing but dashes, question marks, dots and spaces: "", "-", "?", "--", "...".
_PLACEHOLDER_MARKS = re.compile(r"^[\s\-\u2013\u2014?.]*$")


def is_placeholder(raw: RawValue) -> bool:
    """True for null, blank and "can't read it" answers, which abstain."""
    if raw is None:
        return True
    if not isinstance(raw, str):
        return False
    return bool(_PLACEHOLDER_MARKS.match(raw)) or fold(raw) in _PLACEHOLDERS


def read_value(spec: FieldSpec, raw: RawValue) -> Reading | None:
    """The normalised reading of ``raw`` for this field; None for an abstention.

    Raises ``ValueError`` with a message meant for the volunteer when ``raw`` cannot be a value
    of the field's type.
    """
    if raw is None or is_placeholder(raw):
        return None
    return _READERS[spec.type](spec, raw)


def _as_text(raw: str | int | float) -> str:
    return collapse_whitespace(raw if isinstance(raw, str) else str(raw))


# Hyphens, dashes and apostrophes inside names of places and people: "Saint-Louis",
# "Saint Louis" and "SAINT LOUIS" are one place, "N'Diaye" and "N Diaye" one name.
_WORD_JOINERS = re.compile(r"[\-\u2010-\u2015'\u2019`]+")


def _loose_key(text: str) -> str:
    """Folded (case, accents) with hyphens and apostrophes read as spaces."""
    return collapse_whitespace(_WORD_JOINERS.sub(" ", fold(text)))


def _read_string(spec: FieldSpec, raw: str | int | float) -> Reading:
    text = _as_text(raw)
    return Reading(text, _loose_key(text))


def _read_name(spec: FieldSpec, raw: str | int | float) -> Reading:
    """A person's name: "Diallo, Awa" is returned as "Awa Diallo"; the key is the folded words
    in any order, so "Awa Diallo", "DIALLO Awa" and "Diallo, Awa" count as one reading."""
    text = _as_text(raw)
    last, comma, first = text.partition(",")
    if comma and first.strip() and last.strip() and "," not in first:
        text = collapse_whitespace(f"{first} {last}")
    return Reading(text, " ".join(sorted(_loose_key(text).split())))


def _read_enum(spec: FieldSpec, raw: str | int | float) -> Reading:
    choices = spec.choices or []
    wanted = fold(_as_text(raw))
    for choice in choices:
        if fold(choice) == wanted:
            return Reading(choice, fold(choice))
    listed = ", ".join(repr(choice) for choice in choices[:10])
    more = ", ..." if len(choices) > 10 else ""
    raise ValueError(f"{raw!r} is not one of the choices: {listed}{more}")


def _read_date(spec: FieldSpec, raw: str | int | float) -> Reading:
    iso = parse_date(_as_text(raw), day_first=spec.day_first).isoformat()
    return Reading(iso, iso)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def _read_email(spec: FieldSpec, raw: str | int | float) -> Reading:
    text = _as_text(raw).lower()
    text = text.removeprefix("mailto:").strip()
    if not _EMAIL.match(text):
        raise ValueError(f"{raw!r} is not an email address (expected e.g. name@example.org)")
    return Reading(text, text)


_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
_TRUNK_ZERO = re.compile(r"\(0\)")
# E.164 caps international numbers at 15 digits; 3 keeps short codes such as 112 or 911.
_PHONE_DIGITS = (3, 15)


def _e164(digits: str, international: bool, country: str | None) -> str | None:
    """The number in E.164 (``+254712345678``) when ``phonenumbers`` can place it: written
    with its country code, or national with the field's ``country``; else None."""
    if not international and country is None:
        return None
    try:
        number = phonenumbers.parse(f"+{digits}" if international else digits, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _read_phone(spec: FieldSpec, raw: str | int | float) -> Reading:
    text = _as_text(raw).removeprefix("tel:").strip()
    if not _PHONE_CHARS.match(text):
        raise ValueError(
            f"{raw!r} is not a phone number (digits, spaces, dashes, dots, parentheses and a "
            "leading + only)"
        )
    international = text.startswith("+")
    if international:
        # "+44 (0)20 ..." : the bracketed trunk zero is dialled only from inside the country.
        text = _TRUNK_ZERO.sub("", text)
    digits = re.sub(r"\D", "", text)
    if not international and digits.startswith("00"):
        # 00 is the international call prefix in most of the world: the same number as "+".
        international, digits = True, digits[2:]
    low, high = _PHONE_DIGITS
    if not low <= len(digits) <= high:
        raise ValueError(f"{raw!r} is not a phone number (expected {low} to {high} digits)")
    canonical = _e164(digits, international, spec.country) or (
        f"+{digits}" if international else digits
    )
    return Reading(canonical, canonical)


_GROUP_SEPARATORS = re.compile(r"[\s'\u2019_]")


def _read_number(spec: FieldSpec, raw: str | int | float) -> Reading:
    if isinstance(raw, int):
        canonical = str(raw)
        return Reading(canonical, canonical)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError(f"{raw!r} is not a finite number")
        number = Decimal(repr(raw))
    else:
        number = _parse_decimal(raw, decimal_comma=spec.decimal_comma)
    canonical = _canonical_decimal(number)
    return Reading(canonical, canonical)


# Amounts as written on receipts and forms: an ISO 4217 code ("KES 1,250", "1250 USD") or a
# common abbreviation ("KSh 1,250", "Rs. 500", "2 500 FCFA"), and East Africa's "/-" or "/="
# after whole amounts ("1,250/-").
_CURRENCY_WORDS = frozenset({"ksh", "kshs", "sh", "shs", "tsh", "tshs", "ush", "ushs", "rs",
                             "fcfa", "cfa", "frw", "rwf"})  # fmt: skip
_CURRENCY_AROUND = re.compile(r"^(?:([A-Za-z]{2,5})\.?\s*)?(.*?)(?:\s*([A-Za-z]{2,5})\.?)?$")
_WHOLE_MARK = re.compile(r"\s*/[-=]$")


def _without_currency(text: str) -> str:
    """``text`` without currency signs, codes and marks around the number."""
    text = "".join(char for char in text if unicodedata.category(char) != "Sc").strip()
    text = _WHOLE_MARK.sub("", text)
    found = _CURRENCY_AROUND.match(text)
    if found is None:  # pragma: no cover - the pattern matches any text
        return text
    before, number, after = found.groups()
    if any(word is not None and not _is_currency(word) for word in (before, after)):
        return text
    return _WHOLE_MARK.sub("", number.strip())


def _is_currency(word: str) -> bool:
    return (len(word) == 3 and word.isupper()) or word.lower() in _CURRENCY_WORDS


def _parse_decimal(raw: str, *, decimal_comma: bool) -> Decimal:
    """Strip currency signs, codes and thousands separators; the decimal mark is '.' unless
    ``decimal_comma``, or the last of '.' and ',' when both are written ("1.250,00 €" is
    1250 whatever the field says). Thousands separators must group by three, so with a '.'
    decimal mark '1,234' is 1234 while '1,23' is refused rather than guessed."""
    text = _without_currency(collapse_whitespace(raw))
    text = _GROUP_SEPARATORS.sub("", text)
    if "," in text and "." in text:
        decimal_comma = text.rfind(",") > text.rfind(".")
    point, group = (",", ".") if decimal_comma else (".", ",")
    pattern = (
        rf"^[+-]?(\d{{1,3}}(\{group}\d{{3}})+|\d+)(\{point}\d+)?$"
        if group in text
        else rf"^[+-]?(\d+(\{point}\d*)?|\{point}\d+)$"
    )
    if not re.match(pattern, text):
        mark = "decimal comma" if decimal_comma else "decimal point"
        raise ValueError(f"{raw!r} is not a number (expected e.g. 1234{point}5, with a {mark})")
    text = text.replace(group, "").replace(point, ".")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal digits
        raise ValueError(f"{raw!r} is not a number") from None


def _canonical_decimal(number: Decimal) -> str:
    """Plain notation, no trailing zeros, no negative zero: 1234.50 -> '1234.5'."""
    if number == 0:
        return "0"
    return format(number.normalize(), "f")


_READERS: dict[str, Callable[[FieldSpec, str | int | float], Reading]] = {
    "string": _read_string,
    "enum": _read_enum,
    "date": _read_date,
    "email": _read_email,
    "phone": _read_phone,
    "number": _read_number,
    "name": _read_name,
}
