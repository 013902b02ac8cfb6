"""The mux's error replies are redis-py's: for every error code and ERR message the mux maps
(core/redis/reply_errors.py), and a few it leaves to ``ResponseError``, redis-py's asyncio client
raises the same class with the same message for the same reply.

The replies come from a small RESP server of the test's own that answers ``ECHO <line>`` with the
error ``-<line>``: most of these errors (MOVED, LOADING, MASTERDOWN, an LDAP failure...) cannot
be had from a single throw-away redis-server on demand. tests/core/test_redis_mux.py checks the
common ones against a real one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import hiredis
import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from core.redis.mux import MuxRedis
from core.redis.reply_errors import ERR_MESSAGE_CLASSES, ERROR_CLASSES

pytestmark = pytest.mark.anyio

SLOT_MOVED = "3999 127.0.0.1:6381"  # what MOVED and ASK carry

REPLIES = [
    *(f"{code} {SLOT_MOVED if code in ('MOVED', 'ASK') else 'it went wrong'}"
      for code in ERROR_CLASSES),
    *(f"ERR {message}" for message in ERR_MESSAGE_CLASSES),
    "NOSCRIPT",  # a code without a message
    "ERR unknown command 'FOO', with args beginning with: ",
    "ERR",
    "WRONGTYPE Operation against a key holding the wrong kind of value",
    "NOGROUP No such key 'stream' or consumer group 'relay'",
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
    "Syntax error at offset 3",
]  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def echo_errors() -> AsyncIterator[int]:
    """A RESP server answering ``ECHO line`` with the error ``-line`` and anything else (the
    clients' CLIENT SETINFO on connect) with ``+OK``; its port."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        commands = hiredis.Reader(encoding="utf-8")
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                commands.feed(data)
                while (command := commands.gets()) is not False:
                    if command[0].upper() == "ECHO":
                        writer.write(f"-{command[1]}\r\n".encode())
                    else:
                        writer.write(b"+OK\r\n")
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.mark.parametrize("reply", REPLIES)
async def test_an_error_reply_is_the_exception_redis_py_makes_of_it(
    reply: str, echo_errors: int
) -> None:
    url = f"redis://127.0.0.1:{echo_errors}/0"
    mux = MuxRedis(url)
    # RESP2, as the mux speaks (redis-py 8 starts with HELLO 3 otherwise).
    client = redis.asyncio.Redis.from_url(url, protocol=2, retry=Retry(NoBackoff(), 0))
    try:
        [ours] = await mux.execute([("ECHO", reply)])
        with pytest.raises(RedisError) as raised:
            await client.echo(reply)
    finally:
        await mux.aclose()
        await client.aclose()
    theirs: Any = raised.value
    assert (type(ours), str(ours)) == (type(theirs), str(theirs))


async def test_a_reply_an_exception_cannot_be_made_of_is_a_response_error_in_its_place(
    echo_errors: int,
) -> None:
    mux = MuxRedis(f"redis://127.0.0.1:{echo_errors}/0")
    try:
        moved, next_one = await mux.execute([("ECHO", "MOVED nowhere"), ("ECHO", "ERR next")])
    finally:
        await mux.aclose()
    assert (type(moved), str(moved)) == (ResponseError, "nowhere")
    assert (type(next_one), str(next_one)) == (ResponseError, "next")
