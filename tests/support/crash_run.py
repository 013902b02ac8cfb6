"""What the crash run (tests/e2e/test_crash_run.py) is made of.

- The content: tasks of the three built-in types, each with a known true answer, and what a
  volunteer of a given reliability answers (a deterministic function of who answers which task,
  so a run's answers depend only on who claims what).
- The receiver: a real local HTTP server that records every webhook request, and answers
  503 to the first attempt of one delivery in ~25 (so retries happen too).
- The fleet: the pipeline's processes (two ``ruche worker`` groups, ``ruche relay`` and
  ``ruche scheduler``), each in a session of its own so that a kill -9 reaches its children.
- The chaos: a thread that kills those processes with SIGKILL at random moments and starts
  them again at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.limits import clean_env

# -- content ------------------------------------------------------------------------------------

TYPES = ("translation", "data_entry", "moderation")
LABELS = ["ok", "spam", "abuse"]
NAMES = [
    "Ada Lovelace", "Grace Hopper", "Katherine Johnson", "Mary Jackson", "Dorothy Vaughan",
    "Hedy Lamarr", "Margaret Hamilton", "Radia Perlman", "Frances Allen", "Barbara Liskov",
]  # fmt: skip
SOURCES = [
    "Merci de vérifier vos réponses avant de les envoyer.",
    "Chaque mission prend entre dix et trente minutes.",
    "Vous pouvez choisir les langues que vous maîtrisez.",
    "Les associations reçoivent les résultats chaque jour.",
]
TRANSLATIONS = [
    ["Please check your answers before sending them.",
     "Please check your answers before you send them.",
     "Please check your answers before sending them!"],
    ["Each mission takes between ten and thirty minutes.",
     "Every mission takes between ten and thirty minutes.",
     "Each mission takes between ten and thirty minutes!"],
    ["You can choose the languages you master.",
     "You can choose the languages that you master.",
     "You can pick the languages you master."],
    ["The associations receive the results every day.",
     "Associations receive the results every day.",
     "The associations get the results every day."],
]  # fmt: skip
UNRELATED = [
    "The weather is lovely in the mountains today.",
    "My cat sleeps all afternoon on the sofa.",
    "Trains to the coast leave every hour on weekends.",
    "The bakery on the corner opens at seven.",
    "We planted tomatoes and beans in the garden.",
    "The library will be closed on Monday morning.",
]
_NUMBER = re.compile(r"(\d+)")


def payload(task_type: str, n: int) -> dict[str, Any]:
    """Task ``n`` of a type; its number is written in the payload so a volunteer can find it."""
    if task_type == "translation":
        return {
            "source_text": SOURCES[n % len(SOURCES)],
            "source_lang": "fr",
            "target_lang": "en",
            "context": f"Snippet {n} of the volunteering guide",
        }
    if task_type == "data_entry":
        return {
            "document": {"text": f"Donation slip {n}: {NAMES[n % len(NAMES)]}"},
            "fields": [{"name": "name", "type": "string", "required": True}],
        }
    return {"content": f"Forum post {n}: {truth_label(n)} content", "labels": LABELS}


def truth_label(n: int) -> str:
    return random.Random(f"label:{n}").choice(LABELS)


def number_of(task_type: str, body: dict[str, Any]) -> int:
    """The task number written in a payload by :func:`payload`."""
    if task_type == "translation":
        where = str(body["context"])
    elif task_type == "data_entry":
        where = str(body["document"]["text"])
    else:
        where = str(body["content"])
    match = _NUMBER.search(where)
    assert match is not None, body
    return int(match.group(1))


def true_answer(task_type: str, n: int) -> dict[str, Any]:
    """What a reviewer who corrects task ``n`` writes."""
    if task_type == "translation":
        return {"text": TRANSLATIONS[n % len(SOURCES)][0]}
    if task_type == "data_entry":
        return {"values": {"name": NAMES[n % len(NAMES)]}}
    return {"label": truth_label(n)}


def is_true(task_type: str, n: int, answer: dict[str, Any] | None) -> bool:
    """Whether ``answer`` (as a volunteer gave it, or as a result carries it) is right."""
    if not answer:
        return False
    if task_type == "translation":
        return answer.get("text") in TRANSLATIONS[n % len(SOURCES)]
    if task_type == "data_entry":
        name = str((answer.get("values") or {}).get("name") or "")
        return name.casefold() == NAMES[n % len(NAMES)].casefold()
    return answer.get("label") == truth_label(n)


def volunteer_answer(task_type: str, n: int, who: int, reliability: float) -> dict[str, Any]:
    """Volunteer ``who``'s answer to task ``n``: right with probability ``reliability``; a wrong
    one is drawn from several, so two wrong answers seldom agree."""
    rng = random.Random(f"answer:{task_type}:{n}:{who}")
    right = rng.random() < reliability
    if task_type == "translation":
        variants = TRANSLATIONS[n % len(SOURCES)]
        return {"text": rng.choice(variants) if right else rng.choice(UNRELATED)}
    if task_type == "data_entry":
        truth = NAMES[n % len(NAMES)]
        name = truth if right else rng.choice([x for x in NAMES if x != truth])
        return {"values": {"name": name}}
    truth = truth_label(n)
    return {"label": truth if right else rng.choice([x for x in LABELS if x != truth])}


def draw(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``: the same choice in every run."""
    return random.Random(":".join(str(p) for p in parts)).random()


