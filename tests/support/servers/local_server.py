"""Real HTTP/1.1 servers on a free loopback port, each in a thread, for the client's tests: the
plumbing the scripted server and the proxies share (``handle`` is what each does differently).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import httpx

__all__ = ["ForwardingProxy", "LocalServer", "read_body", "send"]

# Headers that describe one connection, not the message: never passed through a proxy.
HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})


def read_body(request: BaseHTTPRequestHandler) -> bytes:
    return request.rfile.read(int(request.headers.get("content-length", 0)))


def send_head(
    request: BaseHTTPRequestHandler, status: int, headers: Iterable[tuple[str, str]], length: int
) -> None:
    request.send_response(status)
    for name, value in headers:
        request.send_header(name, value)
    request.send_header("content-length", str(length))
    request.end_headers()


def send(
    request: BaseHTTPRequestHandler, status: int, headers: Iterable[tuple[str, str]], body: bytes
) -> None:
    send_head(request, status, headers, len(body))
    request.wfile.write(body)


class LocalServer:
    """Use as a context manager; ``url`` is where it listens. A client that hangs up mid-way
    (the tests interrupt downloads and uploads on purpose) is not reported."""

    def __init__(self) -> None:
        self._server = self._make()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def _make(self) -> ThreadingHTTPServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                owner.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        return Server(("127.0.0.1", 0), Handler)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing()
        self._server.shutdown()
        self._server.server_close()

    def closing(self) -> None:
        """Called first on exit (a proxy lets go of a request it holds)."""


class ForwardingProxy(LocalServer):
    """A proxy in front of ``upstream`` (the real API): :meth:`forward` passes a request on."""

    def __init__(self, upstream: str) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=60)
        super().__init__()

    def forward(self, request: BaseHTTPRequestHandler) -> httpx.Response:
        body = read_body(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        return self.upstream.request(request.command, request.path, content=body, headers=headers)

    @staticmethod
    def answer_head(request: BaseHTTPRequestHandler, answer: httpx.Response) -> None:
        """The upstream answer's status and headers (its body, decoded, follows)."""
        kept = HOP_HEADERS | {"content-encoding"}
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in kept]
        send_head(request, answer.status_code, headers, len(answer.content))

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.upstream.close()
