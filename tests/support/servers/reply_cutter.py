"""A real TCP proxy in front of a real Redis that loses replies the way a network or a dying
master does: Redis runs the command, the client never hears back.

- :meth:`ReplyCutter.cut_reply_to` arms it with a marker (say a script's SHA): the first request
  carrying it is forwarded, and that connection is closed as soon as Redis answers, the answer
  dropped (``cut`` is set then);
- :meth:`ReplyCutter.go_down` closes every connection and refuses new ones (each is accepted
  and closed at once) until :meth:`ReplyCutter.come_back`: Redis unreachable for a while.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

__all__ = ["ReplyCutter"]

_CHUNK = 65536


class _Link:
    """One client connection and its upstream twin."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client, self.upstream = client, upstream
        # Held while a marked request is sent and the cut armed, and by every reply forwarded:
        # a reply that comes back once the request went out is never passed on.
        self.lock = threading.Lock()
        self.cut_replies = False

    def close(self) -> None:
        for end in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


class ReplyCutter:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.cut = threading.Event()
        self._marker: bytes | None = None
        self._down = False
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="reply-cutter", daemon=True).start()

    @classmethod
    def in_front_of(cls, redis_url: str) -> ReplyCutter:
        """A cutter in front of the Redis at ``redis_url`` (``redis://`` only: it reads
        the bytes)."""
        parts = urlsplit(redis_url)
        assert parts.scheme == "redis", redis_url
        return cls(parts.port or 6379, parts.hostname or "127.0.0.1")

    def url(self, redis_url: str) -> str:
        """``redis_url`` (its credentials and database) through this proxy."""
        parts = urlsplit(redis_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def cut_reply_to(self, marker: bytes) -> None:
        with self._lock:
            self.cut.clear()
            self._marker = marker

    def go_down(self) -> None:
        with self._lock:
            self._down = True
            links, self._links = self._links, set()
        for link in links:
            link.close()

    def come_back(self) -> None:
        with self._lock:
            self._down = False

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                down = self._down
            if down:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            link = _Link(client, upstream)
            with self._lock:
                self._links.add(link)
            threading.Thread(target=self._requests, args=(link,), daemon=True).start()
            threading.Thread(target=self._replies, args=(link,), daemon=True).start()

    def _requests(self, link: _Link) -> None:
        tail = b""  # a marker split across two reads is still seen
        while True:
            try:
                data = link.client.recv(_CHUNK)
            except OSError:
                data = b""
            if not data:
                link.close()
                return
            with self._lock:
                marker = self._marker
                marked = marker is not None and marker in tail + data
                if marked:
                    self._marker = None
            tail = data[-len(marker) :] if marker else b""
            try:
                with link.lock:
                    link.upstream.sendall(data)
                    link.cut_replies = link.cut_replies or marked
            except OSError:
                link.close()
                return

    def _replies(self, link: _Link) -> None:
        while True:
            try:
                data = link.upstream.recv(_CHUNK)
            except OSError:
                data = b""
            if not data:
                link.close()
                return
            with link.lock:
                if link.cut_replies:
                    # Redis got the marked request (and ran it): its answer goes nowhere, and
                    # the connection with it.
                    self.cut.set()  # first: the client sees the close at once
                    link.close()
                    return
                try:
                    link.client.sendall(data)
                except OSError:
                    link.close()
                    return

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        self.go_down()

    def __enter__(self) -> ReplyCutter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
