"""OpenAPI descriptions of the error responses a route can give (all in the one error shape)."""

from __future__ import annotations

from typing import Any

from api.errors import ErrorResponse

__all__ = ["RATE_LIMIT_HEADERS", "error_responses"]

_DESCRIPTIONS = {
    401: "Missing, malformed, unknown or revoked token (one identical body for all)",
    403: "A token of the wrong kind for this route",
    404: "Not found (another organisation's resource is reported exactly like an unknown one)",
    409: "Conflict with the current state",
    413: "Request body over the API's limit",
    415: "Unsupported Content-Type",
    422: "The request is not valid (details say where and why, never echoing values)",
    429: "A rate limit was reached (docs: Limits); retry after `Retry-After` seconds",
    507: "`quota_exceeded`: the organisation's storage quota is full; `storage_full`: the "
    "server's storage is",
}
_SECONDS = {"type": "integer", "minimum": 1}
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "Retry-After": {"description": "Seconds until a retry can succeed.", "schema": _SECONDS},
    "RateLimit-Policy": {
        "description": 'The limit reached: `"<name>";q=<amount>;w=<window seconds>` '
        "(draft-ietf-httpapi-ratelimit-headers).",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'Where it stands: `"<name>";r=<remaining>;t=<seconds until a retry '
        "can succeed>`.",
        "schema": {"type": "string"},
    },
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The given statuses; with 401 (a route that reads a token), 429 too: every such route
    counts requests against the token's limit, and failed tokens against the address's."""
    wanted = [*statuses, 429] if 401 in statuses and 429 not in statuses else list(statuses)
    responses: dict[int | str, dict[str, Any]] = {}
    for status in wanted:
        responses[status] = {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        if status == 429:
            responses[status]["headers"] = RATE_LIMIT_HEADERS
    return responses
