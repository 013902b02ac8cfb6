"""Fair sharing: a victim NGO's volunteers claim while another NGO floods bulk submissions and
anonymous sign-ups flood, in one run against one ``ruche api`` process (as ``ruche up`` runs).

Three phases of the same length, one after the other, on the same server and Redis:

1. ``alone``: the victim's volunteers claim and submit, paced as people are (each waits
   ``think`` seconds between two tasks), and the claim latency is recorded;
2. ``flood``: the same, while the flooding NGO sends 5,000-task batches as fast as its
   connections allow and an anonymous client signs up as fast as its own do, each from
   processes of their own; with Ruche's default limits (the flood mostly gets 429s once past
   its organisation's rate, the sign-ups past their address's);
3. ``flood, rate lifted``: the same flood after the operator lifted the flooding NGO's bulk rate
   (``PUT /v1/orgs/{id}/limits``) and sends with a second API key (the first one's own
   ``token`` limit is spent knocking in phase 2), so only the fair-sharing design stands between
   it and the victim: bulk work written in small steps that wait while people's requests are
   served (``api.interactive``), one writer per organisation, a bounded number of bulk lanes
   per process (docs/limits.md).

It prints the victim's claim p50/p99 per phase and the ratio of each flood phase's p99 to the
p99 alone (the aim: at most 2), what the flood achieved (tasks stored, 429s, sign-ups), and one
JSON line with every number. The server runs the default limits, but trusts 127.0.0.1 as a
proxy so each victim volunteer signs up from an address of its own (``X-Forwarded-For``); the
flood's sign-ups all come from one.

Usage::

    .venv/bin/python bench/fairness.py            # 3 phases of 20 s
    .venv/bin/python bench/fairness.py --quick    # 3 phases of 8 s
    .venv/bin/python bench/fairness.py --smoke    # correctness only: tiny, no aim checked
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import redis
from sanity import require_finite

from core.redis.server import RedisServer

REPO = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "rk_admin_" + secrets.token_urlsafe(32)
LABELS = ["ok", "spam", "harassment"]
ATTACKER = "203.0.113.66"


@dataclass(frozen=True, slots=True)
class Plan:
    phase_s: float
    volunteers: int
    think_s: float
    victim_tasks: int
    flood_batch: int
    flood_connections: int
    signup_connections: int


FULL = Plan(20.0, 30, 1.2, 4_000, 5_000, 3, 2)
QUICK = Plan(8.0, 30, 1.2, 2_000, 5_000, 3, 2)
SMOKE = Plan(2.0, 4, 0.3, 200, 200, 1, 1)


def fail(message: str) -> None:
    raise SystemExit(f"bench/fairness.py: {message}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def payload(i: int) -> dict[str, Any]:
    return {"content": f"post {i:08d}: is this fine to keep on the forum?", "labels": LABELS}


def batch_body(size: int, tag: str | None = None) -> bytes:
    """A batch of ``size`` tasks whose contents start with ``tag`` (random by default)."""
    tag = tag or secrets.token_hex(4)
    tasks = [{"payload": {**payload(i), "content": f"{tag} {i}"}} for i in range(size)]
    return json.dumps({"tasks": tasks}).encode()


# -- the server ---------------------------------------------------------------------------


def start_api(redis_url: str, log: Path, port: int) -> Any:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("RUCHE_")}
    env.update(
        RUCHE_REDIS_URL=redis_url,
        RUCHE_ADMIN_TOKEN=ADMIN_TOKEN,
        RUCHE_LOG_LEVEL="WARNING",
        RUCHE_TRUSTED_PROXIES="127.0.0.1",
        RUCHE_KEY_PREFIX=f"fairness:{secrets.token_hex(4)}:",
    )
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "ruche", "api", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            fail(f"the API exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            fail("the API did not start")
        time.sleep(0.1)


def seed(base: str, plan: Plan) -> dict[str, Any]:
    """Two organisations, the victim's project with tasks and its volunteers."""
    with httpx.Client(base_url=base, timeout=60) as api:
        orgs = []
        for name in ("Victim NGO", "Flooding NGO"):
            made = api.post(
                "/v1/orgs",
                json={"name": name, "contact_email": "a@example.org"},
                headers=bearer(ADMIN_TOKEN),
            )
            if made.status_code != 201:
                fail(f"POST /v1/orgs: {made.text}")
            orgs.append((made.json()["id"], bearer(made.json()["api_key"])))
        # The flooding NGO's second key, for the phase with its rate lifted: its first one's
        # own limit (`token`, per key) is spent knocking in the phase before.
        second = api.post("/v1/org/keys", headers=orgs[1][1])
        if second.status_code != 201:
            fail(f"POST /v1/org/keys: {second.text}")
        projects = []
        for _, headers in orgs:
            body = {
                "name": "Posts",
                "task_type": "moderation",
                "instructions": "Label it.",
                "redundancy": 1,
            }
            made = api.post("/v1/projects", json=body, headers=headers)
            if made.status_code != 201:
                fail(f"POST /v1/projects: {made.text}")
            projects.append(made.json()["id"])
        victim_org, victim_project = orgs[0][1], projects[0]
        for start in range(0, plan.victim_tasks, 1_000):
            count = min(1_000, plan.victim_tasks - start)
            tasks = [{"payload": payload(start + i)} for i in range(count)]
            sent = api.post(
                f"/v1/projects/{victim_project}/tasks", json={"tasks": tasks}, headers=victim_org
            )
            if sent.status_code != 200 or sent.json()["accepted"] != count:
                fail(f"seeding the victim's tasks: {sent.text[:300]}")
        volunteers = []
        for i in range(plan.volunteers):
            address = {"X-Forwarded-For": f"198.51.100.{i + 1}"}
            made = api.post(
                "/v1/volunteers",
                json={"display_name": f"V{i}", "languages": ["en"]},
                headers=address,
            )
            if made.status_code != 201:
                fail(f"signing up victim volunteer {i}: {made.text}")
            token = bearer(made.json()["token"])
            api.post("/v1/me/charter", json={"accept": True}, headers=token)
            volunteers.append(token)
        return {
            "victim_project": victim_project,
            "flood_org_id": orgs[1][0],
            "flood_org": orgs[1][1],
            "flood_org_second_key": bearer(second.json()["api_key"]),
            "flood_project": projects[1],
            "volunteers": volunteers,
        }


