"""Data entry: what payloads and answers are refused, and how the refusal reads."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from task_types import InvalidAnswer
from task_types.data_entry import TASK_TYPE as DATA_ENTRY
from task_types.data_entry import DataEntryPayload

FIELDS: list[dict[str, Any]] = [
    {"name": "name", "type": "string"},
    {"name": "age", "type": "number"},
    {"name": "born", "type": "date"},
    {"name": "sex", "type": "enum", "choices": ["F", "M", "X"]},
    {"name": "email", "type": "email", "required": False},
    {"name": "phone", "type": "phone", "required": False},
]


def payload(**overrides: Any) -> DataEntryPayload:
    raw = {"document": {"text": "Registration form #12"}, "fields": FIELDS, **overrides}
    return DATA_ENTRY.parse_payload(raw)


def test_a_complete_payload_is_accepted_and_fields_default_to_required() -> None:
    parsed = payload(document={"image_url": "https://files.example.org/scan-12.png"})
    assert [spec.required for spec in parsed.fields] == [True, True, True, True, False, False]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"document": {}}, "document needs a non-empty text or an image_url"),
        ({"document": {"text": "  "}}, "document needs a non-empty text or an image_url"),
        ({"document": {"image_url": "ftp://example.org/a.png"}}, "http:// or https:// URL"),
        ({"document": {"image_url": "javascript:alert(1)"}}, "http:// or https:// URL"),
        ({"fields": []}, "at least 1 item"),
        (
            {"fields": [{"name": "a", "type": "string"}, {"name": "A", "type": "number"}]},
            "field names must be unique",
        ),
        ({"fields": [{"name": "sex", "type": "enum"}]}, "enum field 'sex' needs a non-empty"),
        (
            {"fields": [{"name": "sex", "type": "enum", "choices": ["F", "f"]}]},
            "choices of field 'sex' must be unique",
        ),
        (
            {"fields": [{"name": "age", "type": "number", "choices": ["1"]}]},
            "choices only apply to enum fields",
        ),
        ({"fields": [{"name": "x", "type": "colour"}]}, "'string', 'number', 'date'"),
        ({"fields": [{"name": " padded", "type": "string"}]}, "String should match pattern"),
    ],
)
def test_payload_refusals_name_the_problem(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        payload(**overrides)


def _problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidAnswer) as caught:
        DATA_ENTRY.parse_answer(payload(), raw)
    return {str(problem.loc[-1]): problem.msg for problem in caught.value.problems}


VALID = {"name": "Awa Diallo", "age": "34", "born": "05/03/1990", "sex": "F"}


def test_a_valid_answer_is_accepted_without_the_optional_fields() -> None:
    answer = DATA_ENTRY.parse_answer(payload(), {"values": VALID})
    assert answer.values == VALID


def test_unknown_field_names_are_refused() -> None:
    problems = _problems({"values": {**VALID, "nickname": "Awa"}})
    assert problems == {
        "nickname": "unknown field 'nickname' (expected: name, age, born, sex, email, phone)"
    }


def test_missing_required_fields_are_refused_with_a_hint() -> None:
    problems = _problems({"values": {"name": "Awa"}})
    assert set(problems) == {"age", "born", "sex"}
    assert 'send null or "N/A" if it cannot be read' in problems["age"]


def test_every_type_problem_is_reported_at_once() -> None:
    problems = _problems(
        {
            "values": {
                "name": "Awa",
                "age": "thirty",
                "born": "31/02/1990",
                "sex": "female",
                "email": "awa(at)example.org",
                "phone": "call me",
            }
        }
    )
    assert problems == {
        "age": "'thirty' is not a number (expected e.g. 1234.5, with a decimal point)",
        "born": "'31/02/1990' is not a valid date "
        "(expected e.g. 2024-03-05, 05/03/2024 or 5 March 2024)",
        "sex": "'female' is not one of the choices: 'F', 'M', 'X'",
        "email": "'awa(at)example.org' is not an email address (expected e.g. name@example.org)",
        "phone": "'call me' is not a phone number (digits, spaces, dashes, dots, parentheses "
        "and a leading + only)",
    }


def test_invalid_answer_details_locate_each_field() -> None:
    with pytest.raises(InvalidAnswer) as caught:
        DATA_ENTRY.parse_answer(payload(), {"values": {**VALID, "age": "old"}})
    assert caught.value.details[0]["loc"] == ["values", "age"]


def test_placeholders_and_null_are_accepted_for_required_fields() -> None:
    values = {"name": "N/A", "age": None, "born": "?", "sex": "unknown"}
    assert DATA_ENTRY.parse_answer(payload(), {"values": values}).values == values


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({**VALID, "age": True}, "Input should be a valid"),
        ({**VALID, "name": ["Awa"]}, "Input should be a valid"),
        ({**VALID, "name": "x" * 2_001}, "at most 2000 characters"),
    ],
)
def test_answer_shape_refusals_come_from_the_schema(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DATA_ENTRY.parse_answer(payload(), {"values": values})


def test_json_numbers_are_accepted_for_number_fields() -> None:
    answer = DATA_ENTRY.parse_answer(payload(), {"values": {**VALID, "age": 34}})
    assert DATA_ENTRY.normalise(payload(), answer).values["age"] == "34"


def test_document_is_sensitive() -> None:
    assert DATA_ENTRY.sensitive_fields == {"document"}