# -- the webhook receiver ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    webhook_id: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the receiver answered
    at: float  # epoch seconds

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


def fails_first_attempt(webhook_id: str) -> bool:
    """One delivery in ~25 is refused (503) on its first attempt: the retry path runs too."""
    return int(hashlib.sha256(webhook_id.encode()).hexdigest(), 16) % 25 == 0


class WebhookReceiver:
    """A real HTTP server on a loopback port recording every request it gets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._seen: set[str] = set()
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def dump(self, path: Path) -> None:
        """Write what was received as JSON lines (kept beside the processes' logs)."""
        with path.open("w") as out:
            for r in self.received():
                line = {"webhook_id": r.webhook_id, "status": r.status, "at": r.at}
                out.write(json.dumps({**line, "event": r.event}) + "\n")

    def _record(self, headers: dict[str, str], body: bytes) -> int:
        webhook_id = headers.get("webhook-id", "")
        with self._lock:
            first = webhook_id not in self._seen
            self._seen.add(webhook_id)
            status = 503 if first and fails_first_attempt(webhook_id) else 200
            self._received.append(Received(webhook_id, headers, body, status, time.time()))
        return status

    def _make_server(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (a worker killed mid-POST): the request never
                    # arrived whole, so no receiver takes it as a delivery.
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._record(headers, body)
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        return Server(("127.0.0.1", 0), Handler)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- the pipeline's processes -------------------------------------------------------------------

WORKERS = ("worker-a", "worker-b")
PIECES: dict[str, list[str]] = {
    **{name: ["worker", "--processes", "1", "--threads", "4"] for name in WORKERS},
    "relay": ["relay"],
    "scheduler": ["scheduler"],
}
#: What each piece logs once it is at work (dramatiq's own line for the workers).
READY: dict[str, str] = {
    **{name: "Worker process is ready for action." for name in WORKERS},
    "relay": '"relay.started"',
    "scheduler": '"scheduler.started"',
}
#: How long a piece may take to start (a bound on a busy machine, not a measure).
READY_TIMEOUT_S = 120.0


class Fleet:
    """The pipeline's processes on one Redis; each started in a session (process group) of its
    own, so that killing the group takes dramatiq's forked worker process along."""

    def __init__(self, redis_url: str, logs: Path, env: dict[str, str] | None = None) -> None:
        self.redis_url = redis_url
        self.logs = logs
        self.env = dict(env or {})  # more settings for every piece (a cluster, a broker)
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.log_of: dict[str, Path] = {}
        self.starts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def start(self, name: str) -> None:
        env = clean_env()
        env.update(
            RUCHE_REDIS_URL=self.redis_url,
            RUCHE_LOG_FORMAT="json",
            RUCHE_WEBHOOK_ALLOW_PRIVATE="1",
            RUCHE_RELAY_CLAIM_IDLE_SECONDS="1",  # a dead relay's events are taken over soon
        )
        env.update(self.env)
        self.starts[name] += 1
        log = self.logs / f"{name}-{self.starts[name]}.log"
        with log.open("ab") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "ruche", *PIECES[name]],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with self._lock:
            self.running[name] = process
            self.log_of[name] = log

    def not_ready(self) -> list[str]:
        """The pieces whose current process has not said it is at work yet."""
        with self._lock:
            logs = dict(self.log_of)
        return [name for name, log in logs.items() if READY[name] not in log.read_text()]

    def kill(self, name: str) -> float:
        """kill -9 the piece's whole process group; returns when it is dead."""
        with self._lock:
            process = self.running[name]
        killed_at = time.time()
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return killed_at

    def ensure_running(self) -> list[str]:
        """Start again whatever is not running (a piece that died on its own); their names."""
        dead = [name for name in PIECES if self.running[name].poll() is not None]
        for name in dead:
            self.start(name)
        return dead

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class Kill:
    target: str
    at: float


@dataclass
class Chaos:
    """Kills pieces of the fleet at random moments, starting each again at once.

    It first works through ``plan`` (a fixed, shuffled list of targets), then keeps killing a
    random worker until ``work_done`` is set. Each kill waits for the whole fleet to be at work
    (a process it started again included), then a random ``pause_s``: the kills fall on a
    working pipeline whatever the machine's speed (timed from the previous kill alone, they
    outran the processes' start-up on a loaded machine: most workers died before taking any
    work, and the tasks stood still). The kills it made are in ``kills``; an error in the
    thread is kept in ``error``.
    """

    fleet: Fleet
    plan: list[str]
    seed: int
    pause_s: tuple[float, float] = (0.8, 2.2)
    kills: list[Kill] = field(default_factory=list)
    work_done: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the chaos thread did not finish"

    def count(self, *targets: str) -> int:
        with self._changed:
            return sum(1 for kill in self.kills if kill.target in targets)

    def wait_for_kills(self, worker_kills: int, timeout: float) -> None:
        """Block until the workers were killed ``worker_kills`` times (or the chaos ended)."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: (
                    self.error is not None
                    or self.stopped.is_set()
                    or sum(1 for k in self.kills if k.target in WORKERS) >= worker_kills
                ),
                timeout,
            )
        assert ok, f"timed out waiting for {worker_kills} worker kills"

    def _fleet_at_work(self) -> bool:
        """Wait until every piece is at work; False when stopped meanwhile."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while waiting := self.fleet.not_ready():
            assert time.monotonic() < deadline, f"not at work after {READY_TIMEOUT_S} s: {waiting}"
            if self.stopped.wait(0.05):
                return False
        return True

    def _run(self) -> None:
        rng = random.Random(self.seed)
        try:
            targets = iter(self.plan)
            while not self.stopped.is_set():
                target = next(targets, None)
                if target is None:
                    if self.work_done.is_set():
                        break
                    target = rng.choice(WORKERS)
                if not self._fleet_at_work() or self.stopped.wait(rng.uniform(*self.pause_s)):
                    break
                killed_at = self.fleet.kill(target)
                self.fleet.start(target)
                with self._changed:
                    self.kills.append(Kill(target, killed_at))
                    self._changed.notify_all()
        except BaseException as error:
            self.error = error
        finally:
            with self._changed:
                self.stopped.set()
                self._changed.notify_all()
