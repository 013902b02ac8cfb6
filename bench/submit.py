"""Benchmark of ``ruche submit``: a 100,000-row CSV, next to the API's own bulk rate.

In one run, against one throw-away ``redis-server`` and one ``python -m ruche api`` process
(started as ``bench/api.py`` starts them, with its helpers):

1. ``bare``: the API's own bulk rate. The very chunks ``ruche submit`` would send (1,000 tasks
   of NDJSON with their external ids, encoded beforehand and not timed) are POSTed one after
   the other by a plain ``httpx.Client`` loop into a fresh project.
2. ``ruche submit``: the command itself, as an NGO runs it (a subprocess, so interpreter start,
   reading and parsing the CSV, checking every row against the task type, hashing external ids,
   encoding, Idempotency-Keys; with --no-progress), into another fresh project.

Both land the same number of moderation tasks (about 200 bytes of payload JSON each), in
``--rounds`` rounds taking turns (each into fresh projects); the report keeps each side's best
round, gives tasks/s for both and the ratio ``ruche submit`` / bare, and, to see where the
difference goes, the time ``ruche submit`` spends reading, checking and encoding the file
(measured in-process on the same file). Last line: every number as JSON.

Usage::

    .venv/bin/python bench/submit.py            # 100,000 rows, 3 rounds (~2 min, 2 quiet CPUs)
    .venv/bin/python bench/submit.py --rows 20000
    .venv/bin/python bench/submit.py --smoke    # correctness only: 2,000 rows, 1 round, no wait

Other processes on the machine skew the numbers: before each timed part the benchmark waits
(``--quiet-wait``) for the CPUs to be quiet, as bench/api.py does.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from sanity import require_finite
from unlimited import UNLIMITED

from core.redis.server import RedisServer
from producers.bulk import DEFAULT_CHUNK
from producers.client import RucheClient, ndjson
from producers.file_submission import FileOptions, prepare_file

REPO = Path(__file__).resolve().parent.parent
LABELS = "ok|spam|harassment"
SMOKE_ROWS = 2 * DEFAULT_CHUNK  # two chunks: more than one request each way


def bench_api() -> ModuleType:
    """bench/api.py, loaded under its own name (``api`` is the application package)."""
    spec = importlib.util.spec_from_file_location("bench_api", Path(__file__).with_name("api.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_api"] = module
    spec.loader.exec_module(module)
    return module


def write_csv(path: Path, rows: int, payload: Any) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["content", "labels"])
        for n in range(rows):
            writer.writerow([payload(n)["content"], LABELS])


def new_project(api: httpx.Client, org: dict[str, str], name: str) -> str:
    made = api.post(
        "/v1/projects",
        json={"name": name, "task_type": "moderation", "instructions": "Label the post."},
        headers=org,
    )
    if made.status_code != 201:
        raise SystemExit(f"bench/submit.py: POST /v1/projects: {made.status_code} {made.text}")
    return str(made.json()["id"])


def task_count(api: httpx.Client, org: dict[str, str], project_id: str) -> int:
    counts = api.get(f"/v1/projects/{project_id}", headers=org).json()["counts"]
    return sum(int(n) for n in counts.values())


def bare_loop(url: str, org: dict[str, str], project_id: str, bodies: list[bytes]) -> float:
    """Seconds to POST every body, one after the other (the API's own bulk rate)."""
    headers = {**org, "Content-Type": "application/x-ndjson"}
    with httpx.Client(base_url=url, timeout=300) as http:
        started = time.perf_counter()
        for body in bodies:
            response = http.post(f"/v1/projects/{project_id}/tasks", content=body, headers=headers)
            if response.status_code != 200 or response.json()["rejected"]:
                raise SystemExit(f"bench/submit.py: bulk POST: {response.text[:300]}")
        return time.perf_counter() - started


def run_submit(url: str, token: str, project_id: str, path: Path) -> tuple[float, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUCHE_")}
    env.update(RUCHE_URL=url, RUCHE_TOKEN=token)
    argv = [sys.executable, "-m", "ruche", "submit", str(path), "--project", project_id,
            "--no-progress"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench/submit.py: ruche submit failed:\n{done.stderr[-2000:]}")
    return elapsed, json.loads(done.stdout)


def measure(
    rows: int, rounds: int, quiet_wait: float, redis_url: str, log_dir: Path
) -> dict[str, Any]:
    helpers = bench_api()
    admin = "rk_admin_" + secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUCHE_")}
    env.update(
        RUCHE_REDIS_URL=redis_url, RUCHE_ADMIN_TOKEN=admin, RUCHE_LOG_LEVEL="WARNING", **UNLIMITED
    )
    server = helpers.Server("ruche", ["ruche", "api"], env, log_dir)
    path = log_dir / "posts.csv"
    write_csv(path, rows, helpers.moderation_payload)
    with helpers.running(server), httpx.Client(base_url=server.url, timeout=60) as api:
        made = api.post(
            "/v1/orgs",
            json={"name": "Bench NGO", "contact_email": "bench@example.org"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        token = str(made.json()["api_key"])
        org = {"Authorization": f"Bearer {token}"}

        # What `ruche submit` sends, prepared in-process: the bare loop sends the same bytes.
        with RucheClient(server.url, token) as client:
            started = time.perf_counter()
            items, _ = prepare_file(client, "moderation", path, FileOptions())
            prepare_s = time.perf_counter() - started
        bodies = [ndjson(items[i : i + DEFAULT_CHUNK]) for i in range(0, len(items), DEFAULT_CHUNK)]

        bare_runs: list[float] = []
        submit_runs: list[float] = []
        for round_ in range(rounds):  # taking turns, so a noisy moment hits both alike
            bare_project = new_project(api, org, f"bare loop {round_}")
            helpers.wait_quiet(quiet_wait)
            bare_runs.append(bare_loop(server.url, org, bare_project, bodies))
            submit_project = new_project(api, org, f"ruche submit {round_}")
            helpers.wait_quiet(quiet_wait)
            elapsed, summary = run_submit(server.url, token, submit_project, path)
            submit_runs.append(elapsed)
            landed = (task_count(api, org, bare_project), task_count(api, org, submit_project))
            if landed != (rows, rows) or summary["created"] != rows:
                raise SystemExit(f"bench/submit.py: expected {rows} tasks each, got {landed}")
    bare_s, submit_s = min(bare_runs), min(submit_runs)
    return {
        "rows": rows,
        "rounds": rounds,
        "bare_runs_s": bare_runs,
        "submit_runs_s": submit_runs,
        "chunk": DEFAULT_CHUNK,
        "csv_bytes": path.stat().st_size,
        "bare_s": bare_s,
        "bare_tasks_per_s": rows / bare_s,
        "submit_s": submit_s,
        "submit_tasks_per_s": rows / submit_s,
        "ratio_submit_over_bare": bare_s / submit_s,
        "submit_read_and_check_s": prepare_s,
    }


def report(res: dict[str, Any]) -> None:
    print(f"ruche submit of a {res['rows']:,}-row CSV ({res['csv_bytes'] / 1e6:.1f} MB), "
          f"chunks of {res['chunk']:,} tasks, moderation payloads of ~200 bytes")  # fmt: skip
    print(f"  bare httpx loop (the API's bulk rate): {res['bare_tasks_per_s']:>9,.0f} tasks/s "
          f"({res['bare_s']:.2f} s)")  # fmt: skip
    print(f"  ruche submit (whole command):          {res['submit_tasks_per_s']:>9,.0f} tasks/s "
          f"({res['submit_s']:.2f} s)")  # fmt: skip
    runs = ", ".join(
        f"{b:.2f}/{s:.2f}" for b, s in zip(res["bare_runs_s"], res["submit_runs_s"], strict=True)
    )
    print(f"  best of {res['rounds']} rounds each (bare/submit seconds per round: {runs})")
    print(f"  ratio ruche submit / bare:             {res['ratio_submit_over_bare']:>9.2f}")
    print(f"  of which reading, checking, encoding:  {res['submit_read_and_check_s']:>9.2f} s "
          "(in-process, same file)")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both (best one kept)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=20.0,
        metavar="S",
        help="wait up to S seconds for quiet CPUs before each timed part",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"correctness only: --rows {SMOKE_ROWS} --rounds 1 --quiet-wait 0",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.rounds, args.quiet_wait = SMOKE_ROWS, 1, 0.0
    with (
        tempfile.TemporaryDirectory(prefix="ruche-bench-submit-") as work,
        RedisServer(Path(work), appendonly=False) as redis_server,
    ):
        res = measure(args.rows, args.rounds, args.quiet_wait, redis_server.url, Path(work))
    report(res)
    print(json.dumps(res, sort_keys=True))
    require_finite(res, "bench/submit.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
