"""The end-to-end flow on a real Redis Cluster (tests/cluster/test_cluster_flow.py): the people
of the run as threads speaking HTTP to two API processes, and what they saw.

Every response is checked as it comes: a 503 must carry ``Retry-After`` (it is counted, and the
call made again after a short wait, as a client would); a 409 after a 503 is the write that was
stored although its answer was lost (the retry finds it done); anything else unexpected, a 500
above all, is an error that fails the run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from core.redis.keys import ProjectKeys
from tests.support.crash_run import number_of, volunteer_answer
from tests.support.limits import clean_env
from tests.support.processes import wait_until
from tests.support.threads import ThreadCrew

__all__ = ["Api", "Crowd", "start_api", "unresolved_tasks"]

POLL_S = 0.1
START_TIMEOUT_S = 90.0


@dataclass
class Api:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_api(port: int, env: dict[str, str], log: Path) -> Api:
    """``ruche api`` on ``port`` with ``env`` added; returns once it answers /readyz."""
    full = clean_env()
    full.update(RUCHE_LOG_FORMAT="json", **env)
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "ruche", "api", "--port", str(port)],
            env=full,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    api = Api(f"http://127.0.0.1:{port}", process, log)

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(f"{api.base_url}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(ready, f"the API on port {port}", START_TIMEOUT_S, poll=0.1)
    return api


def unresolved_tasks(client: Any, project: ProjectKeys) -> list[dict[str, Any]]:
    """Each task of the project not resolved yet, as Redis holds it: its record, whether it is
    in the ready and unclaimed sets, and its leases (state, seconds left): what a timed-out
    flow shows, so that a stuck task says why it is stuck."""
    now_ms = int(time.time() * 1000)
    leases: dict[str, list[dict[str, Any]]] = {}
    for assignment_id, raw in client.hgetall(project.assignments).items():
        record = json.loads(raw)
        leases.setdefault(record["task"], []).append(
            {
                "id": assignment_id,
                "state": record["state"],
                "seconds_left": (int(record["expires"]) - now_ms) / 1000,
            }
        )
    stuck = []
    for task_id, raw in client.hgetall(project.tasks).items():
        record = json.loads(raw)
        if record.get("state") == "resolved":
            continue
        stuck.append(
            {
                "task": task_id,
                "record": record,
                "ready": client.zscore(project.ready, task_id) is not None,
                "unclaimed": client.zscore(project.unclaimed, task_id) is not None,
                "leases": leases.get(task_id, []),
            }
        )
    return stuck


@dataclass
class Crowd(ThreadCrew):
    """What the threads did: answers acknowledged, 503s seen, errors."""

    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (project, submission)
    unavailable: Counter[str] = field(default_factory=Counter)  # route -> 503s (Retry-After)
    lost_replies: int = 0  # writes answered 503 that a retry found already done (409)

    def call(
        self, http: httpx.Client, method: str, url: str, route: str, ok: set[int], **kw: Any
    ) -> httpx.Response:
        """The request until it gets one of ``ok`` (or 409 after a 503: done by the earlier
        try); each 503 checked and counted on the way."""
        return self.call_noting_503(http, method, url, route, ok, **kw)[0]

    def call_noting_503(
        self, http: httpx.Client, method: str, url: str, route: str, ok: set[int], **kw: Any
    ) -> tuple[httpx.Response, bool]:
        """:meth:`call`, and whether a 503 came first (an earlier try may have been done)."""
        after_503 = False
        while True:
            response = http.request(method, url, **kw)
            if response.status_code in ok:
                return response, after_503
            if response.status_code == 503:
                assert response.headers.get("Retry-After"), response.headers
                assert response.json()["error"]["code"] == "redis_unavailable", response.text
                with self.lock:
                    self.unavailable[route] += 1
                after_503 = True
                time.sleep(0.2)
                continue
            if response.status_code == 409 and after_503:
                with self.lock:
                    self.lost_replies += 1
                return response, after_503
            raise AssertionError(f"{method} {route}: {response.status_code} {response.text}")

    def volunteer(self, base_url: str, who: int, headers: dict[str, str]) -> Callable[[], None]:
        def work() -> None:
            with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
                while not self.done.is_set():
                    claim, after_503 = self.call_noting_503(
                        http, "POST", "/v1/assignments", "claim", {201, 204, 429}, json={}
                    )
                    if after_503 and claim.status_code != 201:
                        # The API hands back the lease of a claim whose reply was lost
                        # (core/board/hand_backs.py); a careful client still asks for its live
                        # assignments, and answers what it holds.
                        claim = self.held(http) or claim
                    if claim.status_code not in (200, 201):  # 200: a held one, read again
                        self.done.wait(POLL_S)
                        continue
                    assignment = claim.json()
                    task_type = assignment["task"]["type"]
                    n = number_of(task_type, assignment["task"]["payload"])
                    answer = volunteer_answer(task_type, n, who, 0.85)
                    submitted = self.call(
                        http, "POST", f"/v1/assignments/{assignment['id']}/submit", "submit",
                        {202}, json={"answer": answer, "seconds_spent": 30},
                    )  # fmt: skip
                    if submitted.status_code == 202:
                        with self.lock:
                            self.acknowledged.append(
                                (
                                    assignment["task"]["project_id"],
                                    submitted.json()["submission_id"],
                                )
                            )

        return work

    def held(self, http: httpx.Client) -> httpx.Response | None:
        """The first live assignment the volunteer holds (``GET /v1/assignments/{id}``)."""
        live = self.call(http, "GET", "/v1/me/assignments", "live", {200})
        for item in live.json()["items"]:
            return self.call(http, "GET", f"/v1/assignments/{item['id']}", "held", {200})
        return None

    def reviewer(self, base_url: str, headers: dict[str, str]) -> Callable[[], None]:
        """Accepts the first candidate of every item in the queue."""

        def work() -> None:
            with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
                while not self.done.is_set():
                    item = self.call(http, "POST", "/v1/reviews", "review", {201, 204}, json={})
                    if item.status_code == 204:
                        self.done.wait(POLL_S)
                        continue
                    review = item.json()
                    decision = {
                        "action": "accept",
                        "submission_id": review["candidates"][0]["submission_id"],
                    }
                    self.call(http, "POST", f"/v1/reviews/{review['id']}/decision", "decide",
                              {200}, json=decision)  # fmt: skip

        return work
