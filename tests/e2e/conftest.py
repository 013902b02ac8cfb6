"""A real uvicorn process serving the API (``ruche api``) on the session's real Redis."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.redis.server import free_port
from tests.support.limits import clean_env
from tests.support.live_ruche import ADMIN_TOKEN, RunningApi

# A bound, not a measure: uvicorn is up in a second or two, but a busy machine (a CPU hog on
# every core, other suites beside this one) once took over 30 s to import it.
START_TIMEOUT = 90.0


@pytest.fixture
def running_api(redis_url: str, redis_client: object, tmp_path: Path) -> Iterator[RunningApi]:
    port = free_port()
    env = clean_env()
    env.update(
        RUCHE_REDIS_URL=redis_url,
        RUCHE_ADMIN_TOKEN=ADMIN_TOKEN,
        RUCHE_WEBHOOK_ALLOW_PRIVATE="1",
        RUCHE_LOG_FORMAT="json",
    )
    log = tmp_path / "api.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "ruche", "api", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    api = RunningApi(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{api.base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