# -- the flood (processes of their own) ------------------------------------------------------


class RawConnection:
    """One keep-alive HTTP/1.1 connection sending requests prepared as bytes, reading back each
    answer's status and body: a flooding client that costs the machine little. The server it
    floods shares this machine's cores with it, where a real flood's clients would be elsewhere;
    httpx would spend about a millisecond of CPU per request, this a few dozen microseconds, so
    the flood sends more requests for less of the machine."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._connect()

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port))
        self.buffer = b""

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status = int(head[9:12])
        fields = head.lower()
        found = fields.find(b"\r\ncontent-length:")
        if found < 0:
            raise ConnectionError("an answer without a Content-Length")
        length = int(fields[found + 17 : fields.find(b"\r\n", found + 2)])
        while len(rest) < length:
            self._read()
            rest = self.buffer.partition(b"\r\n\r\n")[2]
        self.buffer = rest[length:]
        if b"\r\nconnection: close" in fields:
            self.close()
            self._connect()
        return status, rest[:length]

    def _read(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data

    def close(self) -> None:
        self.sock.close()


def answers(
    port: int, duration: float, request: Callable[[], bytes]
) -> Iterator[tuple[int, bytes] | None]:
    """Sends ``request()`` over one connection, again and again for ``duration`` seconds,
    yielding each answer's status and body, or None when the connection failed (a new one is
    then opened)."""
    until = time.monotonic() + duration
    connection = RawConnection(port)
    try:
        while time.monotonic() < until:
            try:
                yield connection.exchange(request())
            except OSError:
                yield None
                connection.close()
                connection = RawConnection(port)
    finally:
        connection.close()


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def flood_bulk(
    port: int,
    headers: dict[str, str],
    project_id: str,
    batch: int,
    duration: float,
    go: Any,
    out: Any,
) -> None:
    # Each accepted batch is followed by new payloads (never duplicates): the template's tag
    # replaced where each content starts, a copy at C speed.
    tag = secrets.token_hex(4)
    path = f"/v1/projects/{project_id}/tasks"
    template = raw_request("POST", path, headers, batch_body(batch, tag))
    sending = [template]
    out.put(("ready", {}))
    go.wait()
    counts = {"accepted": 0, "ok": 0, "429": 0, "other": 0}
    for answer in answers(port, duration, lambda: sending[0]):
        if answer is None:
            counts["other"] += 1
        elif answer[0] == 200:
            counts["ok"] += 1
            counts["accepted"] += json.loads(answer[1])["accepted"]
            fresh = f'"{secrets.token_hex(4)} '.encode()
            sending[0] = template.replace(f'"{tag} '.encode(), fresh)
        elif answer[0] == 429:
            counts["429"] += 1
            limit = json.loads(answer[1])["error"]["details"][0].get("limit", "?")
            counts[f"429 {limit}"] = counts.get(f"429 {limit}", 0) + 1
        else:
            counts["other"] += 1
    out.put(("bulk", counts))


def flood_signups(port: int, duration: float, go: Any, out: Any) -> None:
    counts = {"201": 0, "429": 0, "other": 0}
    body = json.dumps({"display_name": "bot", "languages": ["en"]}).encode()
    request = raw_request("POST", "/v1/volunteers", {"X-Forwarded-For": ATTACKER}, body)
    out.put(("ready", {}))
    go.wait()
    for answer in answers(port, duration, lambda: request):
        status = answer[0] if answer is not None else None
        counts[str(status) if status in (201, 429) else "other"] += 1
    out.put(("signup", counts))


# -- the victim ---------------------------------------------------------------------------


async def victim(base: str, volunteers: list[dict[str, str]], plan: Plan) -> dict[str, Any]:
    """Each volunteer claims, submits, waits ``think_s``, again, for the phase's length."""
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    until = time.monotonic() + plan.phase_s
    limits = httpx.Limits(max_connections=len(volunteers) + 4)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as api:

        async def one(headers: dict[str, str], offset: float) -> None:
            await asyncio.sleep(offset)
            while time.monotonic() < until:
                started = time.perf_counter()
                claimed = await api.post("/v1/assignments", json={}, headers=headers)
                latencies.append(time.perf_counter() - started)
                key = str(claimed.status_code)
                outcomes[key] = outcomes.get(key, 0) + 1
                if claimed.status_code == 201:
                    done = await api.post(
                        f"/v1/assignments/{claimed.json()['id']}/submit",
                        json={"answer": {"label": "ok"}},
                        headers=headers,
                    )
                    if done.status_code != 202:
                        outcomes["submit_" + str(done.status_code)] = 1 + outcomes.get(
                            "submit_" + str(done.status_code), 0
                        )
                await asyncio.sleep(plan.think_s)

        spread = plan.think_s / max(1, len(volunteers))
        await asyncio.gather(*(one(v, i * spread) for i, v in enumerate(volunteers)))
    ms = sorted(x * 1000 for x in latencies)
    if not ms:
        fail("the victim made no claim")
    return {
        "claims": len(ms),
        "outcomes": outcomes,
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        "max_ms": ms[-1],
    }


