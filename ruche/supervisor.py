"""``ruche up``: everything Ruche needs, as child processes of one command.

Start order: the embedded Redis (unless ``RUCHE_REDIS_URL`` points elsewhere), then the API, the
dramatiq workers and the scheduler, each a ``ruche <piece>`` process told the Redis URL through
its environment. On Ctrl-C or SIGTERM, or as soon as any app process dies, the app processes are
stopped together and Redis last (a death makes the exit code non-zero: a half-running Ruche is
worse than a stopped one). A dead embedded Redis is the exception: it is started again at once,
on the same port and data directory (its append-only file brings the data back), and the app
processes, which reconnect by themselves, carry on (503 ``redis_unavailable`` meanwhile). Only
when it cannot be started, or dies :data:`MAX_REDIS_RESTARTS` times within
:data:`REDIS_RESTART_WINDOW_SECONDS`, does everything stop. The fourth app process is the event
relay (``ruche relay``), which turns the project event streams into the workers' messages.

With ``--demo``, once the API answers, the supervisor seeds the demo through it (``ruche.demo``)
and prints the demo's tokens under the banner.

Each app process runs in a session of its own, so a Ctrl-C on the terminal reaches only this
supervisor, which then stops them once, in order. A second signal would make uvicorn and dramatiq
abandon their graceful shutdown. Should the supervisor itself be killed outright, Linux sends its
children SIGTERM (PR_SET_PDEATHSIG), and the next ``ruche up`` shuts down the Redis it left
behind (see ``ruche.embedded``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import structlog

from core.accounts.tokens import new_token
from core.redis.server import RedisServer
from core.settings import Settings
from ruche.embedded import DataDirInUse, embedded_redis

__all__ = ["MAX_REDIS_RESTARTS", "port_in_use", "restart_redis", "run_up"]

log = structlog.get_logger(__name__)

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0  # longer than the workers' own shutdown timeout (ruche.cli)
_POLL_SECONDS = 0.2
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
MAX_REDIS_RESTARTS = 5
REDIS_RESTART_WINDOW_SECONDS = 60.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


class Children:
    """The app processes started by ``ruche up``."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._children: list[Child] = []

    def spawn(self, name: str, argv: Sequence[str]) -> None:
        process = subprocess.Popen(  # noqa: S603 - argv built here from our own executable
            list(argv),
            env=self._env,
            start_new_session=True,
            preexec_fn=_stop_when_parent_dies(os.getpid()),
        )
        self._children.append(Child(name, process))
        log.info("up.started", process=name, pid=process.pid)

    def first_dead(self) -> Child | None:
        return next((c for c in self._children if c.process.poll() is not None), None)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM every child, wait for all, then SIGKILL whatever is left of their groups."""
        for child in self._children:
            if child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + timeout
        for child in self._children:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("up.kill", process=child.name, pid=child.process.pid)
        for child in self._children:
            # The group also holds grandchildren (dramatiq's worker processes) that a crashed
            # parent may have left behind; each child leads its own group (start_new_session).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
            log.info("up.stopped", process=child.name, returncode=child.process.returncode)


def _stop_when_parent_dies(parent_pid: int) -> Callable[[], None] | None:
    """A preexec hook asking Linux to SIGTERM the child if ``ruche up`` dies without stopping it.

    Children live in sessions of their own, so nothing else would reach them after a SIGKILL of
    the supervisor. Elsewhere than Linux there is no such request: None.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before the fork, not inside the child

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before the request was made
            os._exit(1)

    return hook


