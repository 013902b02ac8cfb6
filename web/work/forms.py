"""A task's answer form, per task type: the inputs it shows (what the payload asks for), the
answer read back from what the person typed, and the task type's refusals
(``AnswerRejected.details``, from ``Claims.submit``) turned into a message beside each field in
the person's words. What was typed is kept as typed, so a page shown again (an error, a lease
that ran out) fills the fields in again and nothing is lost.

Form fields: ``text`` (translation); ``field-<n>`` for the n-th field of a data-entry payload
(its name may be any text); ``label`` (the moderation button pressed) and ``reasons`` (one
per line); ``answer`` (JSON, a task type the pages have no form for).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from web.i18n import N_

__all__ = ["AnswerForm", "DataField", "data_fields"]

#: The longest text read from one input (the task types' own bounds are lower or equal).
MAX_INPUT_CHARS = 40_000
MAX_REASONS = 20
#: The input type per data-entry field type: the phone's keyboard and the browser's own
#: controls (a date picker, a list) fit the value asked for.
INPUT_TYPES = {
    "string": "text",
    "number": "number",
    "date": "date",
    "email": "email",
    "phone": "tel",
    "enum": "select",
}
#: What a data-entry field's value must look like, per field type, said to the person.
FIELD_HELP = {
    "number": N_("Please write a number, such as 1250 or 12.5."),
    "date": N_("Please give a date, such as 31/12/2024."),
    "email": N_("Please write an e-mail address, such as name@example.org."),
    "phone": N_(
        "Please write a phone number: digits, spaces and dashes, with + in front if it has "
        "a country code."
    ),
    "enum": N_("Please choose one of the options in the list."),
    "string": N_("Please write at most 2,000 characters."),
}
GENERIC_ERROR = N_("This answer cannot be accepted for this task. Please check it.")


@dataclass(frozen=True, slots=True)
class DataField:
    """One input of a data-entry task."""

    index: int
    name: str
    label: str
    kind: str  # the payload's field type
    input_type: str  # INPUT_TYPES
    required: bool
    choices: list[str]

    @property
    def form_name(self) -> str:
        return f"field-{self.index}"


def data_fields(payload: dict[str, Any]) -> list[DataField]:
    fields = payload.get("fields")
    made = []
    for index, spec in enumerate(fields if isinstance(fields, list) else []):
        if not isinstance(spec, dict):
            continue
        kind = str(spec.get("type", "string"))
        name = str(spec.get("name", ""))
        label = spec.get("label")
        choices = spec.get("choices")
        made.append(
            DataField(
                index=index,
                name=name,
                label=label if isinstance(label, str) and label.strip() else name,
                kind=kind,
                input_type=INPUT_TYPES.get(kind, "text"),
                required=spec.get("required", True) is not False,
                choices=[str(c) for c in choices] if isinstance(choices, list) else [],
            )
        )
    return made


@dataclass
class AnswerForm:
    """What the person typed (by form field name) and what is wrong with it (message ids)."""

    task_type: str
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: An error that belongs to no one field (said above the form).
    error: str | None = None

    @classmethod
    def read(cls, task_type: str, payload: dict[str, Any], form: FormData) -> AnswerForm:
        def text(name: str) -> str:
            value = form.get(name, "")
            return value[:MAX_INPUT_CHARS] if isinstance(value, str) else ""

        if task_type == "translation":
            names = ["text"]
        elif task_type == "data_entry":
            names = [spec.form_name for spec in data_fields(payload)]
        elif task_type == "moderation":
            names = ["label", "reasons"]
        else:
            names = ["answer"]
        return cls(task_type, {name: text(name) for name in names})

    def answer(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The answer for the task type, or None with :attr:`error` set when it cannot even be
        put together (a JSON answer that is not JSON)."""
        if self.task_type == "translation":
            return {"text": self.values.get("text", "")}
        if self.task_type == "data_entry":
            values: dict[str, str | None] = {}
            for spec in data_fields(payload):
                typed = self.values.get(spec.form_name, "").strip()
                values[spec.name] = typed or None  # empty: "cannot read it" (an abstention)
            return {"values": values}
        if self.task_type == "moderation":
            reasons = [line.strip() for line in self.values.get("reasons", "").splitlines()]
            return {"label": self.values.get("label", ""), "reasons": [r for r in reasons if r]}
        try:
            parsed = json.loads(self.values.get("answer", "") or "null")
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            self.errors["answer"] = N_("Please write the answer as a JSON object.")
            return None
        return parsed

    def refused(self, payload: dict[str, Any], details: list[dict[str, Any]]) -> None:
        """The task type's refusal, each problem beside its field (see the module docstring)."""
        by_name = {spec.name: spec for spec in data_fields(payload)}
        for detail in details:
            loc = [str(part) for part in detail.get("loc") or []]
            kind = str(detail.get("type", ""))
            if self.task_type == "translation" and loc[:1] == ["text"]:
                self.errors["text"] = (
                    N_("Your translation is too long.")
                    if kind == "string_too_long"
                    else N_("Please write your translation.")
                )
            elif self.task_type == "data_entry" and loc[:1] == ["values"] and len(loc) > 1:
                spec = by_name.get(loc[1])
                if spec is None:
                    self.error = GENERIC_ERROR
                    continue
                self.errors[spec.form_name] = (
                    FIELD_HELP["string"]
                    if kind == "string_too_long"
                    else FIELD_HELP.get(spec.kind, GENERIC_ERROR)
                )
            elif self.task_type == "moderation" and loc[:1] == ["reasons"]:
                self.errors["reasons"] = N_(
                    "Please give at most 20 reasons, one per line, each of at most 500 characters."
                )
            elif self.task_type == "moderation" and loc[:1] == ["label"]:
                self.error = N_("Please choose one of the labels.")
            elif self.task_type not in ("translation", "data_entry", "moderation"):
                self.errors["answer"] = GENERIC_ERROR
            else:
                self.error = GENERIC_ERROR
        if not self.errors and self.error is None:
            self.error = GENERIC_ERROR
