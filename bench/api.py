"""Benchmark of the HTTP API (``python -m ruche api``, one uvicorn worker process), in one run.

Prints a readable report and, last, one JSON line holding every number:

1. claim->submit cycles/s and per-cycle latency (p50/p99) through ONE ``ruche api`` process, next
   to a bare FastAPI app (``bench/bare_app.py``: the same two request shapes, parsed and answered
   with no work) started through the same ``ruche.cli`` code path, so with the same uvicorn
   arguments and logging; and the ratio Ruche/bare. Each cycle is a claim
   (``POST /v1/assignments``) then a submit (``POST /v1/assignments/{id}/submit``) by one of
   many volunteers, on a moderation project with enough tasks that claims keep succeeding; a
   fixed number of cycles, a fixed number in flight, after a warm-up, the two servers taking
   turns in interleaved rounds. Two load generators, one after the other, each the same for
   both servers: ``raw``, a minimal asyncio HTTP/1.1 client (cheap enough that the servers are
   what is measured), and ``httpx`` (``httpx.AsyncClient``, which on a 2-CPU machine needs
   about as much CPU per request as the server it drives). Where the time goes: CPU per cycle
   of the server, of Redis and of the client processes (is the client saturated?), and the
   Redis commands each cycle sends (INFO commandstats).
2. bulk submission of tasks through ``POST /v1/projects/{id}/tasks`` (sequential requests, as
   JSON, as NDJSON, and as JSON with external ids) in tasks/s, next to the board's
   ``create_tasks`` called in-process and to raw pipelined ``HSET`` of the same payload JSON
   strings through one redis-py pipeline; the ratio API/raw; and where a request's time goes:
   the route's steps (parse, validate, create, respond) timed in-process in the server's
   conditions, body by body, next to the same bodies POSTed alongside, the rest by difference.

Usage::

    .venv/bin/python bench/api.py            # full run (~2 min on a quiet 2-CPU machine)
    .venv/bin/python bench/api.py --quick    # smaller sizes
    .venv/bin/python bench/api.py --smoke    # correctness only: tiny sizes, no quiet wait
    .venv/bin/python bench/api.py --redis-url redis://host:6379/0
    .venv/bin/python bench/api.py --clients httpx --client-procs 2

Without ``--redis-url`` a throw-away ``redis-server`` is started (no persistence). With it, every
key lives under a ``ruchebench:<random>:`` prefix (``RUCHE_KEY_PREFIX`` of both servers) and is
deleted at the end; Redis CPU and command figures then include whatever else the server does.

The two HTTP servers are child processes on free loopback ports, started with ``RUCHE_*``
variables of their own (inherited ``RUCHE_*`` variables are dropped), logging to files in a
temporary directory (JSON lines: stderr is not a terminal), and always stopped at the end.

Other processes on the machine (a test suite, say) skew every number here. Before each timed
round the benchmark waits (``--quiet-wait``) for the CPUs to be quiet, and the report shows how
busy the rest of the machine was while it measured, with a warning when that was significant.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import multiprocessing
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import redis
import redis.asyncio as aioredis
import uvloop
from redis.utils import HIREDIS_AVAILABLE
from sanity import require_finite
from unlimited import UNLIMITED

from core.board.bulk import parse_json_batch, submit_batch
from core.board.runner import AsyncBoard, CreatedTask, NewTask
from core.redis.keys import Keys
from core.redis.server import RedisServer, free_port
from core.settings import Settings
from task_types import get as get_task_type

REPO = Path(__file__).resolve().parent.parent
HEALTH_TIMEOUT_S = 30.0
CLAIM_TASKS_PER_REQUEST = 5_000
CLAIM_BODY = json.dumps({"task_types": ["moderation"]}).encode()
SUBMIT_BODY = json.dumps({"answer": {"label": "ok"}, "seconds_spent": 12.5}).encode()
JSON_HEADERS = {"Content-Type": "application/json"}
NDJSON_HEADERS = {"Content-Type": "application/x-ndjson"}
PAYLOAD_BYTES = 200
SIDES = ("ruche", "bare")
NOISY = 0.2  # CPUs kept busy by other processes above which the report warns
SATURATED = 0.9  # client CPU-seconds per wall-second at which a client process is the limit


@dataclass(frozen=True, slots=True)
class Plan:
    cycles: int  # timed claim->submit cycles per server
    warmup: int  # untimed cycles per server first
    rounds: int  # the timed cycles are split in this many rounds, servers taking turns
    concurrency: int  # cycles in flight, over all client processes
    volunteers: int
    bulk_tasks: int
    bulk_batch: int  # tasks per bulk request


FULL = Plan(5_000, 500, 5, 16, 64, 100_000, 5_000)
QUICK = Plan(500, 100, 2, 16, 64, 10_000, 5_000)
SMOKE = Plan(100, 20, 2, 4, 8, 2_000, 500)


# -- small helpers ---------------------------------------------------------------------------


def fail(message: str) -> None:
    raise SystemExit(f"bench/api.py: {message}")


def dumps(value: Any) -> str:
    """The board's own serialisation (see core.board.operations.dumps)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def percentile(sorted_values: Sequence[int], p: float) -> int:
    """Nearest-rank percentile of an already sorted sequence."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def moderation_payload(i: int) -> dict[str, Any]:
    """A moderation payload whose JSON is exactly PAYLOAD_BYTES bytes."""
    head = {"content": "", "labels": ["ok", "spam", "harassment"]}
    room = PAYLOAD_BYTES - len(dumps(head).encode()) - 9
    filler = ("is this post fine to keep on the forum? " * 10)[:room]
    payload = {"content": f"{i:08d} {filler}", "labels": ["ok", "spam", "harassment"]}
    assert len(dumps(payload).encode()) == PAYLOAD_BYTES
    return payload


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_cpu() -> float:
    """CPU-seconds all CPUs of the machine spent busy so far (/proc/stat), anyone's."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_quiet(budget_s: float, sample_s: float = 0.5) -> float:
    """Wait (at most ``budget_s``) until the machine is quiet: under NOISY CPUs busy over
    ``sample_s``, while the benchmark's own processes sit idle. Returns the seconds waited, or
    minus that when the budget ran out first."""
    if budget_s <= 0:
        return 0.0
    started = time.monotonic()
    while True:
        before = machine_cpu()
        time.sleep(sample_s)
        if (machine_cpu() - before) / sample_s < NOISY:
            return time.monotonic() - started
        if time.monotonic() - started >= budget_s:
            return -(time.monotonic() - started)


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def command_stats(client: redis.Redis) -> dict[str, tuple[int, int]]:
    """(calls, usec) of every command so far, from INFO commandstats."""
    out: dict[str, tuple[int, int]] = {}
    for name, entry in client.info("commandstats").items():
        out[name.removeprefix("cmdstat_")] = (int(entry["calls"]), int(entry["usec"]))
    return out


