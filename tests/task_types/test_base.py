"""The TaskType contract: verdicts, argument checks, schemas, redaction, declarations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from task_types import InvalidAnswer, Problem, TaskType, Verdict
from task_types.base import AnyTaskType, TaskExample
from task_types.moderation import TASK_TYPE as MODERATION
from task_types.registry import all_types
from task_types.translation import TASK_TYPE as TRANSLATION


def test_verdict_is_frozen_and_json_able() -> None:
    verdict = Verdict(answer={"label": "spam"}, confidence=0.95, agreed=True, support=[0, 2])
    with pytest.raises(ValidationError):
        verdict.confidence = 0.1  # type: ignore[misc]  # frozen: the refusal under test
    assert json.loads(verdict.model_dump_json())["support"] == [0, 2]


@pytest.mark.parametrize("confidence", [-0.01, 1.01])
def test_verdict_refuses_confidence_outside_unit_interval(confidence: float) -> None:
    with pytest.raises(ValidationError, match="confidence"):
        Verdict(answer=None, confidence=confidence, agreed=False)


def test_verdict_cannot_be_agreed_without_an_answer() -> None:
    with pytest.raises(ValidationError, match="cannot be agreed without an answer"):
        Verdict(answer=None, confidence=1.0, agreed=True)


def test_undecided_verdict_carries_its_reason() -> None:
    verdict = Verdict.undecided("no_answers", extra=1)
    assert (verdict.answer, verdict.confidence, verdict.agreed) == (None, 0.0, False)
    assert verdict.details == {"reason": "no_answers", "extra": 1}


@pytest.mark.parametrize("task_type", all_types(), ids=lambda t: t.name)
def test_every_type_brings_an_example_its_own_rules_accept(task_type: AnyTaskType) -> None:
    example = task_type.example
    assert example is not None
    payload = task_type.parse_payload(example.payload)
    for answer in (example.answer, example.other_answer):
        task_type.parse_answer(payload, answer)


@pytest.mark.parametrize("task_type", all_types(), ids=lambda t: t.name)
def test_every_type_returns_an_undecided_verdict_for_no_answers(task_type: AnyTaskType) -> None:
    assert task_type.example is not None
    payload = task_type.parse_payload(task_type.example.payload)
    verdict = task_type.aggregate(payload, [])
    assert (verdict.answer, verdict.confidence, verdict.agreed) == (None, 0.0, False)


@pytest.mark.parametrize("task_type", all_types(), ids=lambda t: t.name)
def test_every_type_publishes_json_schemas(task_type: AnyTaskType) -> None:
    description = task_type.describe()
    assert description["payload_schema"]["type"] == "object"
    assert description["answer_schema"]["type"] == "object"
    assert description["contribution_unit"]
    assert 0.0 <= description["default_threshold"] <= 1.0
    json.dumps(description)  # GET /v1/task-types serves it as is


def test_payload_schema_lists_the_api_field_names() -> None:
    properties = TRANSLATION.payload_schema()["properties"]
    assert {"source_text", "source_lang", "target_lang", "context", "glossary"} <= set(properties)
    assert set(TRANSLATION.payload_schema()["required"]) == {
        "source_text",
        "source_lang",
        "target_lang",
    }
    assert TRANSLATION.answer_schema()["required"] == ["text"]


def test_redact_hides_sensitive_payload_fields_only() -> None:
    raw = {"content": "a private message", "labels": ["ok", "spam"]}
    assert MODERATION.redact(raw) == {"content": "[redacted]", "labels": ["ok", "spam"]}


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0], "got 2 answers but 1 weights"),
        ([1.0, -0.5], "weight 1 must be finite and >= 0"),
        ([float("nan"), 1.0], "weight 0 must be finite"),
        ([float("inf"), 1.0], "weight 0 must be finite"),
    ],
)
def test_aggregate_refuses_bad_weights(weights: Sequence[float], message: str) -> None:
    payload = TRANSLATION.parse_payload(TRANSLATION_PAYLOAD)
    answers = [TRANSLATION.parse_answer(payload, {"text": "Bonjour"})] * 2
    with pytest.raises(ValueError, match=message):
        TRANSLATION.aggregate(payload, answers, weights)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan")])
def test_aggregate_refuses_threshold_outside_unit_interval(threshold: float) -> None:
    payload = TRANSLATION.parse_payload(TRANSLATION_PAYLOAD)
    with pytest.raises(ValueError, match="threshold must be between 0 and 1"):
        TRANSLATION.aggregate(payload, [], threshold=threshold)


def test_invalid_answer_lists_every_problem_with_its_location() -> None:
    error = InvalidAnswer([Problem(("values", "age"), "not a number"), Problem((), "empty")])
    assert str(error) == "values.age: not a number; empty"
    assert error.details[0] == {
        "loc": ["values", "age"],
        "msg": "not a number",
        "type": "invalid_answer",
    }
    assert isinstance(error, ValueError)


class _Payload(BaseModel):
    text: str


class _Answer(BaseModel):
    value: str


class _EchoMethods:
    """The methods of a trivial task type, to combine with different class attributes."""

    def check_answer(self, payload: _Payload, answer: _Answer) -> list[Problem]:
        return []

    def normalise(self, payload: _Payload, answer: _Answer) -> _Answer:
        return answer

    def aggregate(
        self,
        payload: _Payload,
        answers: Sequence[_Answer],
        weights: Sequence[float] | None = None,
        *,
        threshold: float | None = None,
    ) -> Verdict:
        return Verdict.undecided("no_answers")

    def score(self, payload: _Payload, answer: _Answer, gold: _Answer) -> float:
        return 1.0

    def contribution(self, payload: _Payload, answer: _Answer) -> int:
        return 1


def _declare(**attributes: object) -> type[AnyTaskType]:
    """Define a concrete task type class with the given class attributes."""
    return type("Declared", (_EchoMethods, TaskType), dict(attributes))


GOOD_DECLARATION: dict[str, object] = {
    "name": "echo",
    "payload_model": _Payload,
    "answer_model": _Answer,
    "contribution_unit": "echoes",
    "default_threshold": 0.5,
    "sensitive_fields": frozenset({"text"}),
}


def test_a_complete_declaration_defines_a_usable_task_type() -> None:
    echo = _declare(**GOOD_DECLARATION)()
    assert echo.parse_payload({"text": "hi"}) == _Payload(text="hi")
    assert echo.describe()["sensitive_fields"] == ["text"]
    # What the rest of Ruche asks of a type, unless it says otherwise: one of a project's
    # languages is enough, no translation catalog, no example in /docs.
    assert (echo.needs_every_language, echo.catalog_formats, echo.example) == (
        False,
        frozenset(),
        None,
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"name": "Bad Name"}, "name must match"),
        ({"payload_model": dict}, "payload_model must be a pydantic model class"),
        ({"contribution_unit": ""}, "contribution_unit must be a non-empty string"),
        ({"default_threshold": 2.0}, "default_threshold must be between 0 and 1"),
        ({"sensitive_fields": frozenset({"secret"})}, "sensitive_fields not in the payload"),
        ({"catalog_formats": frozenset({"docx"})}, "catalog_formats must be a frozenset of"),
        ({"catalog_formats": ["po"]}, "catalog_formats must be a frozenset of"),
        ({"example": {"payload": {}}}, "example must be a TaskExample"),
        (
            {"example": TaskExample("s", "p", "e", {"text": 1}, {"value": "a"}, {"value": "b"})},
            "its example does not fit its models",
        ),
        (
            {"example": TaskExample("s", "p", "e", {"text": "t"}, {"value": "a"}, {})},
            "its example does not fit its models",
        ),
    ],
)
def test_declaration_mistakes_fail_when_the_class_is_defined(
    override: dict[str, object], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        _declare(**{**GOOD_DECLARATION, **override})


TRANSLATION_PAYLOAD: dict[str, Any] = {
    "source_text": "Hello",
    "source_lang": "en",
    "target_lang": "fr",
}
