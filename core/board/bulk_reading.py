"""A bulk batch's body read in steps, so that reading a large one never holds the process long.

``json.loads`` reads a 5,000-task body (400 KB) in one call of 5 to 15 ms, during which the event
loop serves nobody: a volunteer's claim arriving then waits it out (``bench/fairness.py``: the
victim's p99 doubled under a flood of such batches). :func:`read_json_batch` reads the usual
shape, ``{"tasks": [item, item, ...]}``, an item at a time with the same bounds
(``core.json_input``), pausing every :data:`ITEMS_PER_STEP` items. Any other body (another key,
a repeated one, invalid JSON, too deep, too many items) is read whole by
:func:`~core.board.bulk.parse_json_batch` instead, so it is refused in exactly the same words.
An item at a time costs about twice the CPU of one call, still a small part of a bulk task's
cost (``bench/submit.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from core import json_input
from core.board.bulk import MAX_BATCH_ITEMS, parse_json_batch, parse_ndjson_batch

__all__ = ["ITEMS_PER_STEP", "read_json_batch", "read_ndjson_batch"]

#: Items read between two pauses (about half a millisecond of reading).
ITEMS_PER_STEP: Final = 250

# JSON's own whitespace: Python's \s would also take characters JSON does not.
_SPACE = re.compile(r"[ \t\n\r]*")
_OPENING = re.compile(r'[ \t\n\r]*\{[ \t\n\r]*"tasks"[ \t\n\r]*:[ \t\n\r]*\[[ \t\n\r]*')
# An item inside the body is two levels down (the object, then the array).
_ITEM_DEPTH = json_input.MAX_DEPTH - 2
_DECODER = json.JSONDecoder(
    parse_int=json_input.parse_int,
    parse_float=json_input.parse_float,
    parse_constant=json_input.parse_constant,
)


class _NotPlain(Exception):
    """The body is not the plain shape: read it whole."""


async def read_json_batch(raw: bytes, pause: Callable[[], Awaitable[None]]) -> list[Any]:
    """The items of a ``{"tasks": [...]}`` body, as :func:`parse_json_batch` returns them (and
    raising what it raises), read an item at a time with ``pause`` awaited every
    :data:`ITEMS_PER_STEP` items."""
    try:
        text = raw.decode("utf-8")
        opening = _OPENING.match(text)
        if opening is None:
            raise _NotPlain
        items: list[Any] = []
        position = opening.end()
        if text.startswith("]", position):
            position += 1
        else:
            while True:
                start = position
                item, position = _DECODER.raw_decode(text, position)
                if _deeper_than_allowed(text, start, position, item):
                    raise _NotPlain
                items.append(item)
                if len(items) > MAX_BATCH_ITEMS:
                    raise _NotPlain
                if len(items) % ITEMS_PER_STEP == 0:
                    await pause()
                position = _SPACE.match(text, position).end()  # type: ignore[union-attr]
                if text.startswith(",", position):
                    position = _SPACE.match(text, position + 1).end()  # type: ignore[union-attr]
                    continue
                if text.startswith("]", position):
                    position += 1
                    break
                raise _NotPlain
        position = _SPACE.match(text, position).end()  # type: ignore[union-attr]
        if not text.startswith("}", position):
            raise _NotPlain
        if _SPACE.match(text, position + 1).end() != len(text):  # type: ignore[union-attr]
            raise _NotPlain
    except (_NotPlain, ValueError, RecursionError):  # ValueError: JSON and Unicode errors too
        return parse_json_batch(raw)
    return items


def _deeper_than_allowed(text: str, start: int, end: int, item: Any) -> bool:
    # Few brackets in its text (strings included): it cannot nest deeper; else walk it.
    if text.count("[", start, end) + text.count("{", start, end) <= _ITEM_DEPTH:
        return False
    return not json_input.within_depth(item, _ITEM_DEPTH)


async def read_ndjson_batch(raw: bytes, pause: Callable[[], Awaitable[None]]) -> list[Any]:
    """:func:`parse_ndjson_batch`, :data:`ITEMS_PER_STEP` lines at a time with ``pause``
    awaited between."""
    lines = raw.split(b"\n")
    items: list[Any] = []
    for start in range(0, len(lines), ITEMS_PER_STEP):
        if start:
            await pause()
        items += parse_ndjson_batch(b"\n".join(lines[start : start + ITEMS_PER_STEP]))
        if len(items) > MAX_BATCH_ITEMS:
            return parse_ndjson_batch(raw)  # refused for the whole count, as it words it
    return items
