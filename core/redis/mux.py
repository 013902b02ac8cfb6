"""One Redis connection multiplexed between every coroutine of a process, for the API's hot path.

Why: the claim→submit cycle spent about a third of its CPU inside redis-py's asyncio client.
Measured client CPU per call (uvloop, one EVALSHA of ``return 1``): redis-py ``evalsha`` 56 µs,
a redis-py pipeline of two EVALSHA 85 µs, a bare ``asyncio.Protocol`` with ``hiredis.Reader``
26 µs. redis-py pays for its StreamReader/StreamWriter, an ``asyncio.timeout`` per read, the pool
checkout, its Retry wrapper and pipeline objects. :class:`MuxRedis` is that bare protocol, for
the few scripts the request path runs; redis-py stays everywhere else. ``bench/redis_mux.py``
measures both: for one caller the mux costs a half to a third of ``evalsha`` (Redis on another
CPU or the same one), a third to a fifth of the pipeline for a batch of two; with 16 callers at
once, under a tenth of either (their requests share one write).

How: RESP2 answers in order, so requests written to one connection are matched to replies by a
FIFO queue; a caller never waits for a pool checkout. Commands are packed by ``hiredis`` (the
same bytes as redis-py's Encoder) and replies parsed by ``hiredis.Reader``, with error replies
turned into redis-py's exception classes by redis-py's mapping (``core.redis.reply_errors``:
``NoScriptError`` for NOSCRIPT, ``ResponseError`` and its subclasses otherwise). A single timer per
connection watches the oldest request's deadline instead of a timeout context per call. Over TLS
(``rediss://``) the socket is wrapped by asyncio's TLS transport, with the context redis-py would
build for the same URL (``core.redis.tls``); without it, nothing changes on the path of a request.

What it does not do: no pub/sub, no blocking commands (BLPOP, XREAD BLOCK... would stall every
caller behind them), no MULTI/WATCH state shared between callers, no RESP3 or push messages, no
response callbacks (replies come back raw: ``SET`` answers ``"OK"``, not ``True``), one event loop
per instance.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import hiredis
from redis.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.redis.reply_errors import reply_error
from core.redis.tls import ssl_context

__all__ = ["MuxRedis"]

Arg = str | int | bytes | float

# hiredis answers this when the buffer holds no complete reply (its default, False, would be
# ambiguous with a RESP3 boolean).
_NOT_ENOUGH_DATA = object()


class _Request:
    """One ``execute`` in flight: its future, how many replies it waits for, its deadline."""

    __slots__ = ("deadline", "expected", "future", "replies")

    def __init__(self, future: asyncio.Future[list[Any]], expected: int, deadline: float) -> None:
        self.future = future
        self.expected = expected
        self.deadline = deadline
        self.replies: list[Any] = []


class _Connection(asyncio.Protocol):
    """One socket: writes requests, reads replies in order, fails everything when it breaks.

    Once ``closed`` it never comes back; :class:`MuxRedis` opens a new one.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_s: float) -> None:
        self.closed = False
        self.lost: asyncio.Future[None] = loop.create_future()
        self._loop = loop
        self._timeout_s = timeout_s
        self._transport: asyncio.Transport | None = None
        self._reader = hiredis.Reader(
            encoding="utf-8",
            # redis-py's error mapping: NOSCRIPT → NoScriptError, "ERR ..." → ResponseError
            # (prefix stripped, as redis-py does), and so on; the Reader returns the instance.
            replyError=reply_error,
            notEnoughData=_NOT_ENOUGH_DATA,
        )
        self._pending: deque[_Request] = deque()
        self._watchdog: asyncio.TimerHandle | None = None
        self._outgoing: list[bytes] = []

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        reader = self._reader
        pending = self._pending
        reader.feed(data)
        while True:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError as error:
                self.drop(RedisConnectionError, f"Redis protocol error: {error}")
                return
            except UnicodeDecodeError as error:
                # Not UTF-8 (redis-py with decode_responses raises the same): hiredis consumed
                # the whole reply, so the stream is still in step; the error takes its place.
                reply = error
            if reply is _NOT_ENOUGH_DATA:
                return
            if not pending:
                self.drop(RedisConnectionError, "Redis sent a reply nobody asked for")
                return
            request = pending[0]
            replies = request.replies
            replies.append(reply)
            if len(replies) == request.expected:
                pending.popleft()
                # A cancelled caller's future is done already: its replies were read, and are
                # dropped here, so the stream stays in step.
                if not request.future.done():
                    request.future.set_result(replies)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"Connection to Redis lost: {exc}" if exc else "Connection closed by Redis"
        self.drop(RedisConnectionError, reason)
        if not self.lost.done():
            self.lost.set_result(None)

    # -- requests

    def send(self, payload: bytes, expected: int) -> asyncio.Future[list[Any]]:
        """Queue ``payload`` (``expected`` packed commands); the future gets their replies."""
        if self.closed:
            raise RedisConnectionError("Connection to Redis lost")
        loop = self._loop
        future: asyncio.Future[list[Any]] = loop.create_future()
        deadline = loop.time() + self._timeout_s
        self._pending.append(_Request(future, expected, deadline))
        if self._watchdog is None:
            self._watchdog = loop.call_at(deadline, self._check_deadline)
        # Every request made during this turn of the event loop goes out in one write at the
        # next: with many callers, one syscall for all instead of one each (bench/redis_mux.py,
        # client CPU per call with 16 coroutines: 6.5 µs with a write each, 2.2 to 3.4 µs
        # coalesced; a lone caller: no difference above the noise). A request's commands stay
        # together, in order.
        outgoing = self._outgoing
        outgoing.append(payload)
        if len(outgoing) == 1:
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if self.closed:
            return
        try:
            cast(asyncio.Transport, self._transport).write(b"".join(outgoing))
        except Exception as error:  # uvloop raises on a closed handle
            self.drop(RedisConnectionError, f"Error writing to Redis: {error}")

    def _check_deadline(self) -> None:
        # Armed at the deadline of the oldest request when it was sent; requests answer in order,
        # so if the oldest one is still pending at its deadline, it timed out. Otherwise move on
        # to the new oldest: one timer per connection, re-armed at most once per deadline.
        self._watchdog = None
        pending = self._pending
        if not pending or self.closed:
            return
        now = self._loop.time()
        oldest = pending[0]
        if oldest.deadline > now:
            self._watchdog = self._loop.call_at(oldest.deadline, self._check_deadline)
            return
        while pending and pending[0].deadline <= now:
            future = pending.popleft().future
            if not future.done():
                future.set_exception(
                    RedisTimeoutError(f"No reply from Redis within {self._timeout_s} s")
                )
        # Replies still due for the expired requests would be matched to later ones: the
        # connection can't be trusted anymore.
        self.drop(RedisConnectionError, "Connection to Redis dropped after a timeout")

    def drop(self, error: type[Exception], message: str, *, abort: bool = True) -> None:
        """Fail every pending request with ``error(message)`` and close the socket."""
        if self.closed:
            return
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        pending, self._pending = self._pending, deque()
        for request in pending:
            if not request.future.done():
                request.future.set_exception(error(message))  # an instance per caller
        if self._transport is not None:
            if abort:
                self._transport.abort()
            else:
                self._transport.close()


