"""MuxRedis against a real redis-server: replies, errors, concurrency, breakage, timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis._parsers import Encoder
from redis.exceptions import (
    AuthenticationError,
    DataError,
    NoScriptError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.redis.mux import MuxRedis
from core.redis.server import RedisServer

pytestmark = pytest.mark.anyio

PASSWORD = "s3cret pass"  # noqa: S105 - a throw-away server's; the space tests percent-decoding


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),  # what the API runs on
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture
async def mux(redis_client: redis.Redis, redis_url: str) -> AsyncIterator[MuxRedis]:
    client = MuxRedis(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def secured_server() -> Iterator[tuple[RedisServer, str]]:
    """A server of our own with a password and a unix socket (a short path: sun_path is ~100
    bytes), so the session's server stays untouched."""
    with tempfile.TemporaryDirectory(prefix="mux") as data_dir:
        socket_path = str(Path(data_dir) / "redis.sock")
        server = RedisServer(
            Path(data_dir),
            appendonly=False,
            extra_args=["--unixsocket", socket_path, "--unixsocketperm", "700"],
        )
        server.start()  # without a password: start() waits for an unauthenticated PING
        try:
            setup = redis.Redis(port=server.port)
            setup.config_set("requirepass", PASSWORD)
            setup.close()
            yield server, socket_path
        finally:
            server.stop()


def raw_replies(client: redis.Redis, commands: list[tuple[Any, ...]]) -> list[Any]:
    """redis-py's decoded replies without its response callbacks (which turn "OK" into True)."""
    client.response_callbacks.clear()
    # redis-py leaves execute_command unannotated.
    return [client.execute_command(*command) for command in commands]  # type: ignore[no-untyped-call]


def sample_commands(prefix: str) -> list[tuple[Any, ...]]:
    return [
        ("SET", f"{prefix}s", "héllo"),  # status
        ("GET", f"{prefix}s"),  # bulk, UTF-8
        ("GET", f"{prefix}missing"),  # nil
        ("ECHO", ""),  # empty bulk
        ("INCRBY", f"{prefix}n", 41),  # integer
        ("INCR", f"{prefix}n"),
        ("SET", f"{prefix}f", 1.5),
        ("INCRBYFLOAT", f"{prefix}f", 0.25),
        ("RPUSH", f"{prefix}l", "a", 2, "é".encode()),
        ("LRANGE", f"{prefix}l", 0, -1),  # array
        ("LRANGE", f"{prefix}missing", 0, -1),  # empty array
        ("HSET", f"{prefix}h", "k", "v"),
        ("HMGET", f"{prefix}h", "k", "nope"),  # nil inside an array
        ("EVAL", "return {1, 'two', {3, {'four', false}}, -5}", 0),  # nested, nil inside
        ("EVAL", "return redis.status_reply('FINE')", 0),
        ("PING",),
    ]


async def test_replies_of_every_type_match_redis_py_decoded_replies(
    mux: MuxRedis, redis_url: str
) -> None:
    replies = await mux.execute(sample_commands("mux:"))
    reference = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        expected = raw_replies(reference, sample_commands("py:"))
    finally:
        reference.close()
    assert replies == expected
    assert replies[:6] == ["OK", "héllo", None, "", 41, 42]
    assert replies[9] == ["a", "2", "é"]
    assert replies[12] == ["v", None]
    assert replies[13] == [1, "two", [3, ["four", None]], -5]
    assert replies[14:] == ["FINE", "PONG"]
    # One command at a time gives the same as in a batch.
    assert [(await mux.execute([command]))[0] for command in sample_commands("one:")] == [
        *expected[:4],
        41,
        42,
        *expected[6:],
    ]


@pytest.mark.parametrize(
    "value", [0, -7, 2**63 - 1, 1.5, 0.1, 1 / 3, 1e20, -0.0, "é€", b"\x00\xff"]
)
async def test_arguments_are_encoded_as_redis_py_encodes_them(
    mux: MuxRedis, redis_url: str, value: str | int | float | bytes
) -> None:
    assert await mux.execute([("SET", "key", value)]) == ["OK"]
    raw = redis.Redis.from_url(redis_url)
    try:
        # redis-py's Encoder (what the mux must match) is unannotated.
        encoder = Encoder("utf-8", "strict", False)  # type: ignore[no-untyped-call]
        assert raw.get("key") == encoder.encode(value)  # type: ignore[no-untyped-call]
    finally:
        raw.close()


