"""The reviewer's correction, as a form: its fields per task type, pre-filled from a candidate,
read back and checked by the task type itself (``core.board.answers.validate_answer``, as the
API checks a correction), with each error said next to its field in the reviewer's words.

Input names: ``text`` (translation), ``label`` and ``reasons`` (moderation, one reason a line),
``field-<n>`` for the n-th field of a data-entry task (field names may hold spaces).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from core.board.answers import validate_answer
from core.errors import AnswerRejected
from web.i18n import N_

__all__ = ["COMMENT_MAX", "CorrectionForm", "InputSpec"]

COMMENT_MAX = 2000
_VALUE_MAX = 30_000
#: A native input per data-entry field type (WEB.md: date, email, tel, number, select).
_INPUT_TYPES = {
    "string": "text",
    "number": "text",  # decimal commas and thousands separators: the type reads them
    "date": "date",
    "email": "email",
    "phone": "tel",
    "enum": "select",
}
_FIELD_ERRORS = {
    "string": N_("This value does not fit this field."),
    "number": N_("Please enter a number, such as 12 or 12.5."),
    "date": N_("Please enter a date."),
    "email": N_("Please enter an e-mail address, such as name@example.org."),
    "phone": N_("Please enter a phone number, with its country code if it has one."),
    "enum": N_("Please choose one of the options."),
}
TEXT_MISSING = N_("Please write the corrected translation.")
LABEL_MISSING = N_("Please choose a label.")
NOT_FITTING = N_("This correction does not fit the task. Please check it.")


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One data-entry field as the form shows it."""

    name: str  # the input's name (field-<n>)
    field_name: str
    label: str
    input_type: str  # text, date, email, tel or select
    required: bool
    choices: list[str]
    inputmode: str | None


def data_entry_inputs(payload: Mapping[str, Any]) -> list[InputSpec]:
    specs = []
    for index, spec in enumerate(payload.get("fields") or []):
        kind = str(spec.get("type", "string"))
        specs.append(
            InputSpec(
                name=f"field-{index}",
                field_name=str(spec.get("name", "")),
                label=str(spec.get("label") or spec.get("name", "")),
                input_type=_INPUT_TYPES.get(kind, "text"),
                required=bool(spec.get("required", True)),
                choices=[str(choice) for choice in spec.get("choices") or []],
                inputmode="decimal" if kind == "number" else None,
            )
        )
    return specs


@dataclass
class CorrectionForm:
    task_type: str
    payload: dict[str, Any] = field(repr=False)
    #: Input name -> the text in it.
    values: dict[str, str] = field(default_factory=dict, repr=False)
    #: Input name (or "" for the whole form) -> message id.
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def inputs(self) -> list[InputSpec]:
        return data_entry_inputs(self.payload) if self.task_type == "data_entry" else []

    @classmethod
    def prefilled(
        cls, task_type: str, payload: dict[str, Any], answer: Mapping[str, Any] | None
    ) -> CorrectionForm:
        """The form holding ``answer`` (a candidate's, canonical form), or empty."""
        form = cls(task_type, payload)
        answer = answer or {}
        if task_type == "translation":
            form.values["text"] = str(answer.get("text") or "")
        elif task_type == "moderation":
            form.values["label"] = str(answer.get("label") or "")
            form.values["reasons"] = "\n".join(str(r) for r in answer.get("reasons") or [])
        elif task_type == "data_entry":
            values = answer.get("values") or {}
            for spec in form.inputs:
                value = values.get(spec.field_name)
                form.values[spec.name] = "" if value is None else str(value)
        return form

    @classmethod
    def read(cls, task_type: str, payload: dict[str, Any], sent: FormData) -> CorrectionForm:
        form = cls(task_type, payload)
        names = ["text", "label", "reasons", *(spec.name for spec in form.inputs)]
        for name in names:
            value = sent.get(name)
            if isinstance(value, str):
                form.values[name] = value[:_VALUE_MAX]
        return form

    def answer(self) -> dict[str, Any]:
        """The answer the form holds, as the API would receive it (unchecked)."""
        if self.task_type == "translation":
            return {"text": self.values.get("text", "")}
        if self.task_type == "moderation":
            reasons = [
                line.strip() for line in self.values.get("reasons", "").splitlines() if line.strip()
            ]
            return {"label": self.values.get("label", ""), "reasons": reasons[:20]}
        if self.task_type == "data_entry":
            return {
                "values": {
                    spec.field_name: (self.values.get(spec.name, "").strip() or None)
                    for spec in self.inputs
                }
            }
        return {}

    def checked(self) -> dict[str, Any] | None:
        """The correction in its type's form, or None with :attr:`errors` filled."""
        if self.task_type == "translation" and not self.values.get("text", "").strip():
            self.errors["text"] = TEXT_MISSING
            return None
        if self.task_type == "moderation" and not self.values.get("label", "").strip():
            self.errors["label"] = LABEL_MISSING
            return None
        try:
            return validate_answer(self.task_type, self.payload, self.answer())
        except AnswerRejected as refused:
            self._place(refused.details)
            return None

    def _place(self, details: list[dict[str, Any]]) -> None:
        by_field = {spec.field_name: spec for spec in self.inputs}
        kinds = {
            str(spec.get("name")): str(spec.get("type", "string"))
            for spec in self.payload.get("fields") or []
        }
        for detail in details:
            where = [str(part) for part in detail.get("loc", [])]
            if self.task_type == "data_entry" and len(where) >= 2 and where[1] in by_field:
                spec = by_field[where[1]]
                self.errors[spec.name] = _FIELD_ERRORS.get(kinds.get(where[1], ""), NOT_FITTING)
            elif self.task_type == "translation":
                self.errors["text"] = NOT_FITTING
            elif self.task_type == "moderation" and where and where[0] == "label":
                self.errors["label"] = LABEL_MISSING
            else:
                self.errors[""] = NOT_FITTING
        if not self.errors:
            self.errors[""] = NOT_FITTING