def stats_delta(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> dict[str, tuple[int, int]]:
    out = {}
    for name, (calls, usec) in after.items():
        was = before.get(name, (0, 0))
        if calls - was[0] > 0:
            out[name] = (calls - was[0], usec - was[1])
    return out


# -- the two HTTP servers --------------------------------------------------------------------


class Server:
    """One HTTP server child process (``python -m ruche api`` or ``-m bench.bare_app``)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [
            sys.executable,
            "-m",
            *command,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=REPO, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        with httpx.Client(base_url=self.url, timeout=1.0) as probe:
            while True:
                if self.process.poll() is not None:
                    fail(
                        f"{self.name} server exited with {self.process.returncode}; log:\n"
                        + self.log_path.read_text()[-3000:]
                    )
                try:
                    if probe.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    fail(f"{self.name} server did not answer /healthz on port {self.port}")
                time.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def loaded(self, fragment: str) -> bool:
        """A shared object whose path holds ``fragment`` is mapped in the server process."""
        try:
            return fragment in Path(f"/proc/{self.pid}/maps").read_text()
        except OSError:
            return False

    def threads(self) -> int:
        """Threads of the server process now (FastAPI runs sync dependencies in a pool)."""
        return len(list(Path(f"/proc/{self.pid}/task").iterdir()))

    def log_lines(self) -> int:
        with self.log_path.open("rb") as log:
            return sum(1 for _ in log)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


# -- the load generator (runs in client processes) --------------------------------------------


CLIENT_KINDS = ("raw", "httpx")


@dataclass(frozen=True, slots=True)
class Job:
    side: str
    cycles: int
    start_at: float  # time.monotonic() (system-wide on Linux) at which every process starts


@dataclass
class JobResult:
    start: float
    end: float
    cpu: float
    cycle_ns: list[int] = field(default_factory=list)
    claim_ns: list[int] = field(default_factory=list)
    submit_ns: list[int] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)


class RawConnection:
    """A minimal keep-alive HTTP/1.1 client connection over asyncio streams.

    Just enough for these two POSTs (the server answers with a Content-Length, as uvicorn does
    for every FastAPI JSON response): a fraction of httpx's CPU per request, so that on a small
    machine the server, not the load generator, is what gets measured.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        """(Re)open the connection: uvicorn closes keep-alive connections idle for 5 s."""
        await self.aclose()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes, headers: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(
            b"POST %s HTTP/1.1\r\nhost: %s\r\n%scontent-length: %d\r\n\r\n%s"
            % (path.encode(), self.host.encode(), headers, len(body), body)
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        else:
            if status not in (204, 304):
                raise RuntimeError(f"response {status} without Content-Length")
        return status, (await self.reader.readexactly(length) if length else b"")

    async def aclose(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            with suppress(OSError, ConnectionError):
                await writer.wait_closed()


class Poster:
    """``post(slot, path, body, volunteer)``: ``slot`` is the in-flight coroutine's number."""

    def __init__(self, kind: str, url: str, tokens: Sequence[str], concurrency: int) -> None:
        self.kind = kind
        if kind == "httpx":
            limits = httpx.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            )
            self.httpx = httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0)
            self.headers: list[Any] = [
                {"Authorization": f"Bearer {t}", **JSON_HEADERS} for t in tokens
            ]
        else:
            host, port = url.removeprefix("http://").rsplit(":", 1)
            self.conns = [RawConnection(host, int(port)) for _ in range(concurrency)]
            self.headers = [
                f"authorization: Bearer {t}\r\ncontent-type: application/json\r\n".encode()
                for t in tokens
            ]

    async def post(self, slot: int, path: str, body: bytes, volunteer: int) -> tuple[int, bytes]:
        if self.kind == "httpx":
            response = await self.httpx.post(path, content=body, headers=self.headers[volunteer])
            return response.status_code, response.content
        return await self.conns[slot].post(path, body, self.headers[volunteer])

    async def prepare(self) -> None:
        """Before a timed job: fresh connections for the raw client (the server drops idle
        ones); httpx's pool replaces the dropped ones by itself when it next uses them."""
        if self.kind == "raw":
            await asyncio.gather(*(conn.connect() for conn in self.conns))

    async def aclose(self) -> None:
        if self.kind == "httpx":
            await self.httpx.aclose()
        else:
            for conn in self.conns:
                await conn.aclose()


async def run_job(poster: Poster, volunteers: int, concurrency: int, job: Job) -> JobResult:
    remaining = job.cycles
    result = JobResult(0.0, 0.0, 0.0)
    perf = time.perf_counter_ns

    async def worker(slot: int) -> None:
        nonlocal remaining
        # Each coroutine owns its own volunteers, so a volunteer holds one assignment at a time.
        mine = range(slot, volunteers, concurrency)
        turn = 0
        while remaining > 0:
            remaining -= 1
            volunteer = mine[turn % len(mine)]
            turn += 1
            t0 = perf()
            status, body = await poster.post(slot, "/v1/assignments", CLAIM_BODY, volunteer)
            t1 = perf()
            if status != 201:
                result.failures[f"claim {status}"] += 1
                continue
            assignment_id = json.loads(body)["id"]
            status, body = await poster.post(
                slot, f"/v1/assignments/{assignment_id}/submit", SUBMIT_BODY, volunteer
            )
            t2 = perf()
            if status != 202:
                result.failures[f"submit {status}"] += 1
                continue
            json.loads(body)
            result.cycle_ns.append(t2 - t0)
            result.claim_ns.append(t1 - t0)
            result.submit_ns.append(t2 - t1)

    await poster.prepare()
    delay = job.start_at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    cpu = time.process_time()
    result.start = time.monotonic()
    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    result.end = time.monotonic()
    result.cpu = time.process_time() - cpu
    return result


def client_process(
    conn: Connection, kind: str, urls: dict[str, str], tokens: list[str], concurrency: int
) -> None:
    """Serve jobs from ``conn`` until None. One event loop (uvloop, as the servers') and one
    client per server, kept across jobs: connections stay open, as a volunteer app's would."""
    loop = uvloop.new_event_loop()

    async def make() -> dict[str, Poster]:
        return {side: Poster(kind, url, tokens, concurrency) for side, url in urls.items()}

    posters = loop.run_until_complete(make())
    try:
        while True:
            job: Job | None = conn.recv()
            if job is None:
                break
            conn.send(
                loop.run_until_complete(run_job(posters[job.side], len(tokens), concurrency, job))
            )
    finally:
        for poster in posters.values():
            loop.run_until_complete(poster.aclose())
        loop.close()


class LoadGenerator:
    """``procs`` client processes; each gets 1/procs of the volunteers and of the concurrency."""

    def __init__(
        self, kind: str, urls: dict[str, str], tokens: list[str], concurrency: int, procs: int
    ) -> None:
        if concurrency % procs:
            fail(f"concurrency {concurrency} is not a multiple of --client-procs {procs}")
        per_proc = concurrency // procs
        if len(tokens) < concurrency:
            fail("need at least as many volunteers as cycles in flight")
        context = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for p in range(procs):
            ours, theirs = context.Pipe()
            proc = context.Process(
                target=client_process,
                args=(theirs, kind, urls, tokens[p::procs], per_proc),
                daemon=True,
            )
            proc.start()
            theirs.close()
            self.conns.append(ours)
            self.procs.append(proc)

    def run(self, side: str, cycles: int) -> list[JobResult]:
        procs = len(self.conns)
        start_at = time.monotonic() + 0.05
        for p, conn in enumerate(self.conns):
            share = cycles // procs + (1 if p < cycles % procs else 0)
            conn.send(Job(side, share, start_at))
        try:
            return [conn.recv() for conn in self.conns]
        except EOFError:
            fail("a load-generator process died (its traceback is above)")
            raise

    def close(self) -> None:
        for conn in self.conns:
            with suppress(OSError):
                conn.send(None)
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)


