"""A bulk body read in steps (core.board.bulk_reading) reads and refuses exactly as read whole
(core.board.bulk.parse_json_batch / parse_ndjson_batch), and pauses as it goes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.board.bulk import MAX_BATCH_ITEMS, parse_json_batch, parse_ndjson_batch
from core.board.bulk_reading import ITEMS_PER_STEP, read_json_batch, read_ndjson_batch
from core.errors import RucheError
from core.json_input import MAX_DEPTH


def outcome(read: Callable[[], Any]) -> tuple[str, Any]:
    """What reading gives: the items, or the refusal (its class, status, code, message and
    details)."""
    try:
        return "items", read()
    except RucheError as refused:
        return "refused", (
            type(refused),
            refused.status,
            refused.code,
            refused.message,
            refused.details,
        )


def stepwise(raw: bytes, *, ndjson: bool = False) -> Callable[[], Any]:
    reader = read_ndjson_batch if ndjson else read_json_batch

    async def no_pause() -> None:
        return None

    return lambda: asyncio.run(reader(raw, no_pause))


def whole(raw: bytes, *, ndjson: bool = False) -> Callable[[], Any]:
    return lambda: (parse_ndjson_batch if ndjson else parse_json_batch)(raw)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


ITEM = {"payload": {"content": "Boil water.", "labels": ["ok", "spam"]}, "priority": 1}
BODIES = [
    b'{"tasks": []}',
    b' \n{ "tasks" :\t[ ] } \r\n',
    json.dumps({"tasks": [ITEM] * 3}).encode(),
    json.dumps({"tasks": [ITEM] * 3}, indent=2).encode(),
    b'{"tasks": [1, "two", null, true, [3], {"a": 4.5}]}',
    b'{"tasks": [1, 2,]}',  # trailing comma
    b'{"tasks": [1 2]}',
    b'{"tasks": [1], "extra": 2}',
    b'{"tasks": [1], "tasks": [2, 3]}',  # a repeated key: the last one, as json does
    b'{"extra": 2, "tasks": [1]}',
    b'{"tasks": [1]} trailing',
    b'{"tasks": [1]',
    b'{"tasks": {"a": 1}}',
    b'{"ta\\u0073ks": [1]}',
    b"[1, 2]",
    b'{"tasks": [NaN]}',
    b'{"tasks": [{"n": Infinity}]}',
    b'{"tasks": [1e400]}',
    b'{"tasks": [' + b"9" * 101 + b"]}",
    b'{"tasks": [' + b"9" * 100 + b"]}",
    b'{"tasks": ["caf\xc3\xa9", "\\ud83d\\ude00"]}',
    b'{"tasks": ["\xff"]}',
    b'\xef\xbb\xbf{"tasks": [1]}',  # a byte-order mark
    b'{"tasks": ["a\x01b"]}',  # a raw control character in a string
    b'{"tasks":\xc2\xa0[1]}',  # a no-break space: not JSON's whitespace
    json.dumps({"tasks": [nested(MAX_DEPTH - 2)]}).encode(),
    json.dumps({"tasks": [nested(MAX_DEPTH - 1)]}).encode(),
    json.dumps({"tasks": ["[[[[" * 40, nested(3)]}).encode(),
    b'{"tasks": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
    b"",
]


@pytest.mark.parametrize("raw", BODIES)
def test_a_body_read_in_steps_gives_what_it_gives_read_whole(raw: bytes) -> None:
    assert outcome(stepwise(raw)) == outcome(whole(raw))


def test_too_many_items_are_refused_for_the_whole_count() -> None:
    raw = json.dumps({"tasks": [1] * (MAX_BATCH_ITEMS + 7)}).encode()
    kind, refusal = outcome(stepwise(raw))
    assert kind == "refused"
    assert refusal == outcome(whole(raw))[1]
    assert refusal[4] == [{"max_items": MAX_BATCH_ITEMS, "items": MAX_BATCH_ITEMS + 7}]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(json_values, max_size=30),
    st.sampled_from(["", " ", "\n", "\t", "  \r\n"]),
    st.booleans(),
)
def test_any_list_of_values_reads_the_same_in_steps_and_whole(
    items: list[Any], space: str, indent: bool
) -> None:
    body = json.dumps({"tasks": items}, indent=2 if indent else None)
    raw = (space + body + space).encode()
    assert outcome(stepwise(raw)) == outcome(whole(raw))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), max_size=40))
def test_any_ndjson_body_reads_the_same_in_steps_and_whole(lines: list[str]) -> None:
    raw = "\n".join(lines).encode()
    assert outcome(stepwise(raw, ndjson=True)) == outcome(whole(raw, ndjson=True))


@pytest.mark.parametrize("ndjson", [False, True])
def test_reading_pauses_every_step_of_items(ndjson: bool) -> None:
    count = 3 * ITEMS_PER_STEP + 10
    items = [{"payload": {"n": i}} for i in range(count)]
    raw = (
        "\n".join(json.dumps(i) for i in items) if ndjson else json.dumps({"tasks": items})
    ).encode()
    pauses: list[int] = []
    reader = read_ndjson_batch if ndjson else read_json_batch

    async def read() -> list[Any]:
        async def pause() -> None:
            pauses.append(1)

        return await reader(raw, pause)

    assert asyncio.run(read()) == items
    assert len(pauses) == 3
