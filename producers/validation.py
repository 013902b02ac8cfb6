"""Checking a task item on the NGO's machine before it is uploaded.

The same rules the server applies to a bulk item (``shared/API.md``): the item's own fields
and bounds, the payload's size, the payload against its task type's model, and a gold answer
against the type's answer rules. Task types are importable (``task_types.get``), so the check
is the server's own code, not a copy; a type this machine does not have (a server plugin) is
checked by the server alone, whose per-item refusals are reported the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from producers.formats.rows import Problem
from task_types import InvalidAnswer, UnknownTaskType
from task_types import get as get_task_type
from task_types.base import AnyTaskType

__all__ = ["MAX_EXTERNAL_ID_CHARS", "ItemValidator", "problems_of"]

# The server's bounds (core/board/bulk.py, core/board/models.py); it checks them again anyway.
MAX_EXTERNAL_ID_CHARS = 200
MAX_PRIORITY = 999
MAX_PAYLOAD_BYTES = 64 * 1024


def problems_of(error: ValidationError, prefix: str) -> list[Problem]:
    found = error.errors(include_input=False, include_url=False, include_context=False)
    return [
        Problem(".".join([prefix, *(str(part) for part in e["loc"])]), str(e["msg"])) for e in found
    ]


def _item_problems(item: Mapping[str, Any]) -> list[Problem]:
    problems = []
    external_id = item.get("external_id")
    if external_id is not None and not (
        isinstance(external_id, str) and 0 < len(external_id) <= MAX_EXTERNAL_ID_CHARS
    ):
        problems.append(
            Problem("external_id", f"text of 1 to {MAX_EXTERNAL_ID_CHARS} characters expected")
        )
    priority = item.get("priority")
    if priority is not None and not (
        isinstance(priority, int)
        and not isinstance(priority, bool)
        and -MAX_PRIORITY <= priority <= MAX_PRIORITY
    ):
        problems.append(
            Problem("priority", f"a whole number from -{MAX_PRIORITY} to {MAX_PRIORITY}")
        )
    if not isinstance(item.get("payload"), dict):
        problems.append(Problem("payload", "an object is required"))
    gold = item.get("gold_answer")
    if gold is not None and not isinstance(gold, dict):
        problems.append(Problem("gold_answer", "an object is expected"))
    return problems


class ItemValidator:
    """Validates items of one task type; ``known`` is False when this machine lacks the type
    (then only the item's shape is checked here)."""

    def __init__(self, task_type_name: str) -> None:
        self.task_type: AnyTaskType | None
        try:
            self.task_type = get_task_type(task_type_name)
        except UnknownTaskType:
            self.task_type = None

    @property
    def known(self) -> bool:
        return self.task_type is not None

    @property
    def catalog_formats(self) -> frozenset[str]:
        """The translation-catalog formats (``po``, ``xliff``) whose units are this type's tasks
        (``TaskType.catalog_formats``); none for a type this machine lacks."""
        return frozenset() if self.task_type is None else self.task_type.catalog_formats

    def payload_schema(self) -> dict[str, Any]:
        if self.task_type is None:
            return {}
        return dict(self.task_type.payload_model.model_json_schema())

    def problems(self, item: Mapping[str, Any], encoded_size: int | None = None) -> list[Problem]:
        """Everything wrong with ``item`` (empty when it may go). ``encoded_size``, the length
        of the whole item as JSON when the caller has it, spares measuring the payload alone
        when the whole is under the payload limit already."""
        problems = _item_problems(item)
        if problems or self.task_type is None:
            return problems
        payload = item["payload"]
        if encoded_size is None or encoded_size > MAX_PAYLOAD_BYTES:
            size = len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
            if size > MAX_PAYLOAD_BYTES:
                limit = MAX_PAYLOAD_BYTES
                return [Problem("payload", f"{size} bytes of JSON; the limit is {limit}")]
        try:
            parsed = self.task_type.parse_payload(payload)
        except ValidationError as error:
            return problems_of(error, "payload")
        gold = item.get("gold_answer")
        if gold is not None:
            try:
                self.task_type.parse_answer(parsed, gold)
            except ValidationError as error:
                return problems_of(error, "gold_answer")
            except InvalidAnswer as invalid:
                return [
                    Problem(".".join(["gold_answer", *map(str, d["loc"])]), str(d["msg"]))
                    for d in invalid.details
                ]
        return []
