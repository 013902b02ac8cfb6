"""Data entry normalisation: one reading, however it was typed."""

from __future__ import annotations

from typing import Any

import pytest

from task_types.data_entry import TASK_TYPE as DATA_ENTRY
from task_types.data_entry import DataEntryAnswer, FieldSpec
from task_types.data_entry.dates import parse_date
from task_types.data_entry.normalise import is_placeholder, read_value


def spec(kind: str, **options: Any) -> FieldSpec:
    return FieldSpec.model_validate({"name": "f", "type": kind, **options})


def value(kind: str, raw: str | int | float, **options: Any) -> str:
    reading = read_value(spec(kind, **options), raw)
    assert reading is not None
    return reading.value


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-05",
        "2024/3/5",
        "20240305",
        "2024-03-05T14:30:00+01:00",
        "05/03/2024",
        "5/3/2024",
        "05.03.2024",
        "5-3-24",
        "5 March 2024",
        "March 5th, 2024",
        "5-Mar-2024",
        "5 mars 2024",
        "5 de marzo de 2024",
        "5 de março de 2024",
        " 05/03/2024 ",
    ],
)
def test_dates_in_many_forms_become_iso(raw: str) -> None:
    assert value("date", raw) == "2024-03-05"


def test_day_first_false_reads_us_style_dates() -> None:
    assert value("date", "03/05/2024", day_first=False) == "2024-03-05"
    assert value("date", "03/05/2024") == "2024-05-03"


def test_a_number_above_twelve_can_only_be_the_day() -> None:
    assert value("date", "25/12/2023", day_first=False) == "2023-12-25"
    assert value("date", "12/25/2023") == "2023-12-25"


def test_two_digit_years_pivot_like_posix() -> None:
    assert parse_date("01/01/68").year == 2068
    assert parse_date("01/01/69").year == 1969


def test_written_months_accept_ordinals_and_french_first_day() -> None:
    assert value("date", "1er janvier 2000") == "2000-01-01"
    assert value("date", "the 2nd of February 1999") == "1999-02-02"


@pytest.mark.parametrize("raw", ["31/02/2024", "2024-13-01", "5 March", "yesterday", "1/2/3/4"])
def test_impossible_or_partial_dates_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="is not a valid date"):
        read_value(spec("date"), raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.50", "1234.5"),
        ("1 234.5", "1234.5"),
        ("1\u202f234", "1234"),
        ("1'234'567", "1234567"),
        ("$ 1,200", "1200"),
        ("-0.0", "0"),
        ("+7", "7"),
        (".5", "0.5"),
        ("007", "7"),
        (1.10, "1.1"),
        (12, "12"),
        (1e21, "1000000000000000000000"),
    ],
)
def test_numbers_get_a_canonical_decimal_form(raw: str | float, expected: str) -> None:
    assert value("number", raw) == expected


def test_decimal_comma_fields_read_european_numbers() -> None:
    assert value("number", "1.234,5", decimal_comma=True) == "1234.5"
    assert value("number", "1 234,56", decimal_comma=True) == "1234.56"
    assert value("number", "0,5", decimal_comma=True) == "0.5"


@pytest.mark.parametrize("raw", ["1,23", "1.2.3", "12abc", "1e3", "1,2345", "--5"])
def test_ambiguous_or_malformed_numbers_are_refused_not_guessed(raw: str) -> None:
    with pytest.raises(ValueError, match="is not a number"):
        read_value(spec("number"), raw)


def test_infinite_json_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        read_value(spec("number"), float("inf"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+221 77-123-45-67", "+221771234567"),
        ("(555) 123.4567", "5551234567"),
        ("tel:+254700000000", "+254700000000"),
        ("112", "112"),
    ],
)
def test_phones_keep_digits_and_the_leading_plus(raw: str, expected: str) -> None:
    assert value("phone", raw) == expected


@pytest.mark.parametrize("raw", ["ext 12", "+1 555 +1", "12", "1234567890123456"])
def test_malformed_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="is not a phone number"):
        read_value(spec("phone"), raw)


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert value("email", "  Awa.Diallo@Example.ORG ") == "awa.diallo@example.org"
    assert value("email", "mailto:info@ngo.org") == "info@ngo.org"


@pytest.mark.parametrize("raw", ["awa@", "awa@example", "a b@example.org", "@example.org"])
def test_malformed_emails_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="is not an email address"):
        read_value(spec("email"), raw)


def test_strings_keep_their_spelling_but_compare_without_case_or_accents() -> None:
    first = read_value(spec("string"), "  José\n  García ")
    second = read_value(spec("string"), "JOSE GARCIA")
    assert first is not None and second is not None
    assert first.value == "José García"
    assert first.key == second.key


def test_decomposed_accents_are_composed() -> None:
    assert value("string", "Jose\u0301") == "José"


def test_enum_values_match_choices_loosely_and_return_the_choice_spelling() -> None:
    assert value("enum", " yes ", choices=["Yes", "No"]) == "Yes"
    assert value("enum", "deja vu", choices=["Déjà vu", "Jamais vu"]) == "Déjà vu"


@pytest.mark.parametrize("raw", [None, "", "  ", "N/A", "n/a", "unknown", "-", "?", "--", "..."])
def test_placeholders_abstain(raw: str | None) -> None:
    assert is_placeholder(raw)
    assert read_value(spec("number"), raw) is None


@pytest.mark.parametrize("raw", ["none", "NA", "0", 0, "-5"])
def test_real_answers_that_look_empty_are_not_placeholders(raw: str | int) -> None:
    assert not is_placeholder(raw)


def test_normalise_returns_canonical_values_for_every_field_and_is_idempotent() -> None:
    payload = DATA_ENTRY.parse_payload(
        {
            "document": {"text": "form"},
            "fields": [
                {"name": "born", "type": "date"},
                {"name": "amount", "type": "number"},
                {"name": "phone", "type": "phone", "required": False},
            ],
        }
    )
    raw = DataEntryAnswer(values={"born": "5 March 2024", "amount": "1,000.00"})
    once = DATA_ENTRY.normalise(payload, raw)
    assert once.values == {"born": "2024-03-05", "amount": "1000", "phone": None}
    assert DATA_ENTRY.normalise(payload, once) == once
