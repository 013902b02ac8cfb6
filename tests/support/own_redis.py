"""The test session's own throw-away ``redis-server`` (one per xdist worker: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from core.redis.server import RedisServer

__all__ = ["own_redis_server", "served_from"]


def served_from(url: str) -> Path:
    """The directory the server answering at ``url`` works in (its ``dir``)."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return Path(str(client.config_get("dir")["dir"])).resolve()
    finally:
        client.close()


def own_redis_server(tmp_path_factory: pytest.TempPathFactory, tries: int = 3) -> RedisServer:
    """A started server that is this session's own. Its free port is only free when picked: a
    parallel worker may start a server there first, and ours, unable to bind it, exits, maybe
    after the other answered our ping. Two workers on one server would flush each other's
    data, so the server that answers must work in our directory; if not, a new port."""
    for _ in range(tries):
        data_dir = tmp_path_factory.mktemp("redis")
        server = RedisServer(data_dir, appendonly=False)
        try:
            server.start()
        except RuntimeError:  # exited: its port was taken meanwhile
            continue
        if served_from(server.url) == data_dir.resolve():
            return server
        server.stop()
    raise RuntimeError(f"no redis-server of our own in {tries} tries (each logs in its directory)")
