"""Tasks from a JSONL file: one JSON object a line, blank lines skipped.

A line is either a task item as the API takes it (``{"payload": {…}, "external_id"?,
"priority"?, "gold_answer"?}``: it has a ``payload`` and nothing beyond those four fields) or a
bare payload (any other object), which becomes ``{"payload": <the line>}``.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any

from producers.formats.rows import ITEM_FIELDS, Problem, Row

__all__ = ["read_jsonl"]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_jsonl(data: bytes) -> Iterator[Row]:
    data = data.removeprefix(codecs.BOM_UTF8)
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            yield Row(number, None, [Problem("", "not valid JSON")])
            continue
        if not isinstance(value, dict):
            yield Row(number, None, [Problem("", "not a JSON object")])
        elif "payload" in value and set(value) <= ITEM_FIELDS:
            yield Row(number, value)
        else:
            yield Row(number, {"payload": value})
