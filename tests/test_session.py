"""The test session itself (tests/conftest.py): the processes it starts get the default signal
handling, and each xdist worker's Redis is its own."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.redis import server as redis_server
from core.redis.server import RedisServer
from tests.support.own_redis import own_redis_server, served_from
from tests.support.processes import default_signal_handling

# What a child Python says of its SIGINT and SIGTERM: "handler" (KeyboardInterrupt, as Python
# installs it when it starts with the default), "ignored" or "default".
PROBE = """
import signal
def name(handler):
    if handler is signal.default_int_handler:
        return "handler"
    return "ignored" if handler is signal.SIG_IGN else "default"
print(name(signal.getsignal(signal.SIGINT)), name(signal.getsignal(signal.SIGTERM)))
"""


def child_signals() -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    return run.stdout.split()


@pytest.fixture
def signals_ignored() -> Iterator[None]:
    """This process with SIGINT and SIGTERM ignored, as pytest is when a script starts it in the
    background; restored afterwards."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@pytest.mark.usefixtures("signals_ignored")
def test_processes_started_by_the_tests_get_the_default_signal_handling() -> None:
    assert child_signals() == ["ignored", "ignored"]  # what a child inherits unless put back
    default_signal_handling()
    assert child_signals() == ["handler", "default"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# -- the session's own Redis ----------------------------------------------------------------------


@pytest.fixture
def slow_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers started from now on take half a second to bind their port, as on a busy machine
    (long enough for an answer on that port to come from another server)."""
    wrapper = tmp_path / "slow-redis-server"
    real = redis_server.find_redis_server_binary()
    wrapper.write_text(f'#!/bin/sh\nsleep 0.5\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(redis_server, "find_redis_server_binary", lambda *, tls=False: str(wrapper))


@pytest.mark.parametrize("starts", ["at-once", "slowly"])
def test_a_server_already_on_the_picked_port_is_not_taken_for_our_own(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    starts: str,
) -> None:
    with RedisServer(tmp_path / "another-worker", appendonly=False) as theirs:
        if starts == "slowly":  # ours is not even up when theirs answers our ping
            request.getfixturevalue("slow_start")
        picks = iter([theirs.port])  # the port was free when picked, then another took it
        free_port = redis_server.free_port
        monkeypatch.setattr(redis_server, "free_port", lambda: next(picks, None) or free_port())
        ours = own_redis_server(tmp_path_factory)
        try:
            assert ours.port != theirs.port
            assert served_from(ours.url) == ours.data_dir.resolve()
            assert served_from(theirs.url) == (tmp_path / "another-worker").resolve()
        finally:
            ours.stop()