async def test_error_replies_take_their_place_and_the_connection_stays_usable(
    mux: MuxRedis, redis_client: redis.Redis
) -> None:
    redis_client.set("text", "abc")
    replies = await mux.execute(
        [
            ("EVALSHA", "0" * 40, 0),
            ("INCR", "text"),
            ("NOSUCHCOMMAND", 1),
            ("EVAL", "return redis.error_reply('MYERR custom')", 0),
            ("EVAL", "return {1, redis.error_reply('INNER nested')}", 0),
            ("GET", "text"),
        ]
    )
    no_script, wrong_type, unknown, custom, nested, text = replies
    assert isinstance(no_script, NoScriptError)
    for error in (wrong_type, unknown, custom):
        assert type(error) is ResponseError
    assert nested[0] == 1 and type(nested[1]) is ResponseError
    assert text == "abc"
    # The messages are redis-py's own.
    with pytest.raises(ResponseError) as raised:
        redis_client.incr("text")
    assert str(wrong_type) == str(raised.value)
    with pytest.raises(NoScriptError) as no_script_raised:
        redis_client.evalsha("0" * 40, 0)
    assert str(no_script) == str(no_script_raised.value)
    assert str(custom) == "MYERR custom"
    assert await mux.execute([("ECHO", "still there")]) == ["still there"]


async def test_an_argument_of_another_type_is_refused_before_anything_is_sent(
    mux: MuxRedis,
) -> None:
    for bad in (True, None, ["a"]):
        with pytest.raises(DataError):
            await mux.execute([("ECHO", "a"), ("ECHO", bad)])  # type: ignore[list-item]  # on purpose
    assert await mux.execute([("ECHO", "b")]) == ["b"]
    assert await mux.execute([]) == []


async def test_two_thousand_concurrent_calls_each_get_their_own_replies_on_one_connection(
    mux: MuxRedis,
) -> None:
    tasks, calls_per_task = 50, 40
    client_ids: set[int] = set()

    async def caller(task: int) -> int:
        key = f"counter:{task}"
        count = 0
        for call in range(calls_per_task):
            if call % 2:
                count += 1
                assert await mux.execute([("INCR", key)]) == [count]
            else:
                count += 1
                incremented, value, echoed, client_id = await mux.execute(
                    [("INCR", key), ("GET", key), ("ECHO", f"{task}:{call}"), ("CLIENT", "ID")]
                )
                assert (incremented, value, echoed) == (count, str(count), f"{task}:{call}")
                client_ids.add(client_id)
            if random.random() < 0.3:
                await asyncio.sleep(0)  # shuffle the interleaving
        return count

    # Every task starts before the connection exists: they all wait for the same connect.
    counts = await asyncio.gather(*(caller(task) for task in range(tasks)))
    assert counts == [calls_per_task] * tasks
    assert len(client_ids) == 1


async def wait_until_blocked(redis_client: redis.Redis, clients: int = 1) -> None:
    """Until ``clients`` connections sit in a blocking command on the server."""
    for _ in range(500):
        if int(redis_client.info("clients")["blocked_clients"]) >= clients:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the blocking command never reached the server")


async def test_a_killed_connection_fails_pending_callers_and_the_next_call_reconnects(
    mux: MuxRedis, redis_client: redis.Redis
) -> None:
    [client_id] = await mux.execute([("CLIENT", "ID")])
    # BLPOP holds the connection server-side, so the calls behind it are truly in flight.
    pending = [
        asyncio.ensure_future(mux.execute([("BLPOP", "nothing", 10)])),
        asyncio.ensure_future(mux.execute([("ECHO", "behind")])),
        asyncio.ensure_future(mux.execute([("INCR", "n"), ("INCR", "n")])),
    ]
    await wait_until_blocked(redis_client)
    assert redis_client.client_kill_filter(_id=client_id) == 1
    for call in pending:
        with pytest.raises(RedisConnectionError):
            await call
    [new_id] = await mux.execute([("CLIENT", "ID")])
    assert new_id != client_id
    assert await mux.execute([("INCR", "n")]) == [1]  # the batch behind BLPOP never ran


