"""Benchmark of the event pipeline (relay -> dramatiq actors -> signed webhook), in one run.

Prints a readable report and, last, one JSON line holding every number:

1. submission-to-webhook latency (p50/p99) with ONE worker process: an NGO submits moderation
   tasks through the API, three volunteers answer each one alike through the API, and the time
   from sending the last answer to the webhook's arrival at a real local HTTP receiver is
   measured, one task at a time (the pipeline idles between tasks, as on a quiet day). Split in
   two: last answer -> result published (``decided_at``: relay, ``tasks.aggregate``) and result
   published -> webhook arrival (relay, ``results.deliver``, the HTTP POST).
2. results/s through the pipeline with the answers already in: the worker is stopped, N tasks
   are answered (three agreeing answers each, written through the board in-process) and the
   relay turns every event into messages; then the worker is started and the rate at which
   results reach the receiver (first to last arrival) is measured. Each result takes six
   messages (one ``tasks.aggregate``, one ``results.deliver``, four ``stats.record``).
3. the drain rate of a no-op dramatiq actor on the same broker, by the same worker command
   (``bench.pipeline:worker_setup``: Ruche's actors plus the no-op one) with the same threads:
   M messages enqueued while the worker is stopped, then drained (first to last ack). The
   ratios pipeline/no-op, in results/s and in messages/s, come last.

A task the pipeline sends to review instead of deciding it sends no webhook: such tasks are
counted (with the review reason) and left out of the figures, and the report says how many there
were; every wait is bounded. The run fails (non-zero exit) when the figures cannot be trusted: a
task neither decided nor in review once the queues are empty, a decided task whose webhook never
came, a number that is not finite.

Usage::

    .venv/bin/python bench/pipeline.py            # full run (~2-3 min on a quiet 2-CPU machine)
    .venv/bin/python bench/pipeline.py --quick    # smaller sizes
    .venv/bin/python bench/pipeline.py --smoke    # correctness only, tiny sizes (~20 s)
    .venv/bin/python bench/pipeline.py --logs DIR # keep the processes' logs in DIR
    .venv/bin/python bench/pipeline.py --rabbitmq # the broker on RabbitMQ: latency only
    .venv/bin/python bench/pipeline.py --cluster  # the board on a Redis Cluster: latency only
    .venv/bin/python bench/pipeline.py --cluster --wait-replicas 0  # no WAIT: what it costs

With ``--rabbitmq`` the broker is the RabbitMQ of ``RUCHE_TEST_AMQP_URL`` (127.0.0.1:5672 by
default, as the tests use it), its queues behind a prefix of the run's own and deleted at the
end; only part 1 runs (parts 2 and 3 count messages in the Redis broker's keys). With
``--cluster`` the board is on a Redis Cluster of 3 masters and 3 replicas (started as the tests
start theirs), the broker on the throw-away ``redis-server`` (or RabbitMQ); only part 1 too.

A throw-away ``redis-server`` is started (no persistence), and with it the API (``ruche api``),
the relay (``ruche relay``) and the worker (one process, ``RUCHE_WORKER_THREADS`` threads,
4 by default), each a child process with ``RUCHE_*`` variables of its own (inherited ones are
dropped), logging JSON lines at INFO (the default) to files in a temporary directory (or in
``--logs``). The scheduler is not started: nothing here is retried. Other processes on the
machine skew every number: the report shows the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

import dramatiq
import httpx
import redis

from core.board.runner import Board, Claimed
from core.ids import new_volunteer_id
from core.redis.keys import Keys
from core.redis.server import RedisServer, free_port
from core.settings import Settings
from workers.broker import IDLE_POLL_MS, build_broker

REPO = Path(__file__).resolve().parent.parent
NOOP, NOOP_QUEUE = "bench.noop", "bench_noop"
ADMIN_TOKEN = "rk_admin_" + "bench" * 8
THREADS = 4
REDUNDANCY = 3
ANSWER = {"label": "ok"}
START_TIMEOUT_S = 30.0
WAIT_S = 120.0
POLL_S = 0.25  # how often a wait for a webhook asks the board whether the task went elsewhere
LAST_POSTS_S = 10.0  # once the queues are empty, for the webhooks already sent to land
PIPELINE_QUEUES = ("tasks", "reviews", "stats", "results", "system")
MESSAGES_PER_RESULT = 6


@dataclass(frozen=True, slots=True)
class Plan:
    latency_tasks: int  # tasks timed one at a time
    drain_results: int  # results in the throughput drain
    noop_messages: int  # no-op messages in the baseline drain


FULL = Plan(150, 2_000, 20_000)
QUICK = Plan(20, 200, 2_000)
SMOKE = Plan(3, 20, 200)
#: Task states from which the pipeline has not taken its step yet (TASK_STATES).
UNDECIDED = ("open", "collecting", "aggregating")


def worker_setup() -> dramatiq.Broker:
    """The worker processes' setup (``dramatiq bench.pipeline:worker_setup``): Ruche's own
    (``workers.app.setup``), plus an actor that does nothing, the baseline."""
    from workers.app import setup

    broker = setup()
    dramatiq.actor(actor_name=NOOP, queue_name=NOOP_QUEUE, max_retries=0)(_noop)
    return broker


def _noop() -> None:
    return None


# -- small helpers ---------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    raise SystemExit(f"bench/pipeline.py: {message}")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ms_of(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


# -- the webhook receiver --------------------------------------------------------------------


class Receiver:
    """A real HTTP server on a loopback port; keeps each task's first arrival."""

    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, str], tuple[float, float]] = {}  # -> (at s, decided ms)
        self.counts: Counter[str] = Counter()  # project id -> tasks arrived
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                at = time.time()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
                data = json.loads(body)["data"]
                key = (data["project_id"], data["task_id"])
                with receiver.changed:
                    if key not in receiver.arrivals:
                        receiver.arrivals[key] = (at, ms_of(data["decided_at"]))
                        receiver.counts[key[0]] += 1
                        receiver.changed.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def reached(self, project_id: str, count: int, timeout: float) -> bool:
        """Whether ``count`` webhooks of the project came, waiting at most ``timeout``."""
        with self.changed:
            return self.changed.wait_for(lambda: self.counts[project_id] >= count, timeout)

    def wait_for(self, project_id: str, count: int, timeout: float = WAIT_S) -> None:
        if not self.reached(project_id, count, timeout):
            fail(f"timed out waiting for {count} webhooks of {project_id} "
                 f"({self.counts[project_id]} came)")  # fmt: skip

    def wait_task(
        self, key: tuple[str, str], elsewhere: Callable[[], bool], timeout: float = WAIT_S
    ) -> bool:
        """Wait for the task's webhook: True once it came, False once ``elsewhere()`` says it
        will not (asked every POLL_S, outside the lock: the arrival time is taken on receipt)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.changed:
                left = deadline - time.monotonic()
                if self.changed.wait_for(lambda: key in self.arrivals, min(POLL_S, left)):
                    return True
            if elsewhere():
                return False
            if left <= POLL_S:
                fail(f"timed out waiting for the webhook of {key[1]} (project {key[0]})")

    def of(self, project_id: str) -> list[tuple[float, float]]:
        with self.changed:
            return [v for (pid, _), v in self.arrivals.items() if pid == project_id]

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        self.thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


# -- the processes ---------------------------------------------------------------------------


class Processes:
    """Ruche's processes for the run, each in a session of its own, logging to ``logs``."""

    def __init__(self, redis_url: str, logs: Path, broker: dict[str, str] | None = None) -> None:
        # Here, not at the top: the workers import this module as bench.pipeline (see main).
        from unlimited import UNLIMITED

        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RUCHE_")}
        self.env.update(
            RUCHE_REDIS_URL=redis_url,
            RUCHE_ADMIN_TOKEN=ADMIN_TOKEN,
            RUCHE_WEBHOOK_ALLOW_PRIVATE="1",
            RUCHE_LOG_FORMAT="json",
            # As `ruche worker` sets it (workers.broker.IDLE_POLL_MS).
            dramatiq_worker_timeout=str(IDLE_POLL_MS),
            **UNLIMITED,
        )
        self.env.update(broker or {})  # --rabbitmq, --cluster: the broker's and board's own
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.started = 0

    def start(self, name: str, argv: list[str]) -> Path:
        self.started += 1
        log = self.logs / f"{self.started:02d}-{name}.log"
        with log.open("wb") as sink:
            self.running[name] = subprocess.Popen(
                argv, cwd=REPO, env=self.env, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        return log

    def start_worker(self) -> Path:
        """One worker process, as ``ruche worker --processes 1`` runs it, plus the no-op actor."""
        return self.start("worker", [
            sys.executable, "-m", "dramatiq", "bench.pipeline:worker_setup",
            "--processes", "1", "--threads", str(THREADS),
            "--worker-shutdown-timeout", "10000", "--skip-logging",
        ])  # fmt: skip

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def start_api(processes: Processes) -> str:
    port = free_port()
    log = processes.start("api", [sys.executable, "-m", "ruche", "api", "--port", str(port)])
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if processes.running["api"].poll() is not None:
            fail(f"the API exited; see {log}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return base_url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            fail(f"the API did not answer; see {log}")
        time.sleep(0.1)


# -- the broker and the relay, seen from Redis -------------------------------------------------


def queued(client: redis.Redis, queues: Sequence[str]) -> int:
    """Messages enqueued and not acknowledged yet (their bodies), over ``queues`` and their
    delay queues."""
    names = [q for queue in queues for q in (queue, f"{queue}.DQ")]
    return sum(int(client.hlen(f"ruche:dramatiq:{name}.msgs")) for name in names)


def relay_caught_up(client: redis.Redis, keys: Keys, project_id: str) -> bool:
    """Whether the relay dispatched and acknowledged every event of the project's stream."""
    stream = keys.project(project_id).events
    last = client.xinfo_stream(stream)["last-generated-id"]
    for group in client.xinfo_groups(stream):
        if group["name"] == "relay":
            return bool(group["last-delivered-id"] == last and int(group["pending"]) == 0)
    return False


def processed_lines(log: Path) -> int:
    return sum(1 for line in log.open() if '"message.processed"' in line)


# -- the measurements ------------------------------------------------------------------------


@dataclass
class Ngo:
    http: httpx.Client
    headers: dict[str, str]
    volunteers: list[dict[str, str]]

    def counts(self, project_id: str) -> dict[str, int]:
        """The project's tasks per state, as the NGO reads them."""
        read = self.http.get(f"/v1/projects/{project_id}", headers=self.headers)
        if read.status_code != 200:
            fail(f"project unreadable: {read.status_code} {read.text}")
        return {state: int(n) for state, n in read.json()["counts"].items()}

    def no_webhook(self, project_id: str, task_id: str) -> bool:
        """Whether the task went somewhere no webhook comes from (review, mostly)."""
        read = self.http.get(f"/v1/projects/{project_id}/tasks/{task_id}", headers=self.headers)
        if read.status_code != 200:
            fail(f"task unreadable: {read.status_code} {read.text}")
        return read.json()["state"] not in (*UNDECIDED, "resolved")

    def project(self, name: str, tasks: int) -> str:
        spec = {"name": name, "task_type": "moderation", "redundancy": REDUNDANCY,
                "instructions": "Flag rule breakers."}  # fmt: skip
        made = self.http.post("/v1/projects", json=spec, headers=self.headers)
        if made.status_code != 201:
            fail(f"project refused: {made.text}")
        project_id = str(made.json()["id"])
        for start in range(0, tasks, 1000):
            batch = [{"external_id": f"{name}-{n}",
                      "payload": {"content": f"Post {n}: hello all!", "labels": ["ok", "spam"]}}
                     for n in range(start, min(tasks, start + 1000))]  # fmt: skip
            sent = self.http.post(
                f"/v1/projects/{project_id}/tasks", json={"tasks": batch}, headers=self.headers
            )
            if sent.status_code != 200 or sent.json()["accepted"] != len(batch):
                fail(f"tasks refused: {sent.text}")
        return project_id


def set_up(http: httpx.Client, receiver: Receiver) -> Ngo:
    org = http.post("/v1/orgs", json={"name": "Bench NGO", "contact_email": "ops@example.org"},
                    headers=bearer(ADMIN_TOKEN))  # fmt: skip
    if org.status_code != 201:
        fail(f"organisation refused: {org.text}")
    headers = bearer(org.json()["api_key"])
    hook = http.put("/v1/webhook", json={"url": receiver.url}, headers=headers)
    if hook.status_code != 200:
        fail(f"webhook refused: {hook.text}")
    volunteers = []
    for i in range(REDUNDANCY):
        signed = http.post("/v1/volunteers", json={"display_name": f"V{i}", "languages": ["en"]})
        token = bearer(signed.json()["token"])
        http.post("/v1/me/charter", json={"accept": True}, headers=token)
        volunteers.append(token)
    return Ngo(http, headers, volunteers)


def review_reasons(client: redis.Redis, project_id: str) -> dict[str, int]:
    """The project's tasks waiting for a reviewer, by the reason they were sent there."""
    pk = Keys(os.environ.get("RUCHE_KEY_PREFIX", "ruche:")).project(project_id)
    waiting = client.zrange(pk.review_queue, 0, -1)
    records = client.hmget(pk.tasks, waiting) if waiting else []
    return dict(Counter(str(json.loads(r).get("review", "?")) for r in records if r))


def measure_latency(
    ngo: Ngo, receiver: Receiver, client: redis.Redis, tasks: int
) -> dict[str, Any]:
    """One task at a time: two answers, then the third timed until its webhook arrives (or the
    task goes to review: then it is counted, not timed)."""
    project_id = ngo.project("latency", tasks)
    total, decide, deliver = [], [], []
    reviewed = 0
    for _ in range(tasks):
        claimed = []
        for volunteer in ngo.volunteers:
            claim = ngo.http.post(
                "/v1/assignments", json={"project_id": project_id}, headers=volunteer
            )
            if claim.status_code != 201:
                fail(f"claim refused: {claim.status_code} {claim.text}")
            claimed.append((claim.json()["id"], claim.json()["task"]["id"]))
            if len(claimed) < REDUNDANCY:
                submit(ngo.http, claimed[-1][0], volunteer)
        if len({task for _, task in claimed}) != 1:
            fail("the volunteers were not served the same task")
        task_id = claimed[-1][1]
        sent_at = time.time()
        submit(ngo.http, claimed[-1][0], ngo.volunteers[-1])
        elsewhere = partial(ngo.no_webhook, project_id, task_id)
        if not receiver.wait_task((project_id, task_id), elsewhere):
            reviewed += 1
            continue
        at, decided_ms = receiver.arrivals[project_id, task_id]
        total.append((at - sent_at) * 1000)
        decide.append(decided_ms - sent_at * 1000)
        deliver.append(at * 1000 - decided_ms)
    if not total:
        fail(f"none of the {tasks} latency tasks was decided: nothing was timed")
    return {
        "tasks": tasks,
        "timed": len(total),
        "not_decided": reviewed,
        "review_reasons": review_reasons(client, project_id),
        "p50_ms": percentile(total, 0.5),
        "p99_ms": percentile(total, 0.99),
        "max_ms": max(total),
        "decide_p50_ms": percentile(decide, 0.5),
        "decide_p99_ms": percentile(decide, 0.99),
        "deliver_p50_ms": percentile(deliver, 0.5),
        "deliver_p99_ms": percentile(deliver, 0.99),
    }


def submit(http: httpx.Client, assignment_id: str, volunteer: dict[str, str]) -> None:
    done = http.post(
        f"/v1/assignments/{assignment_id}/submit",
        json={"answer": ANSWER, "seconds_spent": 30},
        headers=volunteer,
    )
    if done.status_code != 202:
        fail(f"submission refused: {done.status_code} {done.text}")


def measure_drain(
    ngo: Ngo, receiver: Receiver, processes: Processes, client: redis.Redis, results: int
) -> dict[str, Any]:
    """Answers in first, worker stopped; then the worker starts and the results flow. Waits
    (bounded) until every task is decided or sent to review and the queues are empty; the
    figures count the decided tasks, whose webhooks must all have come."""
    project_id = ngo.project("drain", results)
    board = Board(client, keys=Keys())
    volunteers = [new_volunteer_id() for _ in range(REDUNDANCY)]
    for _ in range(results):
        for volunteer in volunteers:
            lease = board.run(board.ops.claim(project_id, volunteer))
            if not isinstance(lease, Claimed):
                fail(f"nothing to claim: {lease}")
            board.run(board.ops.submit(lease.assignment_id, volunteer, ANSWER, 30))
    wait_until(lambda: relay_caught_up(client, board.keys, project_id), "the relay")
    backlog = queued(client, PIPELINE_QUEUES)

    def undecided() -> int:
        counts = board.run(board.ops.counts(project_id))
        return sum(counts.get(state, 0) for state in UNDECIDED)

    started = time.time()
    log = processes.start_worker()
    deadline = time.monotonic() + WAIT_S + results / 10
    # Every webhook came, or the board has no undecided task left (some went to review).
    while not receiver.reached(project_id, results, POLL_S) and undecided():
        if time.monotonic() > deadline:
            fail(f"{undecided()} of {results} drain tasks still undecided after "
                 f"{WAIT_S + results / 10:.0f} s")  # fmt: skip
    wait_until(lambda: queued(client, PIPELINE_QUEUES) == 0, "the last messages")
    counts = ngo.counts(project_id)
    # The queues are empty: every decided task's webhook was sent; let the last POSTs land.
    receiver.reached(project_id, counts["resolved"], LAST_POSTS_S)
    arrivals = sorted(at for at, _ in receiver.of(project_id))
    messages = processed_lines(log)
    processes.stop("worker")
    if len(arrivals) != counts["resolved"]:
        fail(f"{len(arrivals)} webhooks came for {counts['resolved']} decided tasks")
    if sum(counts.values()) != results or counts["resolved"] + counts["in_review"] != results:
        fail(f"the drain's {results} tasks ended as {counts}")
    if len(arrivals) < 2:
        fail(f"only {len(arrivals)} of {results} drain tasks were decided: no rate to measure")
    span = arrivals[-1] - arrivals[0]
    decided = len(arrivals)
    return {
        "results": results,
        "decided": decided,
        "not_decided": results - decided,
        "review_reasons": review_reasons(client, project_id),
        "counts": counts,
        "backlog_messages": backlog,
        "messages": messages,
        "results_per_s": (decided - 1) / span,
        "messages_per_s": messages * (decided - 1) / decided / span,
        "results_per_s_with_start": decided / (arrivals[-1] - started),
    }


def measure_noop(
    processes: Processes, client: redis.Redis, redis_url: str, messages: int
) -> dict[str, Any]:
    """M no-op messages enqueued while no worker runs, then drained by one worker."""
    sender = build_broker(Settings(redis_url=redis_url))
    for _ in range(messages):
        sender.enqueue(dramatiq.Message(
            queue_name=NOOP_QUEUE, actor_name=NOOP, args=(), kwargs={}, options={}
        ))  # fmt: skip
    key = f"ruche:dramatiq:{NOOP_QUEUE}.msgs"
    if int(client.hlen(key)) != messages:
        fail("the no-op messages were not all enqueued")
    processes.start_worker()
    wait_until(lambda: int(client.hlen(key)) < messages, "the first no-op ack")
    first_at, first_left = time.time(), int(client.hlen(key))
    wait_until(lambda: int(client.hlen(key)) == 0, "the no-op drain")
    span = time.time() - first_at
    processes.stop("worker")
    sender.close()
    return {"messages": messages, "messages_per_s": first_left / span}


# -- report ----------------------------------------------------------------------------------


def print_report(res: dict[str, Any]) -> None:
    lat, drain, noop = res["latency"], res["drain"], res["noop"]
    print()
    print(f"Ruche event pipeline benchmark ({res['mode']} run)")
    print(f"  {res['env']['cpus']} CPUs, Python {res['env']['python']}, one worker process "
          f"with {THREADS} threads; load average {res['env']['load_before']:.2f} before, "
          f"{res['env']['load_after']:.2f} after")  # fmt: skip
    print()
    print(f"1. submission -> webhook latency, one task at a time ({lat['timed']} tasks timed)")
    print(f"   last answer sent -> webhook arrived  p50 {lat['p50_ms']:8.1f} ms   "
          f"p99 {lat['p99_ms']:8.1f} ms   max {lat['max_ms']:.1f} ms")  # fmt: skip
    print(f"     of which answer -> result published  p50 {lat['decide_p50_ms']:6.1f} ms   "
          f"p99 {lat['decide_p99_ms']:6.1f} ms")  # fmt: skip
    print(f"     and result published -> arrival      p50 {lat['deliver_p50_ms']:6.1f} ms   "
          f"p99 {lat['deliver_p99_ms']:6.1f} ms")  # fmt: skip
    print()
    of = f" of {drain['results']} tasks" if drain["not_decided"] else ""
    print(f"2. throughput, answers already in ({drain['decided']} results{of}, "
          f"{drain['messages']} messages handled, {drain['backlog_messages']} of them waiting "
          f"when the worker started)")  # fmt: skip
    print(f"   pipeline           {drain['results_per_s']:8.1f} results/s  "
          f"({drain['messages_per_s']:.0f} messages/s; {drain['results_per_s_with_start']:.1f} "
          f"results/s counting the worker's start)")  # fmt: skip
    print(f"   no-op actor        {noop['messages_per_s']:8.1f} messages/s "
          f"({noop['messages']} messages, same worker command and broker)")  # fmt: skip
    print(f"   ratio results/s / no-op messages/s       {res['ratio_results']:.3f}")
    print(f"   ratio pipeline messages/s / no-op        {res['ratio_messages']:.3f}")
    print()
    for name, part, total in (("latency", lat, lat["tasks"]), ("drain", drain, drain["results"])):
        if part["not_decided"]:
            reasons = ", ".join(f"{why} {n}" for why, n in sorted(part["review_reasons"].items()))
            print(f"WARNING: {part['not_decided']} of the {total} {name} tasks went to review "
                  f"({reasons}) instead of being decided, with three volunteers who always "
                  "agree: no webhook for those, left out of the figures above (a quality "
                  "problem, not a pipeline one)")  # fmt: skip


def run(
    redis_url: str, logs: Path, plan: Plan, mode: str, broker: dict[str, str] | None = None
) -> dict[str, Any]:
    started = time.monotonic()
    env = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_before": os.getloadavg()[0],
        "broker": "rabbitmq" if "amqp" in (broker or {}).get("RUCHE_BROKER_URL", "") else "redis",
        "board": "cluster" if (broker or {}).get("RUCHE_REDIS_CLUSTER") else "redis",
        "wait_replicas": (broker or {}).get("RUCHE_REDIS_CLUSTER_WAIT_REPLICAS"),
    }
    processes = Processes(redis_url, logs, broker)
    client: redis.Redis
    if env["board"] == "cluster":
        from redis.cluster import RedisCluster

        board_url = processes.env["RUCHE_REDIS_URL"]
        client = RedisCluster.from_url(board_url, decode_responses=True)  # type: ignore[assignment]
    else:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
    receiver = Receiver()
    with ExitStack() as stack:
        stack.callback(client.close)
        stack.callback(processes.stop_all)
        stack.enter_context(receiver.running())
        base_url = start_api(processes)
        processes.start("relay", [sys.executable, "-m", "ruche", "relay"])
        processes.start_worker()
        http = stack.enter_context(httpx.Client(base_url=base_url, timeout=30))
        ngo = set_up(http, receiver)

        print("measuring submission -> webhook latency ...", file=sys.stderr, flush=True)
        latency = measure_latency(ngo, receiver, client, plan.latency_tasks)
        if broker:
            return latency_only(env, mode, latency, started)
        wait_until(lambda: queued(client, PIPELINE_QUEUES) == 0, "the latency run's messages")
        processes.stop("worker")

        print("measuring the pipeline's drain ...", file=sys.stderr, flush=True)
        drain = measure_drain(ngo, receiver, processes, client, plan.drain_results)
        print("measuring a no-op actor's drain ...", file=sys.stderr, flush=True)
        noop = measure_noop(processes, client, redis_url, plan.noop_messages)

    env["load_after"] = os.getloadavg()[0]
    res = {
        "env": env,
        "mode": mode,
        "quick": mode == "quick",
        "latency": latency,
        "drain": drain,
        "noop": noop,
        "ratio_results": drain["results_per_s"] / noop["messages_per_s"],
        "ratio_messages": drain["messages_per_s"] / noop["messages_per_s"],
        "elapsed_s": time.monotonic() - started,
    }
    print_report(res)
    print(json.dumps(res, sort_keys=True))
    # Imported here: the worker processes import this module as ``bench.pipeline``, where
    # bench/ itself is not on the path.
    from sanity import require_finite

    require_finite(res, "bench/pipeline.py")
    return res


def latency_only(
    env: dict[str, Any], mode: str, latency: dict[str, Any], started: float
) -> dict[str, Any]:
    """Part 1's report alone (the broker on RabbitMQ)."""
    env["load_after"] = os.getloadavg()[0]
    res = {"env": env, "mode": mode, "latency": latency, "elapsed_s": time.monotonic() - started}
    lat = latency
    wanted = env["wait_replicas"]
    waits = f", writes waiting for {wanted} replica(s)" if wanted is not None else ""
    print(f"\nRuche event pipeline benchmark ({mode} run, board on {env['board']}{waits}, "
          f"broker on {env['broker']}, latency only)")  # fmt: skip
    print(f"  {env['cpus']} CPUs, one worker process with {THREADS} threads; load average "
          f"{env['load_before']:.2f} before, {env['load_after']:.2f} after")  # fmt: skip
    print(f"1. last answer sent -> webhook arrived  p50 {lat['p50_ms']:8.1f} ms   "
          f"p99 {lat['p99_ms']:8.1f} ms   max {lat['max_ms']:.1f} ms")  # fmt: skip
    print(f"     of which answer -> result published  p50 {lat['decide_p50_ms']:6.1f} ms   "
          f"p99 {lat['decide_p99_ms']:6.1f} ms")  # fmt: skip
    print(json.dumps(res, sort_keys=True))
    from sanity import require_finite

    require_finite(res, "bench/pipeline.py")
    return res


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="smaller sizes")
    sizes.add_argument("--smoke", action="store_true", help="correctness only: tiny sizes")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this directory")
    parser.add_argument("--rabbitmq", action="store_true", help="the broker on RabbitMQ")
    parser.add_argument("--cluster", action="store_true", help="the board on a Redis Cluster")
    parser.add_argument(
        "--no-notify", action="store_true", help="with --cluster: no XADD notifications (the "
        "relay sleeps between rounds, the baseline of what they save)",
    )  # fmt: skip
    parser.add_argument(
        "--wait-replicas", type=int, default=1, help="with --cluster: the replicas every write "
        "waits for (RUCHE_REDIS_CLUSTER_WAIT_REPLICAS; 0, the baseline of what waiting costs)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    plan = {"smoke": SMOKE, "quick": QUICK, "full": FULL}[mode]
    with (
        tempfile.TemporaryDirectory(prefix="ruche-bench-") as tmp,
        RedisServer(Path(tmp) / "redis", appendonly=False) as server,
    ):
        logs = args.logs or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        if not args.rabbitmq and not args.cluster:
            run(server.url, logs, plan, mode)
            return 0
        sys.path.insert(0, str(REPO))
        from tests.support.rabbitmq import delete_queues, rabbitmq_url, unique_prefix
        from tests.support.redis_cluster import start_cluster

        settings = {"RUCHE_BROKER_URL": server.url}
        with ExitStack() as stack:
            if args.rabbitmq:
                url, prefix = rabbitmq_url(), unique_prefix()
                os.environ["RUCHE_KEY_PREFIX"] = prefix  # review_reasons reads the run's keys
                settings.update(RUCHE_BROKER_URL=url, RUCHE_KEY_PREFIX=prefix)
                stack.callback(delete_queues, url, prefix)
            if args.cluster:
                cluster = start_cluster(Path(tmp) / "cluster")
                stack.callback(cluster.stop)
                for node in cluster.nodes if args.no_notify else []:
                    node.client().config_set("notify-keyspace-events", "")
                settings.update(
                    RUCHE_REDIS_URL=cluster.url,
                    RUCHE_REDIS_CLUSTER="1",
                    RUCHE_REDIS_CLUSTER_NODES=cluster.node_list,
                    RUCHE_REDIS_CLUSTER_WAIT_REPLICAS=str(args.wait_replicas),
                )
            run(server.url, logs, plan, mode, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
