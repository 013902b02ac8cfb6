"""A real Ruche, as the end-to-end tests run it: its commands as processes of their own
(``start``), the address and log of a running API (``RunningApi``, from the ``running_api``
fixture of tests/e2e/conftest.py), and an NGO reading a project's results by cursor over real
HTTP (``Cursor``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.limits import clean_env
from tests.support.processes import wait_until

__all__ = [
    "ADMIN_TOKEN",
    "WAIT_S",
    "Cursor",
    "RunningApi",
    "bearer",
    "sign_up",
    "start",
    "wait_for",
]

ADMIN_TOKEN = "rk_admin_" + "e2e" * 12
WAIT_S = 60.0


@dataclass(frozen=True)
class RunningApi:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start(piece: list[str], redis_url: str, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = clean_env()
    env.update(RUCHE_REDIS_URL=redis_url, RUCHE_LOG_FORMAT="json", **extra)
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "ruche", *piece],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def sign_up(http: httpx.Client, name: str) -> tuple[str, dict[str, str]]:
    """A volunteer (English, French) who accepted the charter: their id and headers."""
    signed = http.post("/v1/volunteers", json={"display_name": name, "languages": ["en", "fr"]})
    assert signed.status_code == 201, signed.text
    headers = bearer(signed.json()["token"])
    assert http.post("/v1/me/charter", json={"accept": True}, headers=headers).is_success
    return signed.json()["id"], headers


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    wait_until(condition, what, timeout, poll=0.2)


class Cursor:
    """An NGO polling a project's results by cursor, keeping everything it ever received."""

    def __init__(self, http: httpx.Client, project_id: str, headers: dict[str, str]) -> None:
        self.http, self.project_id, self.headers = http, project_id, headers
        self.after = "0-0"
        self.items: list[dict[str, Any]] = []

    def poll(self) -> list[dict[str, Any]]:
        page = self.http.get(
            f"/v1/projects/{self.project_id}/results",
            params={"after": self.after, "limit": 2},  # small pages: many cursor steps
            headers=self.headers,
        )
        assert page.status_code == 200, page.text
        body = page.json()
        self.items += body["items"]
        self.after = body["next"]
        return list(body["items"])

    def poll_until(self, count: int) -> list[dict[str, Any]]:
        def enough() -> bool:
            while self.poll():
                pass
            return len(self.items) >= count

        wait_for(enough, f"{count} results of {self.project_id}")
        return self.items
