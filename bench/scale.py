"""Benchmark: how claim->submit cycles scale with API processes, on one Redis and on a cluster.

For each backend (one ``redis-server``; a Redis Cluster of 3 masters and 3 replicas, started as
the tests start theirs, tests/support/redis_cluster.py) and each count of ``ruche api``
processes (``--procs``, 1, 2 and 4 by default), the same run: an organisation's moderation
project with enough tasks, charter-signed volunteers, then ``--cycles`` claim->submit cycles
(``POST /v1/assignments`` then ``POST /v1/assignments/{id}/submit``), ``--concurrency`` in
flight, spread evenly over the processes (connection ``i`` talks to process ``i mod n``), from
one load-generator process using bench/api.py's minimal HTTP client over uvloop. Measured:
cycles/s and its ratio to one process; CPU per cycle of the API processes (summed), of Redis
(every node's ``used_cpu_*`` on the cluster, replicas included) and of the load generator; and
how busy the whole machine was (``/proc/stat``): where the ceiling is. The broker (the submit's
message) is a plain Redis of its own in every case, no worker consuming it: what is measured is
the API.

Usage::

    .venv/bin/python bench/scale.py              # 1, 2, 4 processes on both backends (~2 min)
    .venv/bin/python bench/scale.py --backends single --procs 1,2
    .venv/bin/python bench/scale.py --smoke      # correctness only: tiny sizes

Other processes on the machine skew every number: the report says how busy the CPUs were
beyond what the benchmark's own processes used. Last line: every number as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import redis
import uvloop
from sanity import require, require_finite
from unlimited import UNLIMITED

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.redis.server import RedisServer  # noqa: E402
from tests.support.redis_cluster import start_cluster  # noqa: E402

WHO = "bench/scale.py"
TASK_CHUNK = 5_000


def bench_api() -> ModuleType:
    """bench/api.py, loaded under its own name (``api`` is the application package)."""
    spec = importlib.util.spec_from_file_location("bench_api", Path(__file__).with_name("api.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_api"] = module
    spec.loader.exec_module(module)
    return module


B = bench_api()


def redis_cpu(clients: Sequence[redis.Redis]) -> float:
    return sum(B.redis_cpu(client) for client in clients)


class Backend:
    """Where the board lives: the settings the API needs, a client of each server."""

    def __init__(self, name: str, env: dict[str, str], servers: list[redis.Redis]) -> None:
        self.name, self.env, self.servers = name, env, servers


def seed(api: httpx.Client, admin: str, tasks: int, volunteers: int) -> list[str]:
    created = api.post(
        "/v1/orgs",
        json={"name": "Bench NGO", "contact_email": "bench@example.org"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    require(created.status_code == 201, WHO, f"POST /v1/orgs: {created.text}")
    org = {"Authorization": f"Bearer {created.json()['api_key']}"}
    project = api.post(
        "/v1/projects",
        json={
            "name": "Forum moderation",
            "task_type": "moderation",
            "instructions": "Label the post with one of its labels.",
            "languages": ["en"],
            "redundancy": 1,
            "lease_seconds": 600,
        },
        headers=org,
    )
    require(project.status_code == 201, WHO, f"POST /v1/projects: {project.text}")
    project_id = project.json()["id"]
    for lo in range(0, tasks, TASK_CHUNK):
        batch = [
            {"payload": B.moderation_payload(i)} for i in range(lo, min(tasks, lo + TASK_CHUNK))
        ]
        sent = api.post(f"/v1/projects/{project_id}/tasks", json={"tasks": batch}, headers=org)
        require(sent.status_code == 200, WHO, f"POST tasks: {sent.text[:300]}")
    tokens = []
    for v in range(volunteers):
        signed = api.post("/v1/volunteers", json={"display_name": f"V{v}", "languages": ["en"]})
        require(signed.status_code == 201, WHO, f"POST /v1/volunteers: {signed.text}")
        token = str(signed.json()["token"])
        accepted = api.post(
            "/v1/me/charter", json={"accept": True}, headers={"Authorization": f"Bearer {token}"}
        )
        require(accepted.status_code == 200, WHO, f"POST /v1/me/charter: {accepted.text}")
        tokens.append(token)
    return tokens


async def drive(
    urls: list[str], tokens: list[str], cycles: int, concurrency: int
) -> dict[str, Any]:
    """``cycles`` claim->submit cycles, ``concurrency`` in flight, connection i on url i mod n."""
    conns = []
    for slot in range(concurrency):
        host, port = urls[slot % len(urls)].removeprefix("http://").rsplit(":", 1)
        conns.append(B.RawConnection(host, int(port)))
    await asyncio.gather(*(conn.connect() for conn in conns))
    headers = [
        f"authorization: Bearer {t}\r\ncontent-type: application/json\r\n".encode() for t in tokens
    ]
    remaining, done, failures = cycles, 0, 0

    async def worker(slot: int) -> None:
        nonlocal remaining, done, failures
        mine = range(slot, len(tokens), concurrency)  # a volunteer holds one assignment at once
        turn = 0
        while remaining > 0:
            remaining -= 1
            volunteer = headers[mine[turn % len(mine)]]
            turn += 1
            status, body = await conns[slot].post("/v1/assignments", B.CLAIM_BODY, volunteer)
            if status != 201:
                failures += 1
                continue
            path = f"/v1/assignments/{json.loads(body)['id']}/submit"
            status, _ = await conns[slot].post(path, B.SUBMIT_BODY, volunteer)
            if status == 202:
                done += 1
            else:
                failures += 1

    started, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    wall, client_cpu = time.monotonic() - started, time.process_time() - cpu
    for conn in conns:
        await conn.aclose()
    return {"cycles": done, "failures": failures, "wall_s": wall, "client_cpu_s": client_cpu}


def one_run(backend: Backend, procs: int, plan: argparse.Namespace, logs: Path) -> dict[str, Any]:
    admin = "rk_admin_" + secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUCHE_")}
    env.update(
        **backend.env,
        RUCHE_ADMIN_TOKEN=admin,
        RUCHE_KEY_PREFIX=f"scale{secrets.token_hex(3)}:",
        RUCHE_LOG_LEVEL="warning",
        **UNLIMITED,
    )
    servers = [
        B.Server(f"{backend.name}-{procs}-{n}", ["ruche", "api"], env, logs) for n in range(procs)
    ]
    with ExitStack() as stack:
        for server in servers:
            stack.enter_context(B.running(server))
        volunteers = max(plan.concurrency, 8)
        with httpx.Client(base_url=servers[0].url, timeout=60.0) as api:
            tokens = seed(api, admin, plan.cycles + plan.warmup + plan.concurrency, volunteers)
        urls = [server.url for server in servers]
        loop = uvloop.new_event_loop()
        try:
            loop.run_until_complete(drive(urls, tokens, plan.warmup, plan.concurrency))
            waited = B.wait_quiet(plan.quiet_wait)
            api_before = [server.cpu_seconds() for server in servers]
            redis_before, machine_before = redis_cpu(backend.servers), B.machine_cpu()
            run = loop.run_until_complete(drive(urls, tokens, plan.cycles, plan.concurrency))
            machine = B.machine_cpu() - machine_before
            redis_used = redis_cpu(backend.servers) - redis_before
            api_used = sum(s.cpu_seconds() - b for s, b in zip(servers, api_before, strict=True))
        finally:
            loop.close()
    require(run["failures"] == 0, WHO, f"{run['failures']} cycles failed ({backend.name}, {procs})")
    require(run["cycles"] == plan.cycles, WHO, f"{run['cycles']} cycles of {plan.cycles}")
    cycles, wall = run["cycles"], run["wall_s"]
    ours = api_used + redis_used + run["client_cpu_s"]
    return {
        "backend": backend.name,
        "procs": procs,
        "cycles": cycles,
        "cycles_per_s": cycles / wall,
        "api_cpu_ms_per_cycle": 1000 * api_used / cycles,
        "redis_cpu_ms_per_cycle": 1000 * redis_used / cycles,
        "client_cpu_ms_per_cycle": 1000 * run["client_cpu_s"] / cycles,
        "cpus_busy": machine / wall,  # everything on the machine, ours included
        "cpus_busy_others": max(0.0, machine - ours) / wall,
        "quiet_wait_s": waited,
    }


def print_report(results: list[dict[str, Any]], cpus: int) -> None:
    print(f"\nclaim->submit cycles by API processes ({cpus} CPUs usable)")
    print(
        "  backend  procs  cycles/s  x1-proc  API ms/cyc  Redis ms/cyc  client ms/cyc  "
        "CPUs busy (others)"
    )
    base: dict[str, float] = {}
    for r in results:
        base.setdefault(r["backend"], r["cycles_per_s"])
        r["ratio_to_one"] = r["cycles_per_s"] / base[r["backend"]]
        print(
            f"  {r['backend']:<8} {r['procs']:>5}  {r['cycles_per_s']:>8,.0f}  "
            f"{r['ratio_to_one']:>7.2f}  {r['api_cpu_ms_per_cycle']:>10.2f}  "
            f"{r['redis_cpu_ms_per_cycle']:>12.2f}  {r['client_cpu_ms_per_cycle']:>13.2f}  "
            f"{r['cpus_busy']:>5.2f} ({r['cpus_busy_others']:.2f})"
        )
    print(
        "  (the ceiling: once the CPUs are all busy, more processes only share them; "
        "'others' is CPU used by processes not of this benchmark)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--procs", default="1,2,4", help="API process counts, comma-separated")
    parser.add_argument("--backends", default="single,cluster", help="single, cluster or both")
    parser.add_argument("--cycles", type=int, default=6_000)
    parser.add_argument("--warmup", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--quiet-wait", type=float, default=10.0)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, correctness only")
    plan = parser.parse_args(argv)
    if plan.smoke:
        plan.procs, plan.cycles, plan.warmup, plan.concurrency, plan.quiet_wait = "1,2", 40, 8, 4, 0
    counts = [int(p) for p in plan.procs.split(",")]
    backends = plan.backends.split(",")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ruche-scale-") as tmp, ExitStack() as stack:
        base = Path(tmp)
        broker = RedisServer(base / "broker", appendonly=False)
        broker.start()
        stack.callback(broker.stop)
        for name in backends:
            if name == "single":
                server = RedisServer(base / "single", appendonly=False)
                server.start()
                stack.callback(server.stop)
                env = {"RUCHE_REDIS_URL": server.url, "RUCHE_BROKER_URL": broker.url}
                backend = Backend(name, env, [redis.Redis.from_url(server.url)])
            elif name == "cluster":
                cluster = start_cluster(base / "cluster")
                stack.callback(cluster.stop)
                env = {
                    "RUCHE_REDIS_URL": cluster.url,
                    "RUCHE_REDIS_CLUSTER": "1",
                    "RUCHE_REDIS_CLUSTER_NODES": cluster.node_list,
                    "RUCHE_BROKER_URL": broker.url,
                }
                # Every node's CPU: the replicas apply the masters' writes too.
                backend = Backend(name, env, [n.client() for n in cluster.nodes])
            else:
                raise SystemExit(f"{WHO}: unknown backend {name!r}")
            for procs in counts:
                print(f"  {name}: {procs} API process(es) ...", file=sys.stderr, flush=True)
                results.append(one_run(backend, procs, plan, base))
    print_report(results, len(os.sched_getaffinity(0)))
    require_finite(results, WHO)
    print(json.dumps({"scale": results, "smoke": plan.smoke}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
