"""A real HTTP proxy in front of the API that lets a client upload N chunks, then hangs.

The ``hang_on``-th bulk request (``POST …/tasks``) is forwarded to the API, which creates its
tasks, but its answer is held back: the client is left waiting, exactly like a submission cut
off by a network failure or a Ctrl-C at the worst moment. ``hanging`` is set then.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

__all__ = ["StallingProxy"]

HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})


class StallingProxy:
    def __init__(self, upstream: str, hang_on: int) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=60)
        self.hang_on = hang_on
        self.bulk_requests = 0
        self.hanging = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = self._make()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _make(self) -> ThreadingHTTPServer:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                answer = proxy.upstream.request(
                    self.command, self.path, content=body, headers=headers
                )
                hang = False
                if self.command == "POST" and self.path.endswith("/tasks"):
                    with proxy._lock:
                        proxy.bulk_requests += 1
                        hang = proxy.bulk_requests == proxy.hang_on
                if hang:
                    proxy.hanging.set()
                    proxy.release.wait(60)
                    self.close_connection = True
                    return
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_HEADERS | {"content-encoding"}:
                        self.send_header(name, value)
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the interrupted client hung up: nothing to report

        return Server(("127.0.0.1", 0), Handler)

    def __enter__(self) -> StallingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self.upstream.close()
