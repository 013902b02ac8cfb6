"""The NGO side against a real Ruche: a real uvicorn (``running_api``), an organisation made
through the API, and, for the tests that need results, a real worker and relay."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from producers import RucheClient
from tests.e2e.conftest import running_api
from tests.support.live_ruche import ADMIN_TOKEN, RunningApi, start
from tests.support.processes import stop_group as stop

__all__ = ["Ngo", "ngo", "pipeline", "running_api"]


@dataclass(frozen=True)
class Ngo:
    url: str
    token: str
    client: RucheClient

    def cli_flags(self) -> list[str]:
        return ["--url", self.url, "--token", self.token]


@pytest.fixture
def ngo(running_api: RunningApi) -> Iterator[Ngo]:
    made = httpx.post(
        f"{running_api.base_url}/v1/orgs",
        json={"name": "Les Amis du Quartier", "contact_email": "ops@example.org"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    token = made.json()["api_key"]
    with RucheClient(running_api.base_url, token) as client:
        yield Ngo(running_api.base_url, token, client)


@pytest.fixture
def pipeline(redis_url: str, tmp_path: Path) -> Iterator[None]:
    """A real dramatiq worker and relay, so that answers turn into results."""
    running: list[subprocess.Popen[bytes]] = [
        start(["worker", "--processes", "1", "--threads", "4"], redis_url, tmp_path / "worker.log"),
        start(["relay"], redis_url, tmp_path / "relay.log", RUCHE_RELAY_CLAIM_IDLE_SECONDS="1"),
    ]
    try:
        yield
    finally:
        for process in running:
            stop(process)
