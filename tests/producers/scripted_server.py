"""A real local HTTP server answering from a script, to test the client's retries.

Each request takes the next :class:`Reply` (then ``default``): a status, headers and a body, or
``drop``: read the request, then close the connection without a word (the server may have
acted on it, the client cannot know).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


class ScriptedServer:
    def __init__(self, *replies: Reply, default: Reply | None = None) -> None:
        self.replies = list(replies)
        self.default = default or Reply()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = self._make()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _next(self) -> Reply:
        with self._lock:
            return self.replies.pop(0) if self.replies else self.default

    def _make(self) -> ThreadingHTTPServer:
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                with script._lock:
                    script.seen.append(
                        Seen(self.command, self.path, dict(self.headers.items()), body)
                    )
                reply = script._next()
                if reply.drop:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        return Server(("127.0.0.1", 0), Handler)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