# -- the benchmark ---------------------------------------------------------------------------


class TimedBoard:
    """The real board, handed to ``submit_batch`` in its place, that times what the route
    spends creating tasks: building the ``create_tasks`` operation and running it. The rest of
    ``submit_batch`` is validation. So each step is timed once, on the tasks the route itself
    built (their payload JSON already encoded by validation), in one pass."""

    def __init__(self, board: AsyncBoard) -> None:
        self.board = board
        self.ops = self
        self.seconds = 0.0

    def create_tasks(self, project_id: str, tasks: list[NewTask], **quota: Any) -> Any:
        start = time.perf_counter()
        op = self.board.ops.create_tasks(project_id, tasks, **quota)
        self.seconds += time.perf_counter() - start
        return op

    async def run(self, op: Any) -> list[CreatedTask]:
        start = time.perf_counter()
        created: list[CreatedTask] = await self.board.run(op)
        self.seconds += time.perf_counter() - start
        return created


@dataclass
class SideTotals:
    cycles: int = 0
    wall: float = 0.0
    client_cpu: float = 0.0
    client_proc_wall: float = 0.0  # sum over processes of their own wall time
    server_cpu: float = 0.0
    redis_cpu: float = 0.0
    machine_cpu: float = 0.0
    window: float = 0.0  # wall time over which machine_cpu was measured
    threads: int = 0  # most threads seen in the server process right after a round
    quiet_waits: list[float] = field(default_factory=list)
    cycle_ns: list[int] = field(default_factory=list)
    claim_ns: list[int] = field(default_factory=list)
    submit_ns: list[int] = field(default_factory=list)
    commands: Counter[str] = field(default_factory=Counter)  # name -> calls
    command_usec: Counter[str] = field(default_factory=Counter)