class MuxRedis:
    """One connection shared by every coroutine of the process; replies matched to requests in
    order (RESP answers in order), so concurrent callers never wait for a pool checkout.

    ``url`` is ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` the same over TLS
    (with redis-py's ``ssl_*`` query options, see ``core.redis.tls``) or ``unix://path?db=N``.
    The connection opens on the first :meth:`execute` (the process may start while Redis is
    down) and again after it breaks. A TLS option or file that is wrong fails here, at once.
    """

    def __init__(self, url: str, *, timeout_s: float = 2.0, connect_timeout_s: float = 2.0) -> None:
        options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        self._ssl: ssl.SSLContext | None = None
        if options.get("connection_class") is SSLConnection:
            self._ssl = ssl_context(options)
        self._path: str | None = options.get("path")
        self._host: str = options.get("host", "localhost")
        self._port: int = options.get("port", 6379)
        self._db = int(options.get("db", 0))
        self._username: str | None = options.get("username")
        self._password: str | None = options.get("password")
        self._where = self._path or f"{self._host}:{self._port}"
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None

    async def execute(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """Send the commands in one write (shared with other callers' requests made in the same
        turn of the event loop, never interleaved with them); return their replies in order.
        An error reply is returned as an exception instance in its place (redis-py's
        `raise_on_error=False`), of redis-py's classes: `redis.exceptions.NoScriptError` for
        NOSCRIPT replies, `redis.exceptions.ResponseError` for other error replies. Replies
        decoded as UTF-8 str (like `decode_responses=True`), ints as int, arrays as lists, nil
        as None.

        Raises ``redis.exceptions.ConnectionError`` when Redis can't be reached or the connection
        breaks, ``redis.exceptions.TimeoutError`` when no reply comes within ``timeout_s``
        (either way, the commands may or may not have run), ``redis.exceptions.DataError`` for
        an argument that is not str, int, float or bytes."""
        if not commands:
            return []
        try:
            if len(commands) == 1:
                payload = _pack(commands[0])
            else:
                payload = b"".join([_pack(command) for command in commands])
        except TypeError as error:  # hiredis refuses bool, None and other types, as redis-py
            raise DataError(f"Invalid command argument: {error}") from None
        connection = self._connection
        if connection is None or connection.closed:
            connection = await self._connect()
        return await connection.send(payload, len(commands))

    async def aclose(self) -> None:
        """Close the connection; pending requests fail with ``ConnectionError``. A later
        :meth:`execute` opens a new one."""
        connecting, self._connecting = self._connecting, None
        if connecting is not None and not connecting.done():
            # Not cancelled: its waiting callers would get CancelledError for someone else's
            # close. It ends within connect_timeout_s; what it opened is closed below.
            await asyncio.wait([connecting])
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.drop(RedisConnectionError, "Connection closed by aclose()", abort=False)
            await connection.lost

    async def _connect(self) -> _Connection:
        # One attempt at a time: concurrent callers await the same task. Shielded, so a caller
        # cancelled while waiting does not cancel the attempt for the others.
        task = self._connecting
        if task is None or task.done():
            task = self._connecting = asyncio.ensure_future(self._open())
        return await asyncio.shield(task)

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = _Connection(loop, self._timeout_s)
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                if self._path is not None:
                    await loop.create_unix_connection(lambda: connection, self._path)
                elif self._ssl is None:
                    await loop.create_connection(lambda: connection, self._host, self._port)
                else:  # the TLS handshake is part of the connect, and of its timeout
                    await loop.create_connection(
                        lambda: connection,
                        self._host,
                        self._port,
                        ssl=self._ssl,
                        server_hostname=self._host,
                    )
                await self._handshake(connection)
        except TimeoutError:
            connection.drop(RedisConnectionError, "connect timed out")
            raise RedisTimeoutError(f"Timeout connecting to Redis at {self._where}") from None
        except OSError as error:
            raise RedisConnectionError(
                f"Error connecting to Redis at {self._where}: {error}"
            ) from error
        except BaseException:
            connection.drop(RedisConnectionError, "connect failed")
            raise
        self._connection = connection
        return connection

    async def _handshake(self, connection: _Connection) -> None:
        """AUTH and SELECT in one write, answered before any caller's command goes out."""
        commands: list[tuple[Arg, ...]] = []
        if self._password is not None:
            if self._username is not None:
                commands.append(("AUTH", self._username, self._password))
            else:
                commands.append(("AUTH", self._password))
        if self._db:
            commands.append(("SELECT", self._db))
        if not commands:
            return
        replies = await connection.send(b"".join(map(_pack, commands)), len(commands))
        for command, reply in zip(commands, replies, strict=True):
            if isinstance(reply, RedisConnectionError):  # AuthenticationError is one
                raise reply
            if isinstance(reply, Exception):
                raise RedisConnectionError(f"Redis refused {command[0]!s}: {reply}") from reply


def _pack(command: Sequence[Arg]) -> bytes:
    """One command as a RESP array of bulk strings (hiredis's C packer: the bytes redis-py's
    Encoder makes, str as UTF-8, int and float as their repr, about 6x cheaper)."""
    # The stub types its argument as a 1-tuple; it takes any tuple.
    return cast(bytes, hiredis.pack_command(tuple(command)))  # type: ignore[arg-type]
