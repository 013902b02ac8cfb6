"""Checks every benchmark makes of its own results, whatever the mode (``--smoke`` included).

A benchmark that prints ``nan`` or ``inf`` measured nothing: a span of zero, a count that never
moved. These helpers find such numbers in a result tree and stop the run with a non-zero exit,
so that ``make bench-smoke`` (every benchmark at its smallest sizes, no timing threshold) fails
when a benchmark no longer measures what it says.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

__all__ = ["non_finite", "require", "require_finite"]


def non_finite(value: Any, path: str = "") -> Iterator[str]:
    """The paths (``a.b[2]``) of the floats in ``value`` that are NaN or infinite."""
    if isinstance(value, float):
        if not math.isfinite(value):
            yield f"{path or '(root)'} = {value}"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from non_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from non_finite(item, f"{path}[{index}]")


def require_finite(value: Any, who: str) -> None:
    """Exit with a message naming every NaN or infinite number in ``value``."""
    bad = list(non_finite(value))
    if bad:
        raise SystemExit(f"{who}: numbers that are not finite: {', '.join(bad[:10])}")


def require(condition: bool, who: str, message: str) -> None:
    """Exit with ``message`` unless ``condition`` holds (kept under ``python -O``, unlike
    ``assert``)."""
    if not condition:
        raise SystemExit(f"{who}: {message}")
