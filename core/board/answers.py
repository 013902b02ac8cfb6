"""Validating a volunteer's answer (or a reviewer's correction) with its project's task type.

The refusal lists where and why, never what was sent: answers may hold personal data, and a
task type's own messages sometimes quote the offending value (``'scam' is not one of the
labels``). Every value of the answer is masked out of the messages and locations before they
leave (unless the task's payload or the answer schema already holds that very text: field
names, labels): a quoted one reads "the value given", and a message that would still give one
away is replaced by a generic one. Keys are names, not data: a location or message names the
field, even one the volunteer made up (``unknown field 'nickname'``), unless the key is also one
of the values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from core.errors import AnswerRejected, RucheError
from task_types import InvalidAnswer, UnknownTaskType
from task_types import get as get_task_type
from task_types.base import THRESHOLD_TOLERANCE

__all__ = ["GoldScore", "score_gold", "validate_answer"]

MASK = "<value>"  # a location part that is one of the values sent
QUOTED_MASK = "the value given"  # in a message, where the task type quoted a value
GENERIC_MESSAGE = "this value does not fit the task"


def validate_answer(
    task_type: str | None, payload: Mapping[str, Any] | None, raw: Mapping[str, Any]
) -> dict[str, Any]:
    """The answer as its task type parsed it (JSON-able), or ``AnswerRejected``."""
    try:
        kind = get_task_type(str(task_type))
    except UnknownTaskType:
        raise RucheError("the project's task type is not installed on this server") from None
    parsed_payload = kind.parse_payload(payload or {})
    known = {*_values(payload or {}), *kind.answer_model.model_fields}
    try:
        answer = kind.parse_answer(parsed_payload, raw)
    except InvalidAnswer as invalid:
        # The schema passed, so the parsed answer exists: mask its (stripped, folded…) values too.
        parsed = kind.answer_model.model_validate(raw).model_dump(mode="json")
        sent = {*_values(raw, keys=False), *_values(parsed, keys=False)}
        details = _masked(invalid.details, sent - known)
        raise AnswerRejected("the answer does not fit this task", details) from None
    except ValidationError as invalid:
        errors = invalid.errors(include_url=False, include_input=False, include_context=False)
        details = [
            {"loc": [str(p) for p in error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in errors
        ]
        raise AnswerRejected(
            "the answer does not match the task type's answer schema",
            _masked(details, set(_values(raw, keys=False)) - known),
        ) from None
    return dict(answer.model_dump(mode="json"))


@dataclass(frozen=True, slots=True)
class GoldScore:
    score: float  # in [0, 1], the task type's own measure (1 = matches the gold answer)
    correct: bool  # the score reaches the type's agreement threshold


def score_gold(
    task_type: str | None,
    payload: Mapping[str, Any] | None,
    answer: Mapping[str, Any],
    gold_answer: Mapping[str, Any],
) -> GoldScore:
    """A validated answer scored against a gold answer, both in their canonical form: the same
    test as an answer agreeing with an accepted result (``core.quality.aggregation.agrees``)."""
    kind = get_task_type(str(task_type))
    parsed_payload = kind.parse_payload(payload or {})
    given = kind.normalise(parsed_payload, kind.answer_model.model_validate(answer))
    gold = kind.normalise(parsed_payload, kind.answer_model.model_validate(gold_answer))
    score = min(1.0, max(0.0, float(kind.score(parsed_payload, given, gold))))
    return GoldScore(score, score >= kind.default_threshold - THRESHOLD_TOLERANCE)


def _values(value: Any, *, keys: bool = True) -> Iterator[str]:
    """Every scalar of a JSON value as text, dictionary keys too unless ``keys`` is False."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if keys:
                yield str(key)
            yield from _values(item, keys=keys)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _values(item, keys=keys)
    elif isinstance(value, str):
        yield value
        yield value.strip()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield repr(value)


def _masked(details: list[dict[str, Any]], values: set[str]) -> list[dict[str, Any]]:
    present = sorted((v for v in values if v), key=len, reverse=True)
    return [
        {
            **detail,
            "loc": [MASK if str(part) in values else part for part in detail.get("loc", [])],
            "msg": _mask(str(detail.get("msg", "")), present),
        }
        for detail in details
    ]


def _mask(message: str, values: list[str]) -> str:
    for value in values:
        message = message.replace(repr(value), QUOTED_MASK)
    for value in values:
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", message):
            return GENERIC_MESSAGE
    return message
