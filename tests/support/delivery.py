"""What the webhook delivery tests share: a real HTTP receiver, a test clock, a published result.

The receiver is a real ``ThreadingHTTPServer`` on a loopback port: it records every connection
and request, and answers from a script of responses (status, headers, body, delay), so the
tests see exactly what went over the wire.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
import redis.asyncio

from core.board.runner import BoardPolicy, NewTask
from core.delivery.records import DeliveryStore
from core.delivery.results import Result, publish_result
from core.delivery.webhooks import Webhooks
from core.redis.keys import Keys
from tests.support.board import TestBoard
from workers.delivery.deliverer import Deliverer
from workers.delivery.webhook_client import HttpLimits

# Short limits keep the slow-receiver tests fast; production uses HttpLimits().
TEST_LIMITS = HttpLimits(connect_s=1.0, io_s=1.0, total_s=2.0)


class Clock:
    """Seconds since the epoch that only move when told to; starts at the real time, so
    signatures stay inside the standardwebhooks library's five-minute tolerance."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def ms(self) -> int:
        return int(self.now * 1000)


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay_s: float = 0.0


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """A real local webhook receiver. ``answers`` are used in order; then ``default``."""

    def __init__(
        self,
        answers: list[Answer] | None = None,
        *,
        default: Answer | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.tls = tls
        self.answers = list(answers or [])
        self.default = default or Answer()
        self.requests: list[Request] = []
        self.connections = 0
        self.body_bytes_sent: list[int] = []
        self._lock = threading.Lock()
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/hook"

    def _next_answer(self) -> Answer:
        with self._lock:
            return self.answers.pop(0) if self.answers else self.default

    def _make_server(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Request(self.path, dict(self.headers.items()), body, time.time())
                    )
                answer = receiver._next_answer()
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                sent = 0
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(answer.body)))
                    self.end_headers()
                    for start in range(0, len(answer.body), 8192):
                        chunk = answer.body[start : start + 8192]
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        sent += len(chunk)
                except OSError:
                    pass  # the client went away (timeout, or it stopped reading)
                with receiver._lock:
                    receiver.body_bytes_sent.append(sent)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def server_bind(self) -> None:
                # A small send buffer, so what the server managed to write shows what was read.
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
                super().server_bind()

            def verify_request(self, request: Any, client_address: Any) -> bool:
                with receiver._lock:
                    receiver.connections += 1
                return True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        server = Server(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        return server

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiving(*answers: Answer, default: Answer | None = None) -> Iterator[Receiver]:
    with Receiver(list(answers), default=default) as receiver:
        yield receiver


def set_endpoint(redis_url: str, org_id: str, url: str) -> str:
    """Set the organisation's webhook through the real ``Webhooks`` (as ``PUT /v1/webhook``)."""

    async def run() -> str:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await Webhooks(client, Keys()).set_endpoint(org_id, url)
        finally:
            await client.aclose()

    return asyncio.run(run())


def redeliver(redis_url: str, org_id: str, delivery_id: str) -> None:
    """Ask for a redelivery through the real ``Webhooks`` (as the API route does)."""

    async def run() -> None:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            await Webhooks(client, Keys()).redeliver(org_id, delivery_id)
        finally:
            await client.aclose()

    asyncio.run(run())


@dataclass
class Published:
    org_id: str
    project_id: str
    task_id: str
    result_id: str


def publish(client: redis.Redis, org_id: str, answer: dict[str, Any] | None = None) -> Published:
    """A project of ``org_id`` with one task, and that task's result published to its feed."""
    board = TestBoard(client, keys=Keys())
    project_id = board.create_project(BoardPolicy(redundancy=1), document={"org_id": org_id})
    [task] = board.create_tasks(project_id, [NewTask({"n": 1}, external_id="ext-1")])
    result = Result(task.task_id, answer or {"label": "spam"}, 0.93, "agreement")
    published = board.run(publish_result(board.keys, project_id, result))
    return Published(org_id, project_id, task.task_id, published.cursor)


def publish_more(client: redis.Redis, org_id: str, project_id: str) -> Published:
    """One more task and result in an existing project."""
    board = TestBoard(client, keys=Keys())
    [task] = board.create_tasks(project_id, [NewTask({"n": 2})])
    result = Result(task.task_id, {"label": "ham"}, 0.71, "review")
    published = board.run(publish_result(board.keys, project_id, result))
    return Published(org_id, project_id, task.task_id, published.cursor)


def deliverer(client: redis.Redis, clock: Clock, **overrides: Any) -> Deliverer:
    options: dict[str, Any] = {
        "allow_private": True,
        "clock": clock,
        "limits": TEST_LIMITS,
        "rng": random.Random(7),
    }
    options.update(overrides)
    return Deliverer(DeliveryStore(client, Keys()), **options)


def headers_of(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}
