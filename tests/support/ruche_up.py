"""``ruche up`` as a subprocess, driven the way a person or an init system would: started in a
process group of its own, waited on until the API answers and the banner is printed, and looked
into through /proc (its descendants, their command lines) to check nothing is left running."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.redis.server import free_port
from tests.support.limits import clean_env

__all__ = [
    "EXIT_TIMEOUT",
    "READY_TIMEOUT",
    "Up",
    "command_line",
    "descendants",
    "embedded_redis_port",
    "is_running",
    "port_is_open",
    "ruche_env",
    "ruche_up",
    "wait_until_ready",
]

READY_TIMEOUT = 30.0
EXIT_TIMEOUT = 30.0


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    stdout: Path
    stderr: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


def ruche_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test's environment without any RUCHE_* variable, plus ``extra``."""
    env = clean_env()
    env.update(RUCHE_DATA_DIR=str(tmp_path / "data"), RUCHE_LOG_FORMAT="json", **extra)
    return env


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` right now, from /proc (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces; the fields after its closing parenthesis do not.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def ruche_up(tmp_path: Path, env: dict[str, str], *args: str, name: str = "up") -> Iterator[Up]:
    """Run ``ruche up`` in its own process group (as a shell runs a foreground job)."""
    port = free_port()
    stdout, stderr = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "ruche", "up", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        up = Up(process, port, Path(env["RUCHE_DATA_DIR"]), stdout, stderr)
        try:
            yield up
        finally:
            if process.poll() is None:  # the test failed half-way: leave nothing behind
                for pid in descendants(process.pid):
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                process.kill()
                process.wait()


def wait_until_ready(up: Up, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=up.base_url, timeout=1.0) as client:
        while True:
            assert up.process.poll() is None, f"ruche up exited early:\n{up.output()}"
            try:
                if (
                    client.get("/healthz").status_code == 200
                    and client.get("/readyz").status_code == 200
                ):
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not ready in {timeout}s:\n{up.output()}"
            time.sleep(0.1)
    # The banner is printed by the supervisor's own readiness poll, a moment later.
    deadline = time.monotonic() + timeout
    while "Ruche is up." not in up.stdout.read_text():
        assert time.monotonic() < deadline, up.output()
        time.sleep(0.05)


def embedded_redis_port(up: Up) -> int:
    match = re.search(r"redis://127\.0\.0\.1:(\d+)/0 \(embedded", up.stdout.read_text())
    assert match, up.output()
    return int(match.group(1))
