"""A row read from an NGO's file: the task it describes, or why it could not be read.

Rows without an ``external_id`` get one derived from their **content** (``row-`` + 32 hex digits
of a SHA-256 of the payload, priority and gold answer), not from their line number. Either
makes a re-run of the same file idempotent, but only the content survives an edit: insert one
row at the top of a 10,000-row file and every line number shifts, so a re-run keyed on lines
would create 10,000 duplicates, while keyed on content it creates exactly one task. The price:
two rows with identical content are one task (the second counts as already there), which for
a micro-task is what one wants anyway (the same question, the same answer).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ITEM_FIELDS", "Problem", "Row", "content_external_id"]

#: The fields of a task item besides its payload (``shared/API.md``, bulk submission).
ITEM_FIELDS = frozenset({"external_id", "payload", "priority", "gold_answer"})


@dataclass(frozen=True, slots=True)
class Problem:
    """Where in the item (``payload.labels``) and what is wrong."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass(slots=True)
class Row:
    """One task-to-be. ``line`` is where it starts in the file (1-based), ``label`` a short
    human name for it when the line alone says little (a PO entry's msgid)."""

    line: int | None
    item: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)
    label: str | None = None

    @property
    def where(self) -> str:
        place = f"line {self.line}" if self.line is not None else "entry"
        return f"{place} ({self.label})" if self.label else place


def content_external_id(item: dict[str, Any]) -> str:
    """``row-<32 hex>``: the same for the same payload, priority and gold answer."""
    identity = {
        "payload": item.get("payload"),
        "priority": item.get("priority") or 0,
        "gold_answer": item.get("gold_answer"),
    }
    canonical = json.dumps(identity, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "row-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
