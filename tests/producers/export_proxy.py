"""A real HTTP proxy in front of the API that records every request and can cut an export short.

Requests are forwarded as they come; ``seen`` lists ``(method, path)`` of each, so a test can
tell where a file came from (one export, or one task read per result). With ``cut_after`` set,
an export (``GET …/export``) is answered with its real headers, its full ``content-length``,
and only its first ``cut_after`` bytes; the proxy then waits for ``release`` (``holding`` is set
meanwhile, for a test to look at the half-downloaded state) and closes the connection: the
download dies part way, as on a network failure.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

__all__ = ["ExportProxy"]

HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})
HOLD_LIMIT_S = 60.0


class ExportProxy:
    def __init__(self, upstream: str, *, cut_after: int | None = None) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=60)
        self.cut_after = cut_after
        self.seen: list[tuple[str, str]] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = self._make()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def paths(self, method: str = "GET") -> list[str]:
        with self._lock:
            return [path for seen_method, path in self.seen if seen_method == method]

    def _make(self) -> ThreadingHTTPServer:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                with proxy._lock:
                    proxy.seen.append((self.command, self.path))
                answer = proxy.upstream.request(
                    self.command, self.path, content=body, headers=headers
                )
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_HEADERS | {"content-encoding"}:
                        self.send_header(name, value)
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                cut = proxy.cut_after
                if cut is None or "/export" not in self.path or not answer.is_success:
                    self.wfile.write(answer.content)
                    return
                self.wfile.write(answer.content[:cut])
                self.wfile.flush()
                proxy.holding.set()
                proxy.release.wait(HOLD_LIMIT_S)
                self.close_connection = True  # the rest never comes

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client gave up on a cut download: nothing to report

        return Server(("127.0.0.1", 0), Handler)

    def __enter__(self) -> ExportProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self.upstream.close()