async def test_a_request_without_reply_in_time_fails_with_timeout_then_calls_work_again(
    redis_client: redis.Redis, redis_url: str
) -> None:
    mux = MuxRedis(redis_url, timeout_s=0.2)
    try:
        [client_id] = await mux.execute([("CLIENT", "ID")])
        redis_client.client_pause(1000)  # every normal client, this one too, for 1 s
        first = asyncio.ensure_future(mux.execute([("ECHO", "first")]))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(mux.execute([("ECHO", "second")]))
        with pytest.raises(RedisTimeoutError):
            await first
        # Its reply would shift every later one: the connection is dropped, failing the rest.
        with pytest.raises((RedisConnectionError, RedisTimeoutError)):
            await second
        redis_client.ping()  # answered once the pause is over
        assert await mux.execute([("ECHO", "after")]) == ["after"]
        [new_id] = await mux.execute([("CLIENT", "ID")])
        assert new_id != client_id
    finally:
        await mux.aclose()


async def test_a_cancelled_caller_does_not_shift_the_replies_of_the_next_ones(
    mux: MuxRedis, redis_client: redis.Redis
) -> None:
    await mux.execute([("PING",)])
    redis_client.client_pause(300)  # so the cancelled request is surely still waiting
    cancelled = asyncio.ensure_future(mux.execute([("ECHO", "cancelled"), ("ECHO", "too")]))
    await asyncio.sleep(0.05)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert await mux.execute([("ECHO", "next")]) == ["next"]

    # Many callers, some of them cancelled at random moments.
    async def caller(n: int) -> None:
        for call in range(20):
            assert await mux.execute([("ECHO", f"{n}:{call}")]) == [f"{n}:{call}"]

    callers = [asyncio.ensure_future(caller(n)) for n in range(30)]
    for _ in range(10):
        await asyncio.sleep(random.random() / 1000)
        random.choice(callers).cancel()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(r is None or isinstance(r, asyncio.CancelledError) for r in results)
    assert await mux.execute([("ECHO", "last")]) == ["last"]


async def test_a_caller_cancelled_while_connecting_does_not_cancel_the_connect_for_others(
    mux: MuxRedis,
) -> None:
    first = asyncio.ensure_future(mux.execute([("ECHO", "first")]))
    second = asyncio.ensure_future(mux.execute([("ECHO", "second")]))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == ["second"]
    assert first.cancelled()


async def test_the_database_of_the_url_is_selected(
    redis_client: redis.Redis, redis_url: str
) -> None:
    db3_url = redis_url.rsplit("/", 1)[0] + "/3"
    mux = MuxRedis(db3_url)
    try:
        assert await mux.execute([("SET", "where", "three")]) == ["OK"]
    finally:
        await mux.aclose()
    assert redis_client.get("where") is None
    db3 = redis.Redis.from_url(db3_url, decode_responses=True)
    try:
        assert db3.get("where") == "three"
    finally:
        db3.close()


@pytest.mark.parametrize("user", ["", "default"])
async def test_the_password_and_user_of_the_url_authenticate(
    secured_server: tuple[RedisServer, str], user: str
) -> None:
    server, _ = secured_server
    mux = MuxRedis(f"redis://{user}:s3cret%20pass@127.0.0.1:{server.port}/2")
    try:
        assert await mux.execute([("SET", "user", user or "none"), ("CLIENT", "INFO")])
        check = redis.Redis(port=server.port, password=PASSWORD, db=2, decode_responses=True)
        try:
            assert check.get("user") == (user or "none")
        finally:
            check.close()
    finally:
        await mux.aclose()


async def test_a_wrong_password_fails_the_connect_with_an_authentication_error(
    secured_server: tuple[RedisServer, str],
) -> None:
    server, _ = secured_server
    mux = MuxRedis(f"redis://:wrong@127.0.0.1:{server.port}/0")
    try:
        with pytest.raises(AuthenticationError):  # a ConnectionError, for the API
            await mux.execute([("PING",)])
    finally:
        await mux.aclose()


