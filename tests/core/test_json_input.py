"""core.json_input: JSON from outside, read within its documented bounds (and only those)."""

from __future__ import annotations

import json

import pytest

from core.json_input import MAX_DEPTH, MAX_NUMBER_CHARS, JsonRefused, loads


def arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "str"])
def test_the_bounds_are_exact(as_bytes: bool) -> None:
    def read(text: str) -> object:
        return loads(text.encode() if as_bytes else text)

    assert read(arrays(MAX_DEPTH)) is not None
    assert read("-" + "9" * (MAX_NUMBER_CHARS - 1)) == -int("9" * (MAX_NUMBER_CHARS - 1))
    assert read("0." + "5" * (MAX_NUMBER_CHARS - 2)) == pytest.approx(5 / 9)
    # Wide is not deep: many containers side by side at the limit's depth.
    wide = "[" + ",".join([arrays(MAX_DEPTH - 1)] * 500) + "]"
    assert len(read(wide)) == 500  # type: ignore[arg-type]

    refusals = {
        arrays(MAX_DEPTH + 1): "json_too_deep",
        arrays(100_000): "json_too_deep",
        '{"a": [' + arrays(MAX_DEPTH - 1) + "]}": "json_too_deep",
        "9" * (MAX_NUMBER_CHARS + 1): "json_number_too_large",
        "1" * 10_000: "json_number_too_large",
        "1e400": "json_number_too_large",
        "[-1e309]": "json_number_too_large",
        "NaN": "json_invalid",
        '{"a": Infinity}': "json_invalid",
    }
    for text, kind in refusals.items():
        with pytest.raises(JsonRefused) as refused:
            read(text)
        assert refused.value.type == kind, text[:40]


def test_syntax_errors_stay_the_standard_ones() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads(b"{not json")
    with pytest.raises(UnicodeDecodeError):
        loads(b"\xff\xfe\x00")
