"""The one JSON shape every API error leaves in (API.md).

``{"error": {"code": ..., "message": ..., "details": [...]}}`` with a fitting 4xx/5xx status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

__all__ = ["ErrorBody", "ErrorResponse", "error_response"]


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable error code, e.g. `redis_unavailable`.")
    message: str = Field(description="What went wrong, for a person.")
    details: list[dict[str, Any]] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    details: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=[*map(dict, details)]))
    return JSONResponse(body.model_dump(), status_code=status_code, headers=headers)
