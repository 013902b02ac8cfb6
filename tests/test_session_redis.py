"""The session's own Redis (tests/conftest.py): never another worker's server by mistake."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import redis

from core.redis import server as redis_server
from core.redis.server import RedisServer
from tests.conftest import own_redis_server


def served_from(server: RedisServer) -> Path:
    client = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        return Path(client.config_get("dir")["dir"]).resolve()
    finally:
        client.close()


@pytest.fixture
def slow_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers started from now on take half a second to bind their port, as on a busy machine
    (long enough for an answer on that port to come from another server)."""
    wrapper = tmp_path / "slow-redis-server"
    real = redis_server.find_redis_server_binary()
    wrapper.write_text(f'#!/bin/sh\nsleep 0.5\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(redis_server, "find_redis_server_binary", lambda: str(wrapper))


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
            assert served_from(ours) == ours.data_dir.resolve()
            assert served_from(theirs) == (tmp_path / "another-worker").resolve()
        finally:
            ours.stop()
