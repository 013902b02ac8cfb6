"""A real HTTP proxy in front of the API that lets a client upload N chunks, then hangs.

The ``hang_on``-th bulk request (``POST …/tasks``) is forwarded to the API, which creates its
tasks, but its answer is held back: the client is left waiting, exactly like a submission cut
off by a network failure or a Ctrl-C at the worst moment. ``hanging`` is set then.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler

from tests.support.servers.local_server import ForwardingProxy

__all__ = ["StallingProxy"]


class StallingProxy(ForwardingProxy):
    def __init__(self, upstream: str, hang_on: int) -> None:
        self.hang_on = hang_on
        self.bulk_requests = 0
        self.hanging = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        super().__init__(upstream)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        answer = self.forward(request)
        hang = False
        if request.command == "POST" and request.path.endswith("/tasks"):
            with self._lock:
                self.bulk_requests += 1
                hang = self.bulk_requests == self.hang_on
        if hang:
            self.hanging.set()
            self.release.wait(60)
            request.close_connection = True
            return
        self.answer_head(request, answer)
        request.wfile.write(answer.content)

    def closing(self) -> None:
        self.release.set()
