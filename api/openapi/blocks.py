"""How one route's examples are written: an ``openapi_extra``-shaped fragment holding examples
for its request body and its responses, merged into the document by :mod:`api.openapi.document`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["JSON", "NDJSON", "Examples", "Fragment", "merged", "one", "operation"]

JSON = "application/json"
NDJSON = "application/x-ndjson"
#: Named examples of one body: ``{name: {"summary": …, "value": …}}``.
Examples = dict[str, dict[str, Any]]
#: Part of an operation object (``requestBody``, ``responses``) holding examples.
Fragment = dict[str, Any]


def one(summary: str, value: Any) -> Examples:
    return {"default": {"summary": summary, "value": value}}


def operation(
    *,
    request: Examples | None = None,
    responses: Mapping[int, Examples] | None = None,
    request_media: str = JSON,
    response_media: str = JSON,
) -> Fragment:
    """Examples for the request body and for responses, as the operation object holds them."""
    fragment: Fragment = {}
    if request is not None:
        fragment["requestBody"] = {"content": {request_media: {"examples": request}}}
    if responses:
        fragment["responses"] = {
            str(status): {"content": {response_media: {"examples": examples}}}
            for status, examples in responses.items()
        }
    return fragment


def merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, nested mappings merged too (neither is changed)."""
    result = dict(base)
    for key, value in extra.items():
        current = result.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            result[key] = merged(current, value)
        else:
            result[key] = value
    return result