async def test_without_the_password_commands_answer_noauth_in_place(
    secured_server: tuple[RedisServer, str],
) -> None:
    server, _ = secured_server
    mux = MuxRedis(f"redis://127.0.0.1:{server.port}/0")
    try:
        [reply] = await mux.execute([("PING",)])
        assert isinstance(reply, AuthenticationError)
    finally:
        await mux.aclose()


async def test_a_unix_socket_url_with_a_database(
    secured_server: tuple[RedisServer, str],
) -> None:
    server, socket_path = secured_server
    mux = MuxRedis(f"unix://:s3cret%20pass@{socket_path}?db=4")
    try:
        assert await mux.execute([("SET", "over", "unix")]) == ["OK"]
    finally:
        await mux.aclose()
    check = redis.Redis(port=server.port, password=PASSWORD, db=4, decode_responses=True)
    try:
        assert check.get("over") == "unix"
    finally:
        check.close()


async def test_redis_down_at_first_call_then_up_then_restarted(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", appendonly=False)
    mux = MuxRedis(server.url, connect_timeout_s=5.0)
    try:
        with pytest.raises(RedisConnectionError):
            await mux.execute([("PING",)])
        server.start()
        assert await mux.execute([("PING",)]) == ["PONG"]
        server.stop()
        with pytest.raises(RedisConnectionError):
            await mux.execute([("PING",)])
        server.start()
        assert await mux.execute([("PING",)]) == ["PONG"]
    finally:
        await mux.aclose()
        server.stop()


async def test_a_server_that_never_answers_the_handshake_times_out_the_connect() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        mux = MuxRedis(f"redis://:pw@127.0.0.1:{port}/0", connect_timeout_s=0.2)
        try:
            with pytest.raises((RedisTimeoutError, RedisConnectionError)):
                await mux.execute([("PING",)])
        finally:
            await mux.aclose()


@pytest.mark.parametrize(
    "answer", [b"!nonsense\r\n", b"+OK\r\n+UNASKED\r\n"], ids=["garbage", "unsolicited"]
)
async def test_a_reply_out_of_protocol_breaks_the_connection_not_the_next_one(
    answer: bytes,
) -> None:
    answers = [answer, b"+PONG\r\n"]

    async def fake_redis(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):  # the client may reset the connection
            await reader.read(1000)  # one command
            writer.write(answers.pop(0))
            await writer.drain()
            await reader.read(1000)  # until the client hangs up
        writer.close()

    server = await asyncio.start_server(fake_redis, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    mux = MuxRedis(f"redis://127.0.0.1:{port}/0")
    try:
        async with server:
            if answer.startswith(b"+OK"):
                # The unasked reply lands after the asked one: the caller had its answer.
                assert await mux.execute([("PING",)]) == ["OK"]
                await asyncio.sleep(0.05)
            else:
                with pytest.raises(RedisConnectionError):
                    await mux.execute([("PING",)])
            assert await mux.execute([("PING",)]) == ["PONG"]  # on a new connection
    finally:
        await mux.aclose()


async def test_a_reply_that_is_not_utf8_is_an_error_in_its_place(mux: MuxRedis) -> None:
    replies = await mux.execute([("SET", "bin", b"\xff\xfe"), ("GET", "bin"), ("ECHO", "ok")])
    assert replies[0] == "OK"
    assert isinstance(replies[1], UnicodeDecodeError)
    assert replies[2] == "ok"


async def test_aclose_fails_pending_requests_and_a_later_call_reconnects(
    mux: MuxRedis, redis_client: redis.Redis
) -> None:
    [client_id] = await mux.execute([("CLIENT", "ID")])
    pending = asyncio.ensure_future(mux.execute([("BLPOP", "nothing", 10)]))
    await wait_until_blocked(redis_client)
    await mux.aclose()
    with pytest.raises(RedisConnectionError):
        await pending
    [new_id] = await mux.execute([("CLIENT", "ID")])
    assert new_id != client_id