def phase(
    base: str, seeded: dict[str, Any], plan: Plan, flood: bool, *, key: str = "flood_org"
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    go = ctx.Event()
    workers = []
    port = int(base.rsplit(":", 1)[1])
    duration = plan.phase_s + 1.0  # the flood outlasts the victim
    if flood:
        for _ in range(plan.flood_connections):
            args = (port, seeded[key], seeded["flood_project"], plan.flood_batch)
            workers.append(ctx.Process(target=flood_bulk, args=(*args, duration, go, out)))
        for _ in range(plan.signup_connections):
            workers.append(ctx.Process(target=flood_signups, args=(port, duration, go, out)))
        for worker in workers:
            worker.start()
        for _ in workers:  # every flooder started and ready: they all begin at once
            kind, _counts = out.get(timeout=300)
            if kind != "ready":
                fail(f"a flooder said {kind} before it was ready")
        go.set()
        time.sleep(0.5)  # the flood is under way before the victim starts measuring
    result = asyncio.run(victim(base, seeded["volunteers"], plan))
    floods: dict[str, dict[str, int]] = {}
    for _ in workers:
        kind, counts = out.get(timeout=300)
        total = floods.setdefault(kind, {})
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
    for worker in workers:
        worker.join(timeout=60)
    result["flood"] = floods
    floods.setdefault("bulk", {"accepted": 0, "ok": 0, "429": 0, "other": 0})
    floods.setdefault("signup", {"201": 0, "429": 0, "other": 0})
    sent_bulk = sum(floods["bulk"][key] for key in ("ok", "429", "other"))
    sent_signups = sum(floods["signup"].values())
    if flood and not (
        (sent_bulk or not plan.flood_connections) and (sent_signups or not plan.signup_connections)
    ):
        fail(f"the flood sent nothing: {floods}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--flood",
        choices=("both", "bulk", "signups"),
        default="both",
        help="which flood runs beside the victim (both by default; one alone shows its share)",
    )
    args = parser.parse_args()
    plan = SMOKE if args.smoke else QUICK if args.quick else FULL
    if args.flood == "bulk":
        plan = replace(plan, signup_connections=0)
    elif args.flood == "signups":
        plan = replace(plan, flood_connections=0)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ruche-fairness-") as tmp:
        server = RedisServer(Path(tmp) / "redis", appendonly=False)
        server.start()
        from core.redis.server import free_port

        port = free_port()
        api_process = start_api(server.url, Path(tmp) / "api.log", port)
        base = f"http://127.0.0.1:{port}"
        try:
            seeded = seed(base, plan)
            results = {"alone": phase(base, seeded, plan, flood=False)}
            results["flood"] = phase(base, seeded, plan, flood=True)
            lifted = httpx.put(
                f"{base}/v1/orgs/{seeded['flood_org_id']}/limits",
                json={"bulk_tasks": "100000000/minute"},
                headers=bearer(ADMIN_TOKEN),
                timeout=30,
            )
            if lifted.status_code != 200:
                fail(f"lifting the flood's rate: {lifted.text}")
            results["flood, rate lifted"] = phase(
                base, seeded, plan, flood=True, key="flood_org_second_key"
            )
            memory = redis.Redis.from_url(server.url).info("memory")["used_memory"]
        finally:
            api_process.terminate()
            api_process.wait(timeout=30)
            server.stop()
    report(plan, results, int(memory), time.monotonic() - started, smoke=args.smoke)


def _by_limit(counts: dict[str, int]) -> str:
    """`` (bulk_tasks 700, token 300)``: which limits refused the bulk flood's batches."""
    refused = [
        f"{key.split(' ', 1)[1]} {n}" for key, n in sorted(counts.items()) if key.startswith("429 ")
    ]
    return f" ({', '.join(refused)})" if refused else ""


def report(
    plan: Plan, results: dict[str, Any], memory: int, elapsed: float, *, smoke: bool
) -> None:
    alone = results["alone"]["p99_ms"]
    print("Ruche fairness benchmark" + (" (smoke)" if smoke else ""))
    print(
        f"  one `ruche api` process, default limits; {plan.volunteers} victim volunteers, each "
        f"claiming then submitting every {plan.think_s} s; phases of {plan.phase_s:.0f} s; "
        f"flood: {plan.flood_connections} bulk connection(s) of {plan.flood_batch:,}-task "
        f"batches, {plan.signup_connections} sign-up connection(s), as fast as they go"
    )
    print(
        f"  {'phase':<20} {'claims':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'p99/alone':>9}  flood"
    )
    for name, r in results.items():
        r["p99_ratio"] = r["p99_ms"] / alone if alone else float("nan")
        flood = r["flood"]
        said = ""
        if flood:
            b, s = flood["bulk"], flood["signup"]
            said = (
                f"bulk: {b['accepted']:,} tasks stored in {b['ok']} batches, {b['429']} x 429"
                f"{_by_limit(b)}, {b['other']} other; sign-ups: {s['201']} made, "
                f"{s['429']} x 429, {s['other']} other"
            )
        print(
            f"  {name:<20} {r['claims']:>7} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{r['max_ms']:>8.2f} {r['p99_ratio']:>9.2f}  {said}"
        )
    for name in ("flood", "flood, rate lifted"):
        ratio = results[name]["p99_ratio"]
        verdict = "met" if ratio <= 2 else "NOT met"
        print(f"  => victim p99 under '{name}' / alone = {ratio:.2f} (aim <= 2: {verdict})")
    print(f"  Redis used memory at the end: {memory / 2**20:.1f} MiB; elapsed {elapsed:.0f} s")
    for name, r in results.items():
        errors = {k: v for k, v in r["outcomes"].items() if k not in ("201", "204")}
        if errors:
            fail(f"the victim was refused in phase '{name}': {errors}")
        if r["flood"] and r["flood"]["bulk"]["other"] + r["flood"]["signup"]["other"]:
            fail(f"the flood got errors other than 429 in phase '{name}': {r['flood']}")
    out = {"plan": asdict(plan), "phases": results, "redis_used_memory": memory}
    require_finite(out, "bench/fairness.py")
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
