"""OpenAPI descriptions of the error responses a route can give (all in the one error shape)."""

from __future__ import annotations

from typing import Any

from api.errors import ErrorResponse

__all__ = ["error_responses"]

_DESCRIPTIONS = {
    401: "Missing, malformed, unknown or revoked token (one identical body for all)",
    403: "A token of the wrong kind for this route",
    404: "Not found (another organisation's resource is reported exactly like an unknown one)",
    409: "Conflict with the current state",
    413: "Request body over the API's limit",
    415: "Unsupported Content-Type",
    422: "The request is not valid (details say where and why, never echoing values)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        for status in statuses
    }
