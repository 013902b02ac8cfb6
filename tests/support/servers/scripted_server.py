"""A real local HTTP server answering from a script, to test the client's retries.

Each request takes the next :class:`Reply` (then ``default``): a status, headers and a body, or
``drop``: read the request, then close the connection without a word (the server may have
acted on it, the client cannot know).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.servers.local_server import LocalServer, read_body, send

__all__ = ["Reply", "ScriptedServer", "error_body"]


def error_body(code: str, message: str = "", details: list[Any] | None = None) -> bytes:
    return json.dumps(
        {"error": {"code": code, "message": message, "details": details or []}}
    ).encode()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    drop: bool = False


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer(LocalServer):
    def __init__(self, *replies: Reply, default: Reply | None = None) -> None:
        self.replies = list(replies)
        self.default = default or Reply()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        super().__init__()

    def _next(self) -> Reply:
        with self._lock:
            return self.replies.pop(0) if self.replies else self.default

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = read_body(request)
        with self._lock:
            self.seen.append(
                Seen(request.command, request.path, dict(request.headers.items()), body)
            )
        reply = self._next()
        if reply.drop:
            request.close_connection = True
            return
        send(request, reply.status, reply.headers.items(), reply.body)
