"""Data-entry readings as written in the field (issue 15): amounts with a currency around them,
phone numbers national or international, "Last, First" names, hyphen and accent variants of
places, dates in the field's convention. Each spelling of one value reads as one key, so
volunteers who read it right vote together."""

from __future__ import annotations

from typing import Any

import pytest

from task_types import get as get_task_type
from task_types.data_entry.models import FieldSpec
from task_types.data_entry.normalise import read_value


def key_of(spec: FieldSpec, raw: str) -> str:
    reading = read_value(spec, raw)
    assert reading is not None
    return reading.key


AMOUNT = FieldSpec(name="amount", type="number")


@pytest.mark.parametrize(
    "written",
    ["KES 1,250", "1250/-", "1,250/=", "1.250,00 €", "Ksh. 1,250", "1250 USD", "$1,250.00",
     "KSh1250", "1 250 FCFA", "1250"],
)  # fmt: skip
def test_an_amount_reads_the_same_with_its_currency_written_around_it(written: str) -> None:
    assert key_of(AMOUNT, written) == "1250"


def test_both_marks_written_the_last_is_the_decimal_one() -> None:
    assert key_of(AMOUNT, "1.250,50 €") == "1250.5"
    assert key_of(AMOUNT, "1,250.50") == "1250.5"
    assert key_of(FieldSpec(name="a", type="number", decimal_comma=True), "1,250.50") == "1250.5"


@pytest.mark.parametrize("written", ["abc 12", "12 apples", "KES", "1,25,0/-", "12 KE S"])
def test_words_that_are_not_currencies_still_refuse_the_amount(written: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        read_value(AMOUNT, written)


PHONE_KE = FieldSpec(name="phone", type="phone", country="KE")


@pytest.mark.parametrize(
    "written",
    ["0712 345 678", "+254 712 345678", "254712345678", "00254 712 345 678", "+254 (0)712-345-678",
     "0712.345.678"],
)  # fmt: skip
def test_a_phone_number_reads_as_e164_with_the_fields_country(written: str) -> None:
    assert key_of(PHONE_KE, written) == "+254712345678"


def test_without_a_country_a_national_number_is_kept_as_digits() -> None:
    plain = FieldSpec(name="phone", type="phone")
    assert key_of(plain, "0712 345 678") == "0712345678"
    assert key_of(plain, "+254 712 345678") == "+254712345678"
    with pytest.raises(ValueError):
        FieldSpec(name="phone", type="phone", country="Kenya")


NAME = FieldSpec(name="name", type="name")


def test_last_first_and_first_last_are_one_name() -> None:
    forms = ["Diallo, Awa", "Awa Diallo", "DIALLO Awa", " awa  diallo ", "Diallo,Awa"]
    assert {key_of(NAME, form) for form in forms} == {"awa diallo"}
    reading = read_value(NAME, "Diallo, Awa")
    assert reading is not None and reading.value == "Awa Diallo"  # returned in reading order
    assert key_of(NAME, "Awa Ndiaye") != key_of(NAME, "Awa Diallo")


PLACE = FieldSpec(name="town", type="string")
DATA_ENTRY = get_task_type("data_entry")


def test_hyphen_apostrophe_and_accent_variants_of_a_place_are_one_place() -> None:
    assert {key_of(PLACE, p) for p in ["Saint-Louis", "Saint Louis", "SAINT\u2013LOUIS"]} == {
        "saint louis"
    }
    assert key_of(PLACE, "Ségou") == key_of(PLACE, "SEGOU") == "segou"
    assert key_of(PLACE, "N'Djamena") == key_of(PLACE, "N Djamena")
    assert key_of(PLACE, "Saint-Louis") != key_of(PLACE, "Saint-Laurent")


@pytest.mark.parametrize(
    ("day_first", "written", "iso"),
    [(True, "03/04/2024", "2024-04-03"), (False, "03/04/2024", "2024-03-04"),
     (True, "3.4.2024", "2024-04-03"), (False, "3.4.2024", "2024-03-04"),
     (True, "2024-04-03", "2024-04-03"), (False, "2024-04-03", "2024-04-03"),
     (False, "3 April 2024", "2024-04-03")],
)  # fmt: skip
def test_dates_follow_the_fields_convention(day_first: bool, written: str, iso: str) -> None:
    assert key_of(FieldSpec(name="d", type="date", day_first=day_first), written) == iso


def test_volunteers_who_wrote_one_record_differently_agree() -> None:
    fields: list[dict[str, Any]] = [
        {"name": "name", "type": "name"},
        {"name": "phone", "type": "phone", "country": "KE"},
        {"name": "amount", "type": "number"},
    ]
    payload = DATA_ENTRY.parse_payload({"document": {"text": "slip"}, "fields": fields})
    written = [
        {"name": "Diallo, Awa", "phone": "0712 345 678", "amount": "KES 1,250"},
        {"name": "Awa Diallo", "phone": "+254 712 345678", "amount": "1250/-"},
        {"name": "AWA DIALLO", "phone": "254712345678", "amount": "1,250.00"},
    ]
    answers = [DATA_ENTRY.normalise(payload, DATA_ENTRY.parse_answer(payload, {"values": v}))
               for v in written]  # fmt: skip
    verdict = DATA_ENTRY.aggregate(payload, answers)
    assert verdict.agreed
    assert verdict.answer is not None
    assert verdict.answer["values"]["phone"] == "+254712345678"
    assert verdict.answer["values"]["amount"] == "1250"
