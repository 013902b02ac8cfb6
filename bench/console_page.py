"""The NGO console's project page (``/ngo/projects/{id}``) at two sizes, for ``bench/web.py``:
server time per view with 10^5 tasks and 10^4 results in the project, next to 10^2 tasks. The
page reads counters folded from the project's events (core/insights), never every task, so the
ratio should stay near 1.

The projects are made through the API (an organisation's own), filled through the real board
scripts (claims, submits, results: the events the insights fold), on a manual clock spread over
the last 30 days; the staff member is signed in with their key as any person is."""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

import httpx
import redis

from core.board.runner import Board, Claimed, NewTask
from core.clock import ManualClock
from core.delivery.results import Result
from core.ids import new_volunteer_id
from core.insights.pace import DAY_MS
from core.quality.outcomes import PipelineOps
from core.redis.keys import Keys

__all__ = ["measure_console"]

DAYS = 30
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _fill(board: Board, clock: ManualClock, project: str, tasks: int, results: int) -> None:
    payload = {"content": "x" * 100, "labels": ["ok", "spam"]}
    for start in range(0, tasks, 50_000):
        count = min(50_000, tasks - start)
        board.run(board.ops.create_tasks(project, [NewTask(payload) for _ in range(count)]))
    ops = PipelineOps(board.keys, board.clock)
    volunteers = [new_volunteer_id() for _ in range(200)]
    per_day = max(1, results // DAYS)
    for index in range(results):
        volunteer = volunteers[index % len(volunteers)]
        if index % per_day == 0 and index:
            clock.advance(DAY_MS / 1000 * 0.999)
        lease = board.run(board.ops.claim(project, volunteer))
        if not isinstance(lease, Claimed):
            raise SystemExit("console bench: a claim found nothing")
        board.run(board.ops.submit(lease.assignment_id, volunteer, {"label": "spam"}, 30.0))
        result = Result(lease.task_id, {"label": "spam"}, 0.9, "agreement")
        board.run(ops.resolve_task(project, result, decision_id=f"{lease.task_id}:1", answers=1))


def _staff_client(base: str, http: httpx.Client, org_id: str, client: redis.Redis) -> httpx.Client:
    person = http.post("/v1/volunteers", json={"display_name": "Staff", "languages": ["en"]})
    body = person.json()
    keys = Keys()
    client.hset(keys.org_members(org_id), body["id"], "viewer")
    client.hset(keys.volunteer_orgs(body["id"]), org_id, "viewer")
    browser = httpx.Client(base_url=base, timeout=120)
    login = browser.get("/login?lang=en")
    found = _CSRF.search(login.text)
    if found is None:
        raise SystemExit("console bench: no sign-in form")
    browser.post(
        "/login/code", data={"csrf_token": found.group(1), "code": body["token"], "next": "/ngo"}
    )
    return browser


def _cpu_seconds(pid: int) -> float:
    import os
    from pathlib import Path

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_console(
    base: str, redis_url: str, pid: int, admin: str, *, smoke: bool, views: int
) -> dict[str, Any]:
    sizes = {"small": (100, 40), "big": (1_000, 200) if smoke else (100_000, 10_000)}
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    clock = ManualClock(start_ms=(int(time.time() * 1000) // DAY_MS - DAYS) * DAY_MS)
    board = Board(client, keys=Keys(), clock=clock)
    figures: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=120) as http:
        org = http.post(
            "/v1/orgs",
            json={"name": "Console bench", "contact_email": "c@example.org"},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()
        ngo = {"Authorization": f"Bearer {org['api_key']}"}
        staff = _staff_client(base, http, org["id"], client)
        for name, (tasks, results) in sizes.items():
            made = http.post(
                "/v1/projects",
                json={
                    "name": name,
                    "task_type": "moderation",
                    "instructions": "Label it.",
                    "redundancy": 1,
                },
                headers=ngo,
            )
            project = made.json()["id"]
            clock = ManualClock(start_ms=(int(time.time() * 1000) // DAY_MS - DAYS) * DAY_MS)
            board = Board(client, keys=Keys(), clock=clock)
            started = time.perf_counter()
            _fill(board, clock, project, tasks, results)
            filled_s = time.perf_counter() - started
            path = f"/ngo/projects/{project}"
            for _ in range(20):  # warm-up, and the first views fold the events
                if staff.get(path).status_code != 200:
                    raise SystemExit(f"console bench: {path} is not a page")
            spans = []
            before = _cpu_seconds(pid)
            for _ in range(views):
                begun = time.perf_counter()
                staff.get(path)
                spans.append((time.perf_counter() - begun) * 1000)
            cpu_ms = (_cpu_seconds(pid) - before) / views * 1000
            figures[name] = {
                "tasks": tasks,
                "results": results,
                "fill_s": round(filled_s, 1),
                "median_ms": round(statistics.median(spans), 2),
                "cpu_ms_per_view": round(cpu_ms, 2),
            }
        staff.close()
    client.close()
    small, big = figures["small"], figures["big"]
    figures["ratio_median"] = round(big["median_ms"] / small["median_ms"], 2)
    figures["ratio_cpu"] = (
        round(big["cpu_ms_per_view"] / small["cpu_ms_per_view"], 2)
        if small["cpu_ms_per_view"]
        else None
    )
    return figures