def run_up(settings: Settings, *, demo: bool = False, demo_answers: bool = False) -> int:
    """Run Ruche until a stop signal (exit 0) or until a piece of it dies (exit 1).

    ``demo``: once the API answers, seed the demo through it (``ruche.demo``) and print its
    tokens with the banner; a failed seeding stops everything (exit 1).
    """
    stop = threading.Event()
    busy = port_in_use(settings.host, settings.port)
    if busy:
        # One line, before anything starts: not the API's traceback and everything stopping.
        print(f"ruche: {busy}", file=sys.stderr, flush=True)
        return 1
    with _stop_on_signals(stop), contextlib.ExitStack() as resources:
        embedded: RedisServer | None = None
        redis_url = settings.redis_url
        if redis_url is None:
            try:
                embedded = resources.enter_context(
                    embedded_redis(settings.data_dir, maxmemory=settings.embedded_redis_maxmemory)
                )
            except DataDirInUse as error:
                log.error("up.data_dir_in_use", error=str(error))
                return 1
            except RuntimeError as error:  # no redis-server, or it would not start
                print(f"ruche: {error}", file=sys.stderr, flush=True)
                return 1
            redis_url = embedded.url
        env = _child_env(settings, redis_url)
        generated_admin_token = None
        if settings.admin_token is None:
            # No operator token configured: make one for this run only and show it in the
            # banner; log lines scroll it away, so it is also kept in a private file meanwhile.
            generated_admin_token = new_token("admin")
            env["RUCHE_ADMIN_TOKEN"] = generated_admin_token
            resources.enter_context(_token_file(settings.data_dir, generated_admin_token))
        children = Children(env)
        after_ready: AfterReady | None = None
        if demo:
            admin_token = generated_admin_token or _admin_token(settings)
            after_ready = _demo(admin_token, settings, demo_answers)
        try:
            _spawn_all(children, settings)
            return _supervise(
                children, embedded, settings, stop, generated_admin_token, after_ready
            )
        finally:
            children.stop()  # before the ExitStack stops Redis: workers may still be using it


def port_in_use(host: str, port: int) -> str | None:
    """ "port N is in use; try --port M" when the API could not listen on ``host:port``, else
    None. Bound the way uvicorn binds (SO_REUSEADDR: a port in TIME_WAIT is free)."""
    if _can_bind(host, port):
        return None
    free = next((p for p in range(port + 1, min(port + 100, 65536)) if _can_bind(host, p)), None)
    hint = f"; try --port {free}" if free is not None else ""
    return f"port {port} is in use{hint}"


def _can_bind(host: str, port: int) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return True  # a bad host is the API's to report, with its own message
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return error.errno != errno.EADDRINUSE
    return True


#: Where ``ruche up`` keeps the operator token it made, for as long as it runs (0600).
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a token


@contextlib.contextmanager
def _token_file(data_dir: Path, token: str) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / ADMIN_TOKEN_FILE
    path.unlink(missing_ok=True)  # one left by a killed run: O_EXCL makes a fresh, private one
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as sink:
        sink.write(f"{token}\n")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _spawn_all(children: Children, settings: Settings) -> None:
    ruche = [sys.executable, "-m", "ruche"]
    children.spawn("api", [*ruche, "api", "--host", settings.host, "--port", str(settings.port)])
    children.spawn(
        "worker",
        [
            *ruche,
            "worker",
            "--processes",
            str(settings.worker_processes),
            "--threads",
            str(settings.worker_threads),
        ],
    )
    children.spawn("scheduler", [*ruche, "scheduler"])
    children.spawn("relay", [*ruche, "relay"])


def _supervise(
    children: Children,
    embedded: RedisServer | None,
    settings: Settings,
    stop: threading.Event,
    generated_admin_token: str | None = None,
    after_ready: AfterReady | None = None,
) -> int:
    base_url = _base_url(settings)
    ready_by = time.monotonic() + READY_TIMEOUT_SECONDS
    ready = False
    restarts: deque[float] = deque(maxlen=MAX_REDIS_RESTARTS)
    while not stop.wait(_POLL_SECONDS):
        dead = children.first_dead()
        if dead is not None:
            log.error("up.process_died", process=dead.name, returncode=dead.process.returncode)
            return 1
        if embedded is not None and not embedded.running and not restart_redis(embedded, restarts):
            return 1
        if not ready:
            ready = _answers_ready(base_url)
            if ready:
                extra = after_ready(base_url) if after_ready is not None else []
                if extra is None:
                    return 1
                _print_banner(base_url, settings, embedded, generated_admin_token, extra)
            elif time.monotonic() > ready_by:
                log.error("up.not_ready", url=f"{base_url}/readyz", waited=READY_TIMEOUT_SECONDS)
                return 1
    log.info("up.stopping")
    return 0


