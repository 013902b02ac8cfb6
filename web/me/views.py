"""How "My work" and the certificates show things: task types and units in the visitor's
language, hours, dates, and short views of a task and an answer.

A short view is plain text, cut at :data:`SHORT_VIEW` characters: the text a task is about when
its type has one (a translation's source, the content to moderate, a document's text), else
every value it holds, one after the other; an answer is its one value, or ``name: value`` pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

from web.i18n import N_

__all__ = [
    "DECISIONS",
    "SHORT_VIEW",
    "answer_view",
    "date_of",
    "decision_of",
    "hours_of",
    "payload_view",
    "type_name",
    "unit_name",
]

SHORT_VIEW = 160

#: The built-in types' names and contribution units, to be translated where they are shown
#: (a plugin type's show as the type declares them).
TYPE_NAMES: dict[str, str] = {
    "translation": N_("Translation"),
    "data_entry": N_("Data entry"),
    "moderation": N_("Moderation"),
}
UNITS: dict[str, str] = {
    "words translated": N_("words translated"),
    "fields entered": N_("fields entered"),
    "items moderated": N_("items moderated"),
}
#: What a reviewer decided, as the person whose answer it was reads it: by (outcome, action);
#: items recorded before actions were named have (outcome, None).
DECISIONS: dict[tuple[str, str | None], str] = {
    ("overturned", "accept"): N_("A reviewer accepted another answer."),
    ("overturned", "correct"): N_("A reviewer corrected the answer."),
    ("overturned", None): N_("A reviewer chose another answer."),
    ("upheld", "accept"): N_("A reviewer accepted your answer."),
    ("upheld", "correct"): N_("A reviewer's correction agrees with your answer."),
    ("upheld", None): N_("A reviewer upheld your answer."),
    ("rejected", "reject"): N_("A reviewer rejected the task: it is closed without a result."),
    ("rejected", None): N_("A reviewer rejected the task: it is closed without a result."),
    ("reopened", "reopen"): N_("A reviewer reopened the task: it asks for more answers."),
    ("reopened", None): N_("A reviewer reopened the task: it asks for more answers."),
}
_TEXT_FIELDS = ("source_text", "content", "text")


def type_name(kind: str) -> str:
    return TYPE_NAMES.get(kind, kind)


def unit_name(unit: str) -> str:
    return UNITS.get(unit, unit)


def decision_of(outcome: str, action: str | None) -> str:
    return DECISIONS.get((outcome, action)) or DECISIONS.get(
        (outcome, None), N_("A reviewer decided on this task.")
    )


def hours_of(minutes: int | float, locale: str) -> str:
    """Minutes as hours with one decimal, in the locale's way (1.5 / 1,5)."""
    return format_decimal(float(minutes) / 60.0, format="#,##0.0", locale=locale)


def date_of(ms: int, locale: str) -> str:
    return format_date(datetime.fromtimestamp(ms / 1000, tz=UTC).date(), "long", locale=locale)


def _cut(text: str, limit: int = SHORT_VIEW) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _flat(value: Any) -> str:
    if isinstance(value, Mapping):
        if len(value) == 1:
            return _flat(next(iter(value.values())))
        return "; ".join(f"{key}: {_flat(item)}" for key, item in value.items() if item)
    if isinstance(value, list):
        return ", ".join(_flat(item) for item in value if item not in (None, ""))
    if value is None:
        return ""
    return str(value)


def payload_view(payload: Mapping[str, Any] | None) -> str:
    if not payload:
        return ""
    for name in _TEXT_FIELDS:
        if isinstance(payload.get(name), str) and payload[name].strip():
            return _cut(payload[name])
    document = payload.get("document")
    if isinstance(document, Mapping) and isinstance(document.get("text"), str):
        return _cut(document["text"])
    return _cut(_flat(payload))


def answer_view(answer: Mapping[str, Any] | None) -> str:
    if not answer:
        return ""
    values = answer.get("values")
    if isinstance(values, Mapping):
        return _cut("; ".join(f"{name}: {_flat(value)}" for name, value in values.items()))
    if "label" in answer:
        reasons = answer.get("reasons")
        label = str(answer["label"])
        return _cut(f"{label} ({_flat(reasons)})" if reasons else label)
    return _cut(_flat(answer))
