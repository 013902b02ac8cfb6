"""A project's whole policy as a form: read from the posted fields, checked by the API's own
models (``ProjectCreate``, ``ProjectPatch``: the same bounds and rules), each error said next to
its field in the person's words.

The form's fields are flat: a nested policy value is named ``<parent>_<child>``
(``review_spot_check_rate``, ``qualification_gold_tasks``…). Numbers are sent as typed: a whole
number field takes digits, a rate takes ``0.25`` or ``0,25``; anything else goes to the model as
text and is refused there (strict numbers), so the message is the model's. An empty optional
field is "none" (cleared on an edit); an empty field with a default takes the default on
creation. The deadline is a ``datetime-local`` value read as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from core.projects.models import Project
from web.i18n import N_

__all__ = ["FIELDS", "PolicyForm", "error_of"]

Message = tuple[str, dict[str, Any]]

#: Every field of the form, in its order on the page.
FIELDS = (
    "name", "task_type", "instructions", "impact_note", "languages", "skills", "redundancy",
    "max_redundancy", "lease_seconds", "priority", "deadline", "review_agreement",
    "review_spot_check_rate", "gold_rate", "gold_initial_rate", "gold_warmup_tasks",
    "gold_settle_tasks", "qualification_gold_tasks", "qualification_pass_rate",
    "qualification_cooldown_seconds", "reputation_floor", "max_tasks_per_volunteer",
    "retention_days", "translation_memory",
)  # fmt: skip
_INTS = {
    "redundancy", "max_redundancy", "lease_seconds", "priority", "gold_warmup_tasks",
    "gold_settle_tasks", "qualification_gold_tasks", "qualification_cooldown_seconds",
    "max_tasks_per_volunteer", "retention_days",
}  # fmt: skip
_RATES = {
    "review_agreement", "review_spot_check_rate", "gold_rate", "gold_initial_rate",
    "qualification_pass_rate", "reputation_floor",
}  # fmt: skip
_NESTED = ("review", "gold", "qualification")
_WHOLE = re.compile(r"[+-]?[0-9]{1,12}")
_DECIMAL = re.compile(r"[+-]?[0-9]{0,12}([.,][0-9]{0,12})?")
_MAX_FIELD_CHARS = 25_000

NEEDED = N_("This is needed.")
_BY_TYPE: dict[str, str] = {
    "missing": NEEDED,
    "string_too_short": NEEDED,
    "string_too_long": N_("This is too long: at most %(limit)s characters."),
    "too_long": N_("Too many: at most %(limit)s."),
    "int_type": N_("Give a whole number."),
    "int_parsing": N_("Give a whole number."),
    "int_from_float": N_("Give a whole number."),
    "float_type": N_("Give a number such as 0.25."),
    "float_parsing": N_("Give a number such as 0.25."),
    "greater_than_equal": N_("Give a number of at least %(limit)s."),
    "less_than_equal": N_("Give a number of at most %(limit)s."),
    "string_pattern_mismatch": N_("Give language tags such as fr or pt-BR, separated by commas."),
    "unknown_task_type": N_("Choose a task type."),
}
_BY_FIELD: dict[str, str] = {
    "deadline": N_("Give a date and time in the future."),
    "max_redundancy": N_("The most answers per task must be at least the answers wanted."),
    "gold_settle_tasks": N_("This must be at least the warm-up tasks."),
}
_INVALID = N_("This value is not valid.")
_LIMITS = ("ge", "le", "max_length")


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(part) for part in loc if not isinstance(part, int) and part != "body"]
    if not parts:
        return "max_redundancy"  # the models' one whole-model rule
    if parts == ["gold"]:
        return "gold_settle_tasks"  # the gold schedule's rule
    name = "_".join(parts[:2])
    return name if name in FIELDS else parts[0]


def error_of(kind: str, name: str, context: Mapping[str, Any] | None) -> Message:
    """The message for an error of type ``kind`` on field ``name``."""
    limit = next((context[key] for key in _LIMITS if context and key in context), None)
    if kind in ("value_error", "assertion_error") or kind.startswith(("datetime", "timezone")):
        return _BY_FIELD.get(name, _INVALID), {}
    if kind == "missing" and name in _BY_FIELD and name != "max_redundancy":
        return NEEDED, {}
    return _BY_TYPE.get(kind, _INVALID), ({"limit": limit} if limit is not None else {})


def _split(text: str, separators: str) -> list[str]:
    return [part.strip() for part in re.split(separators, text) if part.strip()]


def _number(name: str, text: str) -> Any:
    if name in _INTS and _WHOLE.fullmatch(text):
        return int(text)
    if name in _RATES and _DECIMAL.fullmatch(text) and any(c.isdigit() for c in text):
        return float(text.replace(",", "."))
    return text  # refused by the strict model, with its own message


@dataclass
class PolicyForm:
    """The form's values as typed (shown again with the errors) and its errors by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, Message] = field(default_factory=dict)

    @classmethod
    def read(cls, form: FormData) -> PolicyForm:
        values = {}
        for name in FIELDS:
            raw = form.get(name, "")
            values[name] = raw[:_MAX_FIELD_CHARS].strip() if isinstance(raw, str) else ""
        return cls(values)

    @classmethod
    def of_project(cls, project: Project) -> PolicyForm:
        """The form filled with a project's policy (to edit it)."""

        def shown(value: Any) -> str:
            return "" if value is None else str(value)

        deadline = (
            project.deadline.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if project.deadline else ""
        )
        qualification = project.qualification
        values = {
            "name": project.name,
            "task_type": project.task_type,
            "instructions": project.instructions,
            "impact_note": shown(project.impact_note),
            "languages": ", ".join(project.languages),
            "skills": ", ".join(project.skills),
            "redundancy": shown(project.redundancy),
            "max_redundancy": shown(project.max_redundancy),
            "lease_seconds": shown(project.lease_seconds),
            "priority": shown(project.priority),
            "deadline": deadline,
            "review_agreement": shown(project.review.agreement),
            "review_spot_check_rate": shown(project.review.spot_check_rate),
            "gold_rate": shown(project.gold_rate),
            "gold_initial_rate": shown(project.gold.initial_rate),
            "gold_warmup_tasks": shown(project.gold.warmup_tasks),
            "gold_settle_tasks": shown(project.gold.settle_tasks),
            "qualification_gold_tasks": shown(qualification and qualification.gold_tasks),
            "qualification_pass_rate": shown(qualification and qualification.pass_rate),
            "qualification_cooldown_seconds": shown(
                qualification and qualification.cooldown_seconds
            ),
            "reputation_floor": shown(project.reputation_floor),
            "max_tasks_per_volunteer": shown(project.max_tasks_per_volunteer),
            "retention_days": shown(project.retention_days),
            "translation_memory": "1" if project.translation_memory else "",
        }
        return cls(values)

    def body(self, *, creating: bool, keep_deadline: bool = True) -> dict[str, Any]:
        """The JSON body the API would take: for a new project (empty fields left out: their
        defaults apply) or a whole-policy edit (empty optional fields sent as null: cleared)."""
        values = self.values
        body: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {parent: {} for parent in _NESTED}
        for name in FIELDS:
            text = values.get(name, "")
            if name == "task_type" and not creating:
                continue
            if name == "deadline" and not keep_deadline:
                continue
            if name == "translation_memory":
                body[name] = text == "1"  # a checkbox: absent when unticked
                continue
            if name == "languages":
                value: Any = _split(text, r"[,;\s]+")
            elif name == "skills":
                value = _split(text, r"[,;\n]+")
            elif name == "deadline":
                value = (
                    f"{text}:00+00:00" if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text) else text
                )
            elif name in _INTS or name in _RATES:
                value = _number(name, text) if text else None
            else:
                value = text
            parent, _, child = name.partition("_")
            if parent in _NESTED and name != "gold_rate":  # gold_rate is the project's own
                if value is not None:
                    nested[parent][child] = value
                continue
            if value in ("", None) and (creating or name in ("name", "instructions")):
                if name in ("name", "instructions") and not creating:
                    body[name] = value  # refused: these cannot be emptied
                continue
            body[name] = None if value == "" else value
        if "agreement" not in nested["review"] and not creating:
            nested["review"]["agreement"] = None
        body["review"] = nested["review"]
        body["gold"] = nested["gold"]
        if "gold_tasks" in nested["qualification"]:
            body["qualification"] = nested["qualification"]
        elif nested["qualification"]:
            self.errors["qualification_gold_tasks"] = (NEEDED, {})
        elif not creating:
            body["qualification"] = None
        return body

    def refused(self, error: ValidationError) -> None:
        """Records the model's errors, each on its field (the first per field)."""
        for problem in error.errors(include_input=False, include_url=False):
            name = _field_name(problem["loc"])
            self.errors.setdefault(name, error_of(problem["type"], name, problem.get("ctx")))

    def refused_details(self, details: Iterable[Mapping[str, Any]]) -> None:
        """Records the store's refusals (``InvalidRequest`` details: loc / msg / type)."""
        for detail in details:
            name = _field_name(detail.get("loc", ()))
            if detail.get("msg") == "cannot be null":
                self.errors.setdefault(name, (NEEDED, {}))
            else:
                self.errors.setdefault(name, error_of(str(detail.get("type", "")), name, None))
