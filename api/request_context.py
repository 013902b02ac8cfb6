"""A request id for every HTTP request, bound to every log line written while it is handled.

The id comes from the caller's ``X-Request-ID`` header when it is well-formed (a proxy or the
NGO's own client may have made one), else it is generated. It is echoed in the response's
``X-Request-ID`` header and bound in structlog's context variables for the whole request, so
uvicorn's access line and every line of ours carry it. The board operations a request runs read
it back (:func:`core.logging.current_request_id`) and store it in the events they append; the
relay passes it on to the actors, whose log lines carry it too (``workers.middleware``).
"""

from __future__ import annotations

import os
import re

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logging import REQUEST_ID

__all__ = ["HEADER", "RequestContext", "request_id_from"]

HEADER = "X-Request-ID"
# A caller's id is logged and stored as it is: keep it short and plain (a UUID, a ULID, hex, a
# proxy's id), never free text that could forge a log line or carry personal data.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_from(header: str | None) -> str:
    """The caller's id when it is well-formed, else a new one (32 hex digits)."""
    if header is not None and _WELL_FORMED.fullmatch(header):
        return header
    return os.urandom(16).hex()


class RequestContext:
    """Pure ASGI middleware (no per-request task or body buffering, unlike BaseHTTPMiddleware);
    a few microseconds per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                header = value.decode("latin-1")
                break
        request_id = request_id_from(header)
        echoed = (b"x-request-id", request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        # Tokens rather than bound_contextvars(): that one copies the whole context to restore it.
        tokens = structlog.contextvars.bind_contextvars(**{REQUEST_ID: request_id})
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
