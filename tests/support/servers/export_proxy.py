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
from http.server import BaseHTTPRequestHandler

from tests.support.servers.local_server import ForwardingProxy

__all__ = ["ExportProxy"]

HOLD_LIMIT_S = 60.0


class ExportProxy(ForwardingProxy):
    def __init__(self, upstream: str, *, cut_after: int | None = None) -> None:
        self.cut_after = cut_after
        self.seen: list[tuple[str, str]] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        super().__init__(upstream)

    def paths(self, method: str = "GET") -> list[str]:
        with self._lock:
            return [path for seen_method, path in self.seen if seen_method == method]

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.seen.append((request.command, request.path))
        answer = self.forward(request)
        self.answer_head(request, answer)
        cut = self.cut_after
        if cut is None or "/export" not in request.path or not answer.is_success:
            request.wfile.write(answer.content)
            return
        request.wfile.write(answer.content[:cut])
        request.wfile.flush()
        self.holding.set()
        self.release.wait(HOLD_LIMIT_S)
        request.close_connection = True  # the rest never comes

    def closing(self) -> None:
        self.release.set()
