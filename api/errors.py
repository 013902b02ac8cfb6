"""The one JSON shape every API error leaves in (API.md), and the handlers that produce it.

``{"error": {"code": ..., "message": ..., "details": [...]}}`` with a fitting 4xx/5xx status.
Validation errors never echo what was submitted (task payloads and answers may hold personal
data); an unexpected error is a bare 500 with no traceback; Redis unreachable is a 503 with
``Retry-After``, and so is every 429 (seconds: the error's own ``retry_after_s``, else 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import auth_refusal
from core.errors import RucheError, StorageFull, TooManyRequests
from core.json_input import JsonRefused
from core.redis.reply_errors import out_of_memory, storage_unavailable
from web.routing import error_page, wants_a_page

__all__ = ["ErrorBody", "ErrorResponse", "error_response", "install_error_handlers"]

log = structlog.get_logger(__name__)


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


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Where and why, never the submitted value (no ``input``, no ``ctx`` echoing it)."""
    details = []
    for error in errors:
        details.append(
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "msg": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return details


_NOT_JSON = [{"loc": ["body"], "msg": "not valid JSON", "type": "json_invalid"}]
# Refusals of the body's JSON itself (core.json_input): the token check still comes first.
_JSON_REFUSALS = frozenset({"json_invalid", "json_too_deep", "json_number_too_large"})

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RucheError)
    async def ruche_error(request: Request, exc: RucheError) -> JSONResponse:
        headers = None
        if isinstance(exc, TooManyRequests):
            headers = exc.headers()
        elif exc.status in (429, 503):
            headers = {"Retry-After": "1"}
        return error_response(
            exc.status, exc.code, exc.message, details=exc.details, headers=headers
        )

    async def token_refusal(request: Request) -> JSONResponse | None:
        # For a body FastAPI could not decode: it says so before the route's token check runs,
        # and that check comes first (a caller without the right token learns nothing more).
        try:
            refusal = await auth_refusal(request)
        except Exception as error:
            if not storage_unavailable(error):
                raise
            return await redis_down(request, error)
        return None if refusal is None else await ruche_error(request, refusal)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(error.get("type") in _JSON_REFUSALS for error in exc.errors()):
            refused = await token_refusal(request)
            if refused is not None:
                return refused
        details = validation_details(exc.errors())
        return error_response(422, "invalid_request", "the request is not valid", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (404, 405) and wants_a_page(request):
            # A person's browser on an address that is no page: a page that says so.
            return await error_page(request, exc.status_code)
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            refused = await token_refusal(request)
            if refused is not None:
                return refused
            # FastAPI's 400 for a JSON body that is not even UTF-8: as invalid as bad JSON
            # syntax, so the same documented 422 (the bulk route already answers so).
            return error_response(
                422, "invalid_request", "the request is not valid", details=_NOT_JSON
            )
        if exc.status_code == 400 and isinstance(exc.__cause__, JsonRefused):
            refused = await token_refusal(request)
            if refused is not None:
                return refused
            # FastAPI's 400 for a body past core.json_input's bounds: the documented 422.
            bound = exc.__cause__
            details = [{"loc": ["body"], "msg": bound.msg, "type": bound.type}]
            return error_response(
                422, "invalid_request", "the request is not valid", details=details
            )
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(exc.headers or {})
        if exc.status_code == 429 and not any(k.lower() == "retry-after" for k in headers):
            headers["Retry-After"] = "1"
        return error_response(exc.status_code, code, message, headers=headers or None)

    @app.exception_handler(redis.ConnectionError)
    @app.exception_handler(redis.TimeoutError)
    # A Redis Cluster failing over: no node for a slot, CLUSTERDOWN, MOVED redis-py gave up on.
    @app.exception_handler(redis.exceptions.ClusterError)
    @app.exception_handler(redis.exceptions.RedisClusterException)
    async def redis_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("redis.unavailable", error_type=type(exc).__name__)
        return error_response(
            503,
            "redis_unavailable",
            "storage is unavailable; retry shortly",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(redis.ResponseError)
    async def redis_refused(request: Request, exc: Exception) -> JSONResponse:
        # Redis at its maxmemory (noeviction) refuses writes: "OOM command not allowed…", as
        # a command's error or inside a script's. Nothing was evicted and nothing half-written
        # is acknowledged; the operator must make room. Any other refusal is a bug of ours.
        if storage_unavailable(exc):  # a cluster failing over (CLUSTERDOWN, TRYAGAIN, ...)
            return await redis_down(request, exc)
        if out_of_memory(exc):
            log.error("redis.out_of_memory", path=request.url.path)
            full = StorageFull(
                "the server's storage is full; nothing was changed. Try again later (the "
                "operator must make room)"
            )
            return error_response(
                full.status, full.code, full.message, headers={"Retry-After": "60"}
            )
        return await unexpected(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged without locals or arguments: they may hold task payloads.
        log.error("request.failed", error_type=type(exc).__name__, path=request.url.path)
        return error_response(500, "internal", "something went wrong on our side")
