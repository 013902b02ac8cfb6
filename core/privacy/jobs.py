"""Deletion and erasure jobs: bounded batches that survive a crash and are safe to repeat.

A deletion starts in the request that asks for it (:mod:`core.privacy.volunteers`,
:mod:`core.privacy.projects`): what must vanish at once does (tokens, the project's place in
its organisation, …), and a job is queued in ``G:privacy:jobs`` (job id -> when it is next
due). The scheduler then runs due jobs (:func:`run_due_jobs`), each as a list of phases; a
phase does one bounded batch per call (``privacy_batch`` records: one SCAN/HSCAN/XRANGE page
and the writes it implies) and keeps its cursor in the job's hash (``G:privacy:job:<id>``)
after every batch. So:

- a process that dies halfway leaves the job and its cursor: the next run goes on from the
  last saved batch, and re-doing that batch is harmless (every step is idempotent: deleting
  what is gone, replacing an id that was already replaced, … change nothing);
- starting the same deletion again finds the job and leaves its progress alone;
- a job that must wait (events a consumer has not handled yet) is put back in the queue a
  little later rather than blocking the others.

One process at a time runs a given job (``G:privacy:lock:<id>``, PX), so two schedulers never
step on each other's cursor. When the last phase ends, the job's keys go too: nothing is left
that names what was deleted.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import structlog

from core.board.runner import Board
from core.board.script_calls import text
from core.redis.keys import Keys

__all__ = [
    "LOCK_MS",
    "WAIT_MS",
    "JobContext",
    "JobsReport",
    "Phase",
    "Step",
    "job_ids",
    "queue_commands",
    "run_due_jobs",
    "run_job",
]

log = structlog.get_logger(__name__)

#: How long one run holds a job (renewed by every batch): a crashed run's lock lapses by then.
LOCK_MS = 60_000
#: How long a job that must wait (events not yet handled) waits before it looks again.
WAIT_MS = 2_000


class Step(enum.Enum):
    MORE = "more"  # the phase has more batches: call it again
    DONE = "done"  # the phase is finished: go on with the next one
    WAIT = "wait"  # come back later (WAIT_MS): something else must happen first


@dataclass
class JobContext:
    board: Board
    batch: int = 500
    now_ms: int = 0
    #: Called after every batch (tests stop a run there, as a crash would).
    on_batch: Callable[[str, str], None] = field(default=lambda job_id, phase: None)

    @property
    def client(self) -> redis.Redis:
        return self.board.client

    @property
    def keys(self) -> Keys:
        return self.board.keys


#: A phase: given the context and the job's state (a mutable str -> str dict, saved after every
#: batch), do one batch and say what comes next.
Phase = Callable[[JobContext, dict[str, str]], Step]


@dataclass(frozen=True, slots=True)
class JobsReport:
    batches: int = 0
    finished: tuple[str, ...] = ()
    pending: int = 0  # jobs still queued after this run (due or not)


def queue_commands(
    keys: Keys, job_id: str, fields: Mapping[str, str | int], due_ms: int
) -> list[tuple[str | int, ...]]:
    """The commands that queue a job: its fields written only where not set yet (a repeated
    start leaves a running job's progress alone), then its place in the queue (kept if queued)."""
    commands: list[tuple[str | int, ...]] = [
        ("HSETNX", keys.privacy_job(job_id), name, value) for name, value in fields.items()
    ]
    commands.append(("ZADD", keys.privacy_jobs, "NX", due_ms, job_id))
    return commands


def job_ids(client: redis.Redis, keys: Keys) -> list[tuple[str, int]]:
    """Every queued job and when it is next due (ms)."""
    queued: Any = client.zrange(keys.privacy_jobs, 0, -1, withscores=True)
    return [(text(member), int(score)) for member, score in queued]


def _phases() -> Mapping[str, Sequence[Phase]]:
    # Imported here: those modules import this one.
    from core.privacy.organisations import PHASES as ORG_PHASES
    from core.privacy.projects import PHASES as PROJECT_PHASES
    from core.privacy.volunteers import PHASES as VOLUNTEER_PHASES

    return {**PROJECT_PHASES, **ORG_PHASES, **VOLUNTEER_PHASES}


def _finish(ctx: JobContext, job_id: str) -> None:
    pipe = ctx.client.pipeline(transaction=False)
    pipe.delete(ctx.keys.privacy_job_volunteers(job_id))
    pipe.delete(ctx.keys.privacy_job(job_id))
    pipe.zrem(ctx.keys.privacy_jobs, job_id)
    pipe.execute()


def run_job(ctx: JobContext, job_id: str, budget: int) -> tuple[int, bool]:
    """Run up to ``budget`` batches of one job; returns (batches run, finished)."""
    client, keys = ctx.client, ctx.keys
    token = secrets.token_hex(8)
    lock = keys.privacy_lock(job_id)
    if not client.set(lock, token, nx=True, px=LOCK_MS):
        return 0, False  # another process is running it
    batches = 0
    try:
        state = {text(k): text(v) for k, v in client.hgetall(keys.privacy_job(job_id)).items()}
        phases = _phases().get(state.get("kind", ""))
        if phases is None:
            log.warning("privacy.unknown_job", job_id=job_id)
            _finish(ctx, job_id)
            return 0, True
        while batches < budget:
            index = int(state.get("phase", "0"))
            if index >= len(phases):
                _finish(ctx, job_id)
                log.info("privacy.job_finished", kind=state.get("kind"))
                return batches, True
            name = phases[index].__name__
            before = set(state)
            step = phases[index](ctx, state)
            batches += 1
            if step is Step.DONE:
                # Fields starting with c_ are the phase's own cursors: the next starts afresh.
                state = {k: v for k, v in state.items() if not k.startswith("c_")}
                state["phase"] = str(index + 1)
            # HSET over, then HDEL what went: never a moment without the job's kind and phase.
            pipe = client.pipeline(transaction=False)
            pipe.hset(keys.privacy_job(job_id), mapping=dict[Any, Any](state))
            gone = sorted(before - set(state))
            if gone:
                pipe.hdel(keys.privacy_job(job_id), *gone)
            if step is Step.WAIT:
                pipe.zadd(keys.privacy_jobs, {job_id: ctx.now_ms + WAIT_MS})
            pipe.pexpire(lock, LOCK_MS)
            pipe.execute()
            ctx.on_batch(job_id, name)
            if step is Step.WAIT:
                return batches, False
        return batches, False
    finally:
        if text(client.get(lock) or "") == token:
            client.delete(lock)


def run_due_jobs(
    board: Board,
    *,
    now_ms: int | None = None,
    batch: int = 500,
    max_batches: int = 50,
    on_batch: Callable[[str, str], None] | None = None,
) -> JobsReport:
    """Run the jobs due by ``now_ms``, oldest first, for at most ``max_batches`` batches in all
    (the scheduler calls this every tick; ``ruche privacy run`` until the queue is empty)."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    ctx = JobContext(board, batch, now)
    if on_batch is not None:
        ctx.on_batch = on_batch
    keys = board.keys
    done: list[str] = []
    total = 0
    due = [text(m) for m in board.client.zrangebyscore(keys.privacy_jobs, "-inf", now, 0, 100)]
    for job_id in due:
        if total >= max_batches:
            break
        ran, finished = run_job(ctx, job_id, max_batches - total)
        total += ran
        if finished:
            done.append(job_id)
    pending = int(board.client.zcard(keys.privacy_jobs))
    if total:
        log.info("privacy.jobs_ran", batches=total, finished=len(done), pending=pending)
    return JobsReport(total, tuple(done), pending)
