"""JSON from outside (request bodies, NDJSON lines), read within bounds.

Python's parser takes any depth up to its recursion limit (then raises ``RecursionError``), any
integer up to 4,300 digits (then ``ValueError``), and ``NaN``/``Infinity``, which are not JSON;
a number such as ``1e400`` becomes an infinity. What is read here is bounded instead:

- at most :data:`MAX_DEPTH` nested arrays and objects (the outermost one is level 1);
- numbers written in at most :data:`MAX_NUMBER_CHARS` characters, and finite;
- no ``NaN``, ``Infinity`` or ``-Infinity``.

Anything past them raises :class:`JsonRefused`, saying which bound (``type``: ``json_too_deep``,
``json_number_too_large`` or ``json_invalid``), so every reader refuses it alike and nothing
deeper in the system (a Lua script's ``cjson``, a worker's parser) meets a value it cannot take.
Syntax errors stay ``json.JSONDecodeError``, undecodable bytes ``UnicodeDecodeError``, as the
standard parser raises them.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_NUMBER_CHARS",
    "JsonRefused",
    "loads",
    "parse_constant",
    "parse_float",
    "parse_int",
    "within_depth",
]

MAX_DEPTH = 64
MAX_NUMBER_CHARS = 100


class JsonRefused(ValueError):
    """JSON past a bound: ``type`` names which, ``msg`` says it for a person."""

    def __init__(self, type_: str, msg: str) -> None:
        super().__init__(msg)
        self.type = type_
        self.msg = msg


def _too_deep() -> JsonRefused:
    return JsonRefused("json_too_deep", f"JSON nested deeper than {MAX_DEPTH} levels")


def _too_large() -> JsonRefused:
    return JsonRefused(
        "json_number_too_large",
        f"a JSON number longer than {MAX_NUMBER_CHARS} characters, or out of range",
    )


def parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _too_large()
    return int(text)


def parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _too_large()
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise _too_large()
    return value


def parse_constant(name: str) -> Any:
    raise JsonRefused("json_invalid", f"{name} is not valid JSON")


def within_depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests at most ``limit`` containers (level by level, no recursion)."""
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return False
        deeper = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    deeper.append(child)
        level = deeper
    return True


def loads(raw: bytes | str) -> Any:
    """``raw`` parsed as JSON within the bounds above; raises :class:`JsonRefused` past them."""
    try:
        # The hooks run for numbers and constants only, so ordinary text costs nothing more.
        value = json.loads(
            raw, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant
        )
    except RecursionError:
        raise _too_deep() from None
    # A body with no more brackets than the bound cannot nest past it (a C-speed count).
    brackets = (
        raw.count(b"[") + raw.count(b"{")
        if isinstance(raw, bytes)
        else (raw.count("[") + raw.count("{"))
    )
    if brackets > MAX_DEPTH and not within_depth(value):
        raise _too_deep()
    return value
