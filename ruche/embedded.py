"""The embedded Redis of ``ruche up``: one per data directory, never two.

Two ``redis-server`` processes appending to the same file would corrupt it, so:

- a lock file in the data directory refuses a second ``ruche up`` while one is running;
- the port of the running server is written down, and if a previous ``ruche up`` was killed
  before it could stop its Redis (SIGKILL, power cut of the terminal), the next one finds that
  Redis still answering on that port, checks it really serves this data directory, and shuts it
  down cleanly (Redis flushes its append-only file) before starting a fresh one.

The data directory holds every payload and answer: it and its ``redis`` folder are readable by
their owner only (0700), the files in them too (0600), including what an older Ruche left
world-readable; Redis itself writes with umask 077 (``core.redis.server``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import redis
import structlog
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.redis.server import RedisServer

__all__ = ["DataDirInUse", "embedded_redis"]

log = structlog.get_logger(__name__)

_LOCK_FILE = "up.lock"
_PORT_FILE = "port"


class DataDirInUse(RuntimeError):
    """Another ``ruche up`` holds this data directory."""


@contextlib.contextmanager
def embedded_redis(data_dir: Path, *, maxmemory: str = "0") -> Iterator[RedisServer]:
    """Start Redis with its files in ``data_dir/redis``; stop it on exit. ``maxmemory``
    (``Settings.embedded_redis_maxmemory``; "0": none) with ``noeviction``: once full, Redis
    refuses writes (the API answers 507 ``storage_full``) and never evicts data."""
    redis_dir = data_dir / "redis"
    _private_folder(data_dir)
    _private_folder(redis_dir)
    with _exclusive_lock(data_dir / _LOCK_FILE):
        port_file = redis_dir / _PORT_FILE
        _shut_down_leftover(port_file, redis_dir)
        _close_up(redis_dir)
        server = RedisServer(redis_dir, appendonly=True, maxmemory=maxmemory)
        server.start()
        fd = os.open(port_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as sink:
            sink.write(f"{server.port}\n")
        log.info("up.redis_started", url=server.url, data_dir=str(redis_dir), maxmemory=maxmemory)
        try:
            yield server
        finally:
            server.stop()
            port_file.unlink(missing_ok=True)
            log.info("up.redis_stopped")


def _private_folder(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)  # made earlier, or by someone else's umask


def _close_up(folder: Path) -> None:
    """Folders 0700 and files 0600 all the way down (Redis's own files from an older run)."""
    for path in folder.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o700 if path.is_dir() else 0o600)


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    # flock is released by the kernel when this process dies, however it dies.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirInUse(
                f"another `ruche up` is running with its data in {path.parent}"
            ) from None
        yield
    finally:
        os.close(fd)


def _shut_down_leftover(port_file: Path, redis_dir: Path) -> None:
    try:
        port = int(port_file.read_text())
    except (OSError, ValueError):
        return
    # No retries: "connection refused" is the answer we hope for, and it should come at once.
    client = redis.Redis(
        port=port, socket_connect_timeout=0.5, socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )
    try:
        served_dir = client.config_get("dir").get("dir")
        # Only our own orphan: some other server may have taken the port since.
        if served_dir is None or Path(served_dir).resolve() != redis_dir.resolve():
            return
        log.warning("up.leftover_redis", port=port, data_dir=str(redis_dir))
        client.shutdown()  # SHUTDOWN flushes the append-only file and exits, like SIGTERM
        _wait_until_gone(client)
    except redis.RedisError:
        return
    finally:
        client.close()
        port_file.unlink(missing_ok=True)


def _wait_until_gone(client: redis.Redis, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.ping()
        except redis.ConnectionError:
            return
        time.sleep(0.05)
    raise DataDirInUse("a Redis left by an earlier `ruche up` did not shut down; stop it by hand")