def restart_redis(embedded: RedisServer, restarts: deque[float]) -> bool:
    """Start a dead embedded Redis again (same port, same files); False when it cannot be, or
    when it already died ``MAX_REDIS_RESTARTS`` times within the window (something is wrong
    that restarting will not fix: a full disk, a damaged file)."""
    log_file = str(embedded.data_dir / "redis.log")
    log.error("up.redis_died", returncode=embedded.returncode, log_file=log_file)
    now = time.monotonic()
    if len(restarts) == restarts.maxlen and now - restarts[0] < REDIS_RESTART_WINDOW_SECONDS:
        log.error("up.redis_keeps_dying", restarts=len(restarts), log_file=log_file)
        return False
    restarts.append(now)
    try:
        embedded.start(timeout=READY_TIMEOUT_SECONDS)
    except RuntimeError as error:
        log.error("up.redis_restart_failed", error=str(error), log_file=log_file)
        return False
    log.warning("up.redis_restarted", url=embedded.url)
    return True


# Called once the API answers, with its base URL: extra banner lines, or None when it failed.
AfterReady = Callable[[str], list[str] | None]


def _admin_token(settings: Settings) -> str:
    return settings.admin_token.get_secret_value() if settings.admin_token else ""


def _demo(admin_token: str, settings: Settings, answers: bool) -> AfterReady:
    def seed(base_url: str) -> list[str] | None:
        # Imported here: only `ruche up --demo` needs httpx and the demo content.
        import httpx

        from ruche.demo import DemoError, banner_lines, run_demo

        try:
            state = run_demo(base_url, admin_token, settings.data_dir, answers=answers)
        except (DemoError, httpx.HTTPError, OSError) as error:
            log.error("up.demo_failed", error=str(error))
            return None
        log.info("up.demo_ready", org_id=state.org_id, projects=len(state.projects))
        return ["", *banner_lines(state, base_url, settings.data_dir)]

    return seed


def _child_env(settings: Settings, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["RUCHE_REDIS_URL"] = redis_url
    env["RUCHE_BROKER_URL"] = settings.broker_url or redis_url
    # Decide "auto" once, here: dramatiq's workers write to a pipe, so they would pick JSON
    # while the others, on this terminal, pick the console format.
    env["RUCHE_LOG_FORMAT"] = _resolved_log_format(settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _resolved_log_format(settings: Settings) -> str:
    if settings.log_format != "auto":
        return settings.log_format
    return "console" if sys.stderr.isatty() else "json"


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _base_url(settings: Settings) -> str:
    # A wildcard bind is reachable on loopback; that is also the address to show and poll.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(settings.host, settings.host)  # noqa: S104
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def _answers_ready(base_url: str) -> bool:
    try:
        # The URL is built from our own host and port settings and is always http.
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _print_banner(
    base_url: str,
    settings: Settings,
    embedded: RedisServer | None,
    generated_admin_token: str | None = None,
    extra_lines: Sequence[str] = (),
) -> None:
    if embedded is not None:
        redis_line = f"{embedded.url} (embedded; data in {embedded.data_dir})"
    else:
        redis_line = "from RUCHE_REDIS_URL"
    lines = [
        "",
        "Ruche is up.",
        f"  API      {base_url}",
        f"  Docs     {base_url}/docs",
        f"  Health   {base_url}/healthz",
        f"  Redis    {redis_line}",
        f"  Workers  {settings.worker_processes} process(es) x {settings.worker_threads} threads",
    ]
    if generated_admin_token is not None:
        lines.append(
            f"  Operator token (this run only): {generated_admin_token}\n"
            f"           also in {settings.data_dir / ADMIN_TOKEN_FILE} while it runs; "
            "set RUCHE_ADMIN_TOKEN to keep one across restarts"
        )
    lines += [*extra_lines, "Press Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)