class Bench:
    def __init__(
        self, redis_url: str, plan: Plan, client_procs: int, quiet_wait: float, log_dir: Path
    ) -> None:
        self.redis_url = redis_url
        self.quiet_wait = quiet_wait
        self.plan = plan
        self.client_procs = client_procs
        self.log_dir = log_dir
        self.prefix = f"ruchebench:{secrets.token_hex(4)}:"
        self.keys = Keys(prefix=self.prefix)
        self.admin_token = "rk_admin_" + secrets.token_urlsafe(32)
        self.client = redis.Redis.from_url(redis_url, single_connection_client=True)
        self.bulk = redis.Redis.from_url(redis_url)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUCHE_")}
        env.update(
            RUCHE_REDIS_URL=self.redis_url,
            RUCHE_ADMIN_TOKEN=self.admin_token,
            RUCHE_KEY_PREFIX=self.prefix,
            **UNLIMITED,
        )
        return env

    # -- seeding, through the API itself --------------------------------------------------

    def seed(self, api: httpx.Client, kinds: int) -> tuple[dict[str, str], str, list[str]]:
        """An organisation, a moderation project with tasks, charter-signed volunteers."""
        created = api.post(
            "/v1/orgs",
            json={"name": "Bench NGO", "contact_email": "bench@example.org"},
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        if created.status_code != 201:
            fail(f"POST /v1/orgs: {created.status_code} {created.text}")
        org = {"Authorization": f"Bearer {created.json()['api_key']}"}
        project_id = self.project(api, org, "Forum moderation")
        # Answers the cycles will submit; with redundancy 3 they fill a third as many tasks, so
        # two thirds leave a margin (volunteers skip tasks they already answered).
        answers = kinds * (self.plan.cycles + self.plan.warmup)
        chunk = CLAIM_TASKS_PER_REQUEST
        tasks = max(chunk, math.ceil(2 * answers / 3 / chunk) * chunk)
        for lo in range(0, tasks, chunk):
            batch = [{"payload": moderation_payload(i)} for i in range(lo, min(tasks, lo + chunk))]
            self.submit_tasks(api, org, project_id, json.dumps({"tasks": batch}), JSON_HEADERS)
        tokens = []
        for v in range(self.plan.volunteers):
            signed = api.post(
                "/v1/volunteers", json={"display_name": f"Volunteer {v}", "languages": ["en"]}
            )
            if signed.status_code != 201:
                fail(f"POST /v1/volunteers: {signed.status_code} {signed.text}")
            token = str(signed.json()["token"])
            charter = api.post(
                "/v1/me/charter",
                json={"accept": True},
                headers={"Authorization": f"Bearer {token}"},
            )
            if charter.status_code != 200:
                fail(f"POST /v1/me/charter: {charter.status_code} {charter.text}")
            tokens.append(token)
        return org, project_id, tokens

    @staticmethod
    def project(api: httpx.Client, org: dict[str, str], name: str) -> str:
        response = api.post(
            "/v1/projects",
            json={
                "name": name,
                "task_type": "moderation",
                "instructions": "Label the post with one of its labels.",
                "languages": ["en"],
                "redundancy": 3,
                "lease_seconds": 600,
            },
            headers=org,
        )
        if response.status_code != 201:
            fail(f"POST /v1/projects: {response.status_code} {response.text}")
        return str(response.json()["id"])

    @staticmethod
    def submit_tasks(
        api: httpx.Client,
        org: dict[str, str],
        project_id: str,
        body: str | bytes,
        headers: dict[str, str],
    ) -> int:
        response = api.post(
            f"/v1/projects/{project_id}/tasks", content=body, headers={**org, **headers}
        )
        if response.status_code != 200:
            fail(f"POST tasks: {response.status_code} {response.text[:500]}")
        outcome = response.json()
        if outcome["rejected"]:
            fail(f"POST tasks: rejected items, e.g. {outcome['rejected'][:2]}")
        return int(outcome["accepted"])

    # -- 1: claim->submit cycles ----------------------------------------------------------

    def cycles(self, kind: str, servers: dict[str, Server], tokens: list[str]) -> dict[str, Any]:
        plan = self.plan
        urls = {side: servers[side].url for side in SIDES}
        load = LoadGenerator(kind, urls, tokens, plan.concurrency, self.client_procs)
        totals = {side: SideTotals() for side in SIDES}
        try:
            for side in SIDES:
                print(
                    f"  {kind} client, warm-up: {plan.warmup:,} cycles against {side} ...",
                    file=sys.stderr,
                    flush=True,
                )
                self.check(side, load.run(side, plan.warmup))
            per_round = plan.cycles // plan.rounds
            for round_no in range(plan.rounds):
                order = SIDES if round_no % 2 == 0 else SIDES[::-1]
                for side in order:
                    print(
                        f"  {kind} client, round {round_no + 1}/{plan.rounds}: "
                        f"{per_round:,} cycles against {side} ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    self.timed_round(load, side, servers[side], per_round, totals[side])
        finally:
            load.close()
        for side in SIDES:
            if totals[side].cycles != per_round * plan.rounds:
                fail(f"{side}: {totals[side].cycles} cycles timed of {per_round * plan.rounds}")

        out: dict[str, Any] = {
            "client": kind,
            "cycles": plan.cycles,
            "warmup": plan.warmup,
            "rounds": plan.rounds,
            "concurrency": plan.concurrency,
            "volunteers": plan.volunteers,
            "client_procs": self.client_procs,
            "sides": {},
        }
        for side in SIDES:
            t = totals[side]
            cycles = sorted(t.cycle_ns)
            claims, submits = sorted(t.claim_ns), sorted(t.submit_ns)
            row: dict[str, Any] = {
                "cycles_per_s": t.cycles / t.wall,
                "requests_per_s": 2 * t.cycles / t.wall,
                "p50_ms": percentile(cycles, 50) / 1e6,
                "p90_ms": percentile(cycles, 90) / 1e6,
                "p99_ms": percentile(cycles, 99) / 1e6,
                "max_ms": cycles[-1] / 1e6,
                "claim_p50_ms": percentile(claims, 50) / 1e6,
                "claim_p99_ms": percentile(claims, 99) / 1e6,
                "submit_p50_ms": percentile(submits, 50) / 1e6,
                "submit_p99_ms": percentile(submits, 99) / 1e6,
                "wall_s": t.wall,
                "server_cpu_us_per_cycle": t.server_cpu / t.cycles * 1e6,
                "server_cpu_busy": t.server_cpu / t.wall,
                "redis_cpu_us_per_cycle": t.redis_cpu / t.cycles * 1e6,
                "redis_cpu_busy": t.redis_cpu / t.wall,
                "client_cpu_us_per_cycle": t.client_cpu / t.cycles * 1e6,
                # CPU-seconds per wall-second of one client process, averaged over processes
                "client_cpu_busy_per_proc": t.client_cpu / t.client_proc_wall,
                "bench_cpu_busy": (t.server_cpu + t.redis_cpu + t.client_cpu) / t.wall,
                # Everything else on the machine (other people's tests, say) meanwhile.
                "other_cpu_busy": max(
                    0.0, t.machine_cpu - t.server_cpu - t.redis_cpu - t.client_cpu
                )
                / t.window,
                "quiet_wait_s": sum(abs(w) for w in t.quiet_waits),
                "server_threads": t.threads,
                "rounds_not_quiet": sum(w < 0 for w in t.quiet_waits),
            }
            row["client_saturated"] = row["client_cpu_busy_per_proc"] >= SATURATED
            if side == "ruche":
                row["redis_commands_per_cycle"] = {
                    name: {
                        "calls": calls / t.cycles,
                        "usec_per_call": t.command_usec[name] / calls,
                        "usec_per_cycle": t.command_usec[name] / t.cycles,
                    }
                    for name, calls in t.commands.most_common()
                }
                row["redis_usec_per_cycle"] = sum(t.command_usec.values()) / t.cycles
            out["sides"][side] = row
        ruche, bare = out["sides"]["ruche"], out["sides"]["bare"]
        out["ratio_cycles_ruche_to_bare"] = ruche["cycles_per_s"] / bare["cycles_per_s"]
        # What the ratio would be with both servers CPU-bound on one core each.
        out["ratio_server_cpu_bare_to_ruche"] = (
            bare["server_cpu_us_per_cycle"] / ruche["server_cpu_us_per_cycle"]
        )
        return out

    @staticmethod
    def check(side: str, results: list[JobResult]) -> None:
        failures: Counter[str] = Counter()
        for r in results:
            failures.update(r.failures)
        if failures:
            fail(f"{side}: cycles that failed: {dict(failures)}")

    def timed_round(
        self, load: LoadGenerator, side: str, server: Server, cycles: int, t: SideTotals
    ) -> None:
        t.quiet_waits.append(wait_quiet(self.quiet_wait))
        stats, rcpu, scpu = command_stats(self.client), redis_cpu(self.client), server.cpu_seconds()
        mcpu, window = machine_cpu(), time.monotonic()
        results = load.run(side, cycles)
        t.machine_cpu += machine_cpu() - mcpu
        t.window += time.monotonic() - window
        t.threads = max(t.threads, server.threads())
        t.server_cpu += server.cpu_seconds() - scpu
        t.redis_cpu += redis_cpu(self.client) - rcpu
        delta = stats_delta(stats, command_stats(self.client))
        self.check(side, results)
        t.cycles += sum(len(r.cycle_ns) for r in results)
        t.wall += max(r.end for r in results) - min(r.start for r in results)
        t.client_cpu += sum(r.cpu for r in results)
        t.client_proc_wall += sum(r.end - r.start for r in results)
        for r in results:
            t.cycle_ns += r.cycle_ns
            t.claim_ns += r.claim_ns
            t.submit_ns += r.submit_ns
        for name, (calls, usec) in delta.items():
            if name == "info":
                continue  # our own INFO calls around the round
            t.commands[name] += calls
            t.command_usec[name] += usec

    # -- 2: bulk submission ---------------------------------------------------------------

    def bulk_submission(
        self, api: httpx.Client, server: Server, org: dict[str, str]
    ) -> dict[str, Any]:
        plan = self.plan
        n, size = plan.bulk_tasks, plan.bulk_batch
        payloads = [moderation_payload(i) for i in range(n)]
        serialised = [dumps(p) for p in payloads]
        out: dict[str, Any] = {
            "tasks": n,
            "batch": size,
            "requests": math.ceil(n / size),
            "payload_bytes": PAYLOAD_BYTES,
        }

        def bodies(fmt: str) -> list[bytes]:
            found = []
            for lo in range(0, n, size):
                items: list[dict[str, Any]] = [{"payload": p} for p in payloads[lo : lo + size]]
                if fmt == "json_ext":
                    for i, item in enumerate(items, start=lo):
                        item["external_id"] = f"row-{i:08d}"
                if fmt == "ndjson":
                    found.append("\n".join(dumps(item) for item in items).encode())
                else:
                    found.append(dumps({"tasks": items}).encode())
            return found

        for fmt, headers in (
            ("json", JSON_HEADERS),
            ("ndjson", NDJSON_HEADERS),
            ("json_ext", JSON_HEADERS),
        ):
            print(f"  bulk: {n:,} tasks as {fmt} ...", file=sys.stderr, flush=True)
            encoded = bodies(fmt)
            project_id = self.project(api, org, f"Bulk {fmt}")
            waited = wait_quiet(self.quiet_wait)
            stats, rcpu = command_stats(self.client), redis_cpu(self.client)
            scpu, mcpu, own = server.cpu_seconds(), machine_cpu(), time.process_time()
            per_request = []
            accepted = 0
            start = time.perf_counter()
            for body in encoded:
                t0 = time.perf_counter()
                accepted += self.submit_tasks(api, org, project_id, body, headers)
                per_request.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - start
            server_cpu = server.cpu_seconds() - scpu
            redis_s = redis_cpu(self.client) - rcpu
            others = machine_cpu() - mcpu - server_cpu - redis_s - (time.process_time() - own)
            delta = stats_delta(stats, command_stats(self.client))
            if accepted != n:
                fail(f"bulk {fmt}: {accepted} of {n} tasks accepted")
            out[fmt] = {
                "seconds": elapsed,
                "per_s": n / elapsed,
                "request_ms_mean": sum(per_request) / len(per_request) * 1e3,
                "request_ms_max": max(per_request) * 1e3,
                "body_bytes": sum(len(b) for b in encoded),
                "server_cpu_s": server_cpu,
                "redis_cpu_s": redis_s,
                "redis_evalsha_s": delta.get("evalsha", (0, 0))[1] / 1e6,
                "redis_evalsha_calls": delta.get("evalsha", (0, 0))[0],
                "other_cpu_busy": max(0.0, others) / elapsed,
                "quiet": waited >= 0,
            }

        # In-process, with the API's own client settings and in the server's conditions:
        # under uvloop, with what exists beforehand frozen out of the collector's sight, as
        # `ruche api` does at start-up (ruche/cli.py); else every full collection here walks
        # this process's copies of the payloads, which the server never holds. First the board
        # alone (no HTTP, no validation), then the route's steps on the same JSON bodies.
        print(f"  bulk: {n:,} tasks in-process (AsyncBoard, then the route's steps) ...",
              file=sys.stderr, flush=True)  # fmt: skip
        board_project = self.project(api, org, "Bulk board")
        route_projects = (self.project(api, org, "Bulk route steps"),
                          self.project(api, org, "Bulk route over HTTP"))  # fmt: skip
        json_bodies = bodies("json")
        gc.collect()
        gc.freeze()
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                out["board"] = runner.run(self.board_alone(board_project, payloads))
                steps, rests, cpu = self.route_steps(
                    runner, api, server, org, route_projects, json_bodies
                )
        finally:
            gc.unfreeze()
        per_task = 1e6 / n
        out["in_process"] = {name: seconds * per_task for name, seconds in steps.items()}
        # By difference, body by body, against the same bodies POSTed alongside: what a request
        # costs beyond the route's own steps (HTTP on both ends, reading the body, auth, the
        # project read). Spread over 5,000 tasks a request that is little, less than this
        # machine's noise when it is busy; hence the standard error, from the bodies' spread.
        out["in_process"]["the rest (HTTP, auth, ...)"] = sum(rests) * per_task
        out["in_process_http_us"] = sum(out["in_process"].values())
        spread = statistics.stdev(rests) * math.sqrt(len(rests))  # of their sum, in seconds
        out["in_process_rest_stderr_us"] = spread * per_task
        out["in_process_cpu_us"] = {side: seconds * per_task for side, seconds in cpu.items()}

        # Raw baseline: the same payload JSON strings, one HSET each, all in one pipeline.
        print(f"  bulk: {n:,} raw pipelined HSET ...", file=sys.stderr, flush=True)
        raw_key = f"{self.prefix}raw-hset"
        fields = [f"t{i + 1:010d}" for i in range(n)]
        stats = command_stats(self.client)
        pipe = self.bulk.pipeline(transaction=False)
        start = time.perf_counter()
        for name, value in zip(fields, serialised, strict=True):
            pipe.hset(raw_key, name, value)
        pipe.execute()
        elapsed = time.perf_counter() - start
        delta = stats_delta(stats, command_stats(self.client))
        self.client.delete(raw_key)
        out["raw_hset"] = {
            "seconds": elapsed,
            "per_s": n / elapsed,
            "redis_s": delta.get("hset", (0, 0))[1] / 1e6,
        }
        for fmt in ("json", "ndjson", "json_ext"):
            out[f"ratio_{fmt}_to_raw_hset"] = out[fmt]["per_s"] / out["raw_hset"]["per_s"]
        out["ratio_board_to_raw_hset"] = out["board"]["per_s"] / out["raw_hset"]["per_s"]
        return out

    async def board_alone(self, project_id: str, payloads: list[dict[str, Any]]) -> dict[str, Any]:
        """``AsyncBoard.create_tasks`` on its own, in batches of the bulk requests' size."""
        n, size = len(payloads), self.plan.bulk_batch
        client = aioredis.Redis.from_url(self.redis_url, decode_responses=True)  # as the API's
        try:
            board = AsyncBoard(client, keys=self.keys)
            tasks = [NewTask(p) for p in payloads]
            stats = command_stats(self.client)
            start = time.perf_counter()
            created = 0
            for lo in range(0, n, size):
                chunk = tasks[lo : lo + size]
                created += sum(
                    c.created for c in await board.run(board.ops.create_tasks(project_id, chunk))
                )
            create_s = time.perf_counter() - start
            delta = stats_delta(stats, command_stats(self.client))
        finally:
            await client.aclose()
        if created != n:
            fail(f"AsyncBoard create_tasks created {created} of {n} tasks")
        return {"seconds": create_s, "per_s": n / create_s,
                "redis_s": delta.get("evalsha", (0, 0))[1] / 1e6}  # fmt: skip

    def route_steps(
        self,
        runner: asyncio.Runner,
        api: httpx.Client,
        server: Server,
        org: dict[str, str],
        projects: tuple[str, str],
        bodies: list[bytes],
    ) -> tuple[dict[str, float], list[float], dict[str, float]]:
        """The bulk route's steps timed in-process, body by body, as ``submit_tasks`` runs
        them: parse, validate, create (the real board: :class:`TimedBoard`), encode the
        response; each body also POSTed through the API (into the second project) right before
        or after, taking turns, so that the steps and the whole request see the same machine.
        Seconds per step in all, for each body the request's seconds minus its steps', and the
        CPU-seconds of the server on the requests and of this process on the steps (the same
        work but for HTTP and auth, less disturbed than wall time by a busy machine)."""
        route_project, http_project = projects
        if len(bodies) < 2:
            fail("the route's steps need two request bodies at least (a spread to compare)")
        task_type = get_task_type("moderation")
        seconds = dict.fromkeys(
            ("parse JSON", "validate items", "create_tasks", "encode response"), 0.0
        )
        rests: list[float] = []
        cpu = {"server": 0.0, "steps": 0.0}
        created = posted = 0

        async def connect() -> tuple[aioredis.Redis, TimedBoard]:
            client = aioredis.Redis.from_url(self.redis_url, decode_responses=True)
            return client, TimedBoard(AsyncBoard(client, keys=self.keys))

        async def steps(body: bytes) -> int:
            t0 = time.perf_counter()
            items = parse_json_batch(body)
            t1 = time.perf_counter()
            creating = timed.seconds
            # In the server's steps (Settings.bulk_chunk_tasks, the default the servers run).
            outcome = await submit_batch(
                timed, route_project, task_type, items, chunk=Settings().bulk_chunk_tasks
            )
            t2 = time.perf_counter()
            json.dumps(
                outcome.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")
            ).encode()  # what the route's JSONResponse does
            t3 = time.perf_counter()
            creating = timed.seconds - creating
            seconds["parse JSON"] += t1 - t0
            seconds["validate items"] += t2 - t1 - creating
            seconds["create_tasks"] += creating
            seconds["encode response"] += t3 - t2
            return outcome.accepted

        client, timed = runner.run(connect())
        try:
            wait_quiet(self.quiet_wait)
            for index, body in enumerate(bodies):
                steps_before, request_s = sum(seconds.values()), 0.0
                for part in ("http", "steps") if index % 2 == 0 else ("steps", "http"):
                    if part == "steps":
                        own = time.process_time()
                        created += runner.run(steps(body))
                        cpu["steps"] += time.process_time() - own
                        continue
                    served, start = server.cpu_seconds(), time.perf_counter()
                    posted += self.submit_tasks(api, org, http_project, body, JSON_HEADERS)
                    request_s = time.perf_counter() - start
                    cpu["server"] += server.cpu_seconds() - served
                rests.append(request_s - (sum(seconds.values()) - steps_before))
        finally:
            runner.run(client.aclose())
        n = self.plan.bulk_tasks
        if created != n or posted != n:
            fail(f"the route's steps created {created} and the API {posted} of {n} tasks")
        return seconds, rests, cpu

    def cleanup(self) -> None:
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=f"{self.prefix}*", count=1_000):
            batch.append(key)
            if len(batch) >= 1_000:
                self.client.unlink(*batch)
                batch.clear()
        if batch:
            self.client.unlink(*batch)

    def close(self) -> None:
        self.client.close()
        self.bulk.close()


# -- report ----------------------------------------------------------------------------------


def environment(client: redis.Redis, binary: str | None) -> dict[str, Any]:
    packages = (
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "pydantic",
        "httpx",
        "redis",
    )
    return {
        "redis_version": client.info("server").get("redis_version"),
        "redis_binary": binary or "(external, --redis-url)",
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "hiredis": HIREDIS_AVAILABLE,
        **{name: version(name) for name in packages},
    }


def server_config(servers: dict[str, Server]) -> dict[str, Any]:
    """What the server processes actually run, read off /proc: uvicorn's ``auto`` choices."""
    return {
        side: {
            "pid": s.pid,
            "uvloop": s.loaded("uvloop/loop"),
            "httptools": s.loaded("httptools/parser"),
        }
        for side, s in servers.items()
    }


def print_cycles(c: dict[str, Any], cpus: int) -> None:
    print(
        f"   client: {c['client']}, {c['client_procs']} process(es), {c['concurrency']} cycles "
        f"in flight"
    )
    print(
        f"   {'server':<14}{'cycles/s':>10}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}"
        f"{'claim p50':>11}{'submit p50':>12}{'server CPU':>12}{'client CPU':>12}"
    )
    for side, name in (("ruche", "Ruche API"), ("bare", "bare FastAPI")):
        row = c["sides"][side]
        print(
            f"   {name:<14}{row['cycles_per_s']:>10,.0f}{row['p50_ms']:>8.2f}"
            f"{row['p90_ms']:>8.2f}{row['p99_ms']:>8.2f}{row['claim_p50_ms']:>11.2f}"
            f"{row['submit_p50_ms']:>12.2f}{row['server_cpu_us_per_cycle']:>9,.0f} us"
            f"{row['client_cpu_us_per_cycle']:>9,.0f} us"
        )
    print(
        f"   CPU busy, CPU-seconds per wall-second ({cpus} usable CPUs; bench: server + Redis + "
        "clients; others: the rest of the machine):"
    )
    print(
        f"   {'server':<14}{'server':>8}{'redis':>8}{'client/proc':>13}{'bench':>7}"
        f"{'others':>8}  client saturated (>= {SATURATED})?"
    )
    for side, name in (("ruche", "Ruche API"), ("bare", "bare FastAPI")):
        row = c["sides"][side]
        print(
            f"   {name:<14}{row['server_cpu_busy']:>8.2f}{row['redis_cpu_busy']:>8.2f}"
            f"{row['client_cpu_busy_per_proc']:>13.2f}{row['bench_cpu_busy']:>7.2f}"
            f"{row['other_cpu_busy']:>8.2f}"
            f"  {'YES: this row measures the client' if row['client_saturated'] else 'no'}"
        )
    noisy = sum(c["sides"][side]["rounds_not_quiet"] for side in SIDES)
    waited = sum(c["sides"][side]["quiet_wait_s"] for side in SIDES)
    print(
        f"   (waited {waited:.0f} s in all for a quiet machine before rounds; "
        f"{noisy} of {2 * c['rounds']} rounds started with the machine still busy)"
    )
    ratio = c["ratio_cycles_ruche_to_bare"]
    print(
        f"   => ratio Ruche/bare (cycles/s) = {ratio:.2f}  (aim >= 0.5: "
        f"{'met' if ratio >= 0.5 else 'NOT met'}); server CPU per cycle bare/Ruche = "
        f"{c['ratio_server_cpu_bare_to_ruche']:.2f} (the ratio if both were CPU-bound)"
    )


def print_report(res: dict[str, Any]) -> None:
    env = res["env"]
    print(f"Ruche API benchmark ({res['mode']} run)")
    print(f"  redis-server {env['redis_version']}, {env['redis_binary']}")
    print(f"  CPUs: {env['cpu_count']} ({env['cpu_affinity']} usable), {env['cpu_model']}")
    print(
        f"  Python {env['python']}, FastAPI {env['fastapi']}, Starlette {env['starlette']}, "
        f"uvicorn {env['uvicorn']}, uvloop {env['uvloop']}, httptools {env['httptools']}, "
        f"pydantic {env['pydantic']}, redis-py {env['redis']} (hiredis {env['hiredis']}), "
        f"httpx {env['httpx']} (client)"
    )
    cfg = res["server_config"]
    print(
        "  servers: `python -m ruche api` and `python -m bench.bare_app` (the same ruche.cli "
        "code path, so the same uvicorn.run arguments and logging), one uvicorn worker "
        "process each;"
    )
    print(
        f"  mapped in ruche/bare: uvloop {cfg['ruche']['uvloop']}/{cfg['bare']['uvloop']}, "
        f"httptools {cfg['ruche']['httptools']}/{cfg['bare']['httptools']}; log lines written "
        f"(access log included): {res['server_log_lines']['ruche']:,}/"
        f"{res['server_log_lines']['bare']:,}"
    )
    print()

    runs = res["cycles"]
    first = runs[0]
    print(
        f"1. claim->submit cycles through one uvicorn worker: {first['cycles']:,} timed cycles "
        f"per server and client in {first['rounds']} interleaved rounds, after "
        f"{first['warmup']:,} warm-up;"
    )
    print(
        f"   {first['volunteers']} volunteers, each cycle a claim and a submit by one of them; "
        "moderation project, redundancy 3"
    )
    for c in runs:
        print_cycles(c, env["cpu_affinity"])
    ruche = first["sides"]["ruche"]
    bare = first["sides"]["bare"]
    print(
        f"   where a Ruche cycle's time goes ({first['client']} client): API process CPU "
        f"{ruche['server_cpu_us_per_cycle']:,.0f} us (bare: "
        f"{bare['server_cpu_us_per_cycle']:,.0f} us, so Ruche's own code ~"
        f"{ruche['server_cpu_us_per_cycle'] - bare['server_cpu_us_per_cycle']:,.0f} us), "
        f"Redis CPU {ruche['redis_cpu_us_per_cycle']:,.0f} us "
        f"(of which commands {ruche['redis_usec_per_cycle']:,.0f} us); threads in the server "
        f"process after a round: {ruche['server_threads']} (bare: {bare['server_threads']})"
    )
    commands = ruche["redis_commands_per_cycle"]
    calls = sum(v["calls"] for v in commands.values())
    print(
        f"   Redis commands per cycle, INFO commandstats ({calls:.1f} per cycle, those run "
        "inside scripts included):"
    )
    print(f"   {'command':<18}{'calls/cycle':>12}{'us/call':>9}{'us/cycle':>10}")
    for name, v in commands.items():
        print(
            f"   {name:<18}{v['calls']:>12.2f}{v['usec_per_call']:>9.1f}"
            f"{v['usec_per_cycle']:>10.1f}"
        )
    print()

    b = res["bulk"]
    print(
        f"2. Bulk submission of {b['tasks']:,} moderation tasks ({b['payload_bytes']}-byte "
        f"payloads): {b['requests']} sequential requests of {b['batch']:,}"
    )
    print(
        f"   {'path':<42}{'tasks/s':>10}{'seconds':>9}{'API CPU s':>11}{'Redis s':>9}"
        f"{'req ms':>8}{'body MB':>9}{'others':>8}"
    )
    for fmt, name in (
        ("json", 'API, JSON {"tasks": [...]}'),
        ("ndjson", "API, NDJSON"),
        ("json_ext", "API, JSON, with external_id"),
    ):
        row = b[fmt]
        print(
            f"   {name:<42}{row['per_s']:>10,.0f}{row['seconds']:>9.2f}"
            f"{row['server_cpu_s']:>11.2f}{row['redis_evalsha_s']:>9.2f}"
            f"{row['request_ms_mean']:>8.0f}{row['body_bytes'] / 1e6:>9.1f}"
            f"{row['other_cpu_busy']:>8.2f}"
        )
    for key, name in (
        ("board", "Board.create_tasks in-process (no HTTP)"),
        ("raw_hset", "raw pipelined HSET (one pipeline)"),
    ):
        row = b[key]
        print(
            f"   {name:<42}{row['per_s']:>10,.0f}{row['seconds']:>9.2f}{'':>11}"
            f"{row['redis_s']:>9.2f}"
        )
    print(
        f"   => ratio API/raw HSET (tasks/s): JSON {b['ratio_json_to_raw_hset']:.2f}, NDJSON "
        f"{b['ratio_ndjson_to_raw_hset']:.2f}, JSON+external_id "
        f"{b['ratio_json_ext_to_raw_hset']:.2f}; Board.create_tasks "
        f"{b['ratio_board_to_raw_hset']:.2f}"
    )
    parts = b["in_process"]
    print(
        f"   where an API JSON task's time goes: {b['in_process_http_us']:.1f} us per task "
        "(the same bodies POSTed again, alongside) = (the route's steps, timed in-process) "
        + " + ".join(f"{name} {us:.1f}" for name, us in parts.items())
    )
    rest, noise = parts["the rest (HTTP, auth, ...)"], b["in_process_rest_stderr_us"]
    print(
        f"   (the rest is by difference, body by body: {rest:.1f} +- {noise:.1f} us, its "
        "standard error over the bodies"
        + ("; within this run's noise of zero)" if abs(rest) <= 2 * noise else ")")
    )
    cpu = b["in_process_cpu_us"]
    print(
        f"   (CPU per task: the API process {cpu['server']:.1f} us on those requests, this "
        f"process {cpu['steps']:.1f} us on the steps; Redis's work is the same for both)"
    )
    print(
        "   (Redis s: time inside Redis running the create_tasks scripts or the HSETs, INFO "
        "commandstats; request bodies encoded before timing; others: CPU-seconds per "
        "wall-second that processes outside the benchmark used meanwhile)"
    )
    print()
    others = [side["other_cpu_busy"] for c in runs for side in c["sides"].values()]
    others += [b[fmt]["other_cpu_busy"] for fmt in ("json", "ndjson", "json_ext")]
    if max(others) > NOISY:
        print(
            f"WARNING: processes outside the benchmark kept up to {max(others):.2f} CPUs busy "
            "while it measured: its numbers are disturbed; run it again on a quiet machine."
        )
    print(f"elapsed {res['elapsed_s']:.1f} s")


# -- main ------------------------------------------------------------------------------------


def run(
    url: str,
    binary: str | None,
    plan: Plan,
    mode: str,
    kinds: list[str],
    client_procs: int,
    quiet_wait: float,
) -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ruche-bench-api-") as log_dir:
        bench = Bench(url, plan, client_procs, quiet_wait, Path(log_dir))
        try:
            env = environment(bench.client, binary)
            with ExitStack() as stack:
                servers = {
                    "ruche": stack.enter_context(
                        running(Server("ruche", ["ruche", "api"], bench.env(), Path(log_dir)))
                    ),
                    "bare": stack.enter_context(
                        running(Server("bare", ["bench.bare_app"], bench.env(), Path(log_dir)))
                    ),
                }
                res: dict[str, Any] = {
                    "env": env,
                    "mode": mode,
                    "quick": mode == "quick",
                    "plan": asdict(plan),
                    "server_config": server_config(servers),
                }
                with httpx.Client(base_url=servers["ruche"].url, timeout=300.0) as api:
                    print(
                        "seeding an organisation, a project and volunteers ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    org, _, tokens = bench.seed(api, len(kinds))
                    print("measuring claim->submit cycles ...", file=sys.stderr, flush=True)
                    res["cycles"] = [bench.cycles(kind, servers, tokens) for kind in kinds]
                    print("measuring bulk submission ...", file=sys.stderr, flush=True)
                    res["bulk"] = bench.bulk_submission(api, servers["ruche"], org)
                res["server_log_lines"] = {side: servers[side].log_lines() for side in SIDES}
            res["elapsed_s"] = time.monotonic() - started
            print_report(res)
            print(json.dumps(res, sort_keys=True))
            require_finite(res, "bench/api.py")
        finally:
            if binary is None:  # someone else's server: leave it as we found it
                bench.cleanup()
            bench.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="smaller sizes")
    sizes.add_argument("--smoke", action="store_true",
                       help="correctness only: tiny sizes, no wait for quiet CPUs")  # fmt: skip
    parser.add_argument("--redis-url", help="use this Redis instead of starting a throw-away one")
    parser.add_argument(
        "--clients",
        default=",".join(CLIENT_KINDS),
        metavar="KINDS",
        help="load generators to run, in order, comma-separated: raw (a minimal "
        "asyncio HTTP/1.1 client), httpx (httpx.AsyncClient); default: "
        "%(default)s",
    )
    parser.add_argument(
        "--client-procs",
        type=int,
        default=1,
        metavar="N",
        help="processes per load generator (default 1); they share the cycles "
        "in flight and the volunteers",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        metavar="S",
        help="before each timed round, wait up to S seconds (default 20, "
        "0 with --smoke; 0: don't wait) for other processes to leave the CPUs "
        f"alone (under {NOISY} CPUs busy)",
    )
    args = parser.parse_args(argv)
    kinds = [kind.strip() for kind in args.clients.split(",") if kind.strip()]
    if not kinds or set(kinds) - set(CLIENT_KINDS):
        parser.error(f"--clients: choose among {', '.join(CLIENT_KINDS)}")
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    plan = {"smoke": SMOKE, "quick": QUICK, "full": FULL}[mode]
    quiet_wait = args.quiet_wait if args.quiet_wait is not None else 0.0 if args.smoke else 20.0
    if args.redis_url:
        run(args.redis_url, None, plan, mode, kinds, args.client_procs, quiet_wait)
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="ruche-bench-") as data_dir,
        RedisServer(Path(data_dir), appendonly=False) as server,
    ):
        run(server.url, server.binary, plan, mode, kinds, args.client_procs, quiet_wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
