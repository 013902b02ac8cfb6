"""The scheduler process: periodic maintenance that no event triggers.

Every ``scheduler_interval_seconds`` it calls :func:`reap`. That is where time-driven work of the
board hangs: leases whose time ran out give their slot back (``Board.reap_expired_leases``),
review leases likewise, projects past their deadline close, webhook deliveries whose retry (or
redelivery) is due are sent to the workers (``workers.delivery.dispatch.enqueue_due_deliveries``: a
bounded batch per tick, each taken atomically from the due set), and, once per
``retention_interval_seconds``, old events and delivery records are trimmed and projects past
their ``retention_days`` queued for purging (``core.projects.retention``). Deletion and erasure
jobs (``core.privacy``) get up to ``privacy_batches_per_tick`` bounded batches a tick. Each of
those is idempotent, so running two
schedulers, or a tick that overlaps a restart, is harmless.
"""

from __future__ import annotations

import functools
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

import redis
import structlog

from core.board.runner import Board
from core.insights.rollup import PeriodicFold, fold_all
from core.privacy.jobs import run_due_jobs
from core.projects.deadlines import sweep_deadlines
from core.projects.retention import sweep_retention
from core.redis.clients import redis_client, replicated_scripts
from core.redis.keys import Keys
from core.settings import Settings
from workers.delivery.dispatch import enqueue_due_deliveries

__all__ = ["reap", "run_scheduler", "serve"]

log = structlog.get_logger(__name__)

Tick = Callable[[Board, Settings], None]


def reap(board: Board, settings: Settings, fold: PeriodicFold | None = None) -> None:
    """One round of time-driven maintenance (see the module docstring). ``fold`` paces the
    insights' fold (once a minute in the scheduler); without it, every round folds."""
    expired = board.reap_expired_leases()
    expired_reviews = board.reap_expired_review_leases()
    # The console's measurements and daily state snapshots (core.insights.rollup).
    if fold is not None:
        fold(board)
    else:
        fold_all(board)
    # Projects past their deadline close; core.projects.deadlines logs what changed.
    sweep_deadlines(board)
    enqueue_due_deliveries(board, settings)  # webhook retries and redeliveries now due
    now_ms = int(time.time() * 1000)
    sweep_retention(board, settings, now_ms)  # at most once an interval
    run_due_jobs(
        board,
        now_ms=now_ms,
        batch=settings.privacy_batch,
        max_batches=settings.privacy_batches_per_tick,
    )
    log.debug("scheduler.tick", expired_leases=expired, expired_review_leases=expired_reviews)


def run_scheduler(settings: Settings, stop: threading.Event, *, tick: Tick | None = None) -> None:
    """Call ``tick`` (by default :func:`reap`, folding the insights once a minute) every
    interval until ``stop`` is set.

    A failing tick is logged and the loop goes on: a Redis blip must not end the scheduler.
    """
    client = redis_client(settings, "the scheduler", connect_timeout_s=2, timeout_s=5)
    board = Board(
        client, keys=Keys(settings.key_prefix), replicated=replicated_scripts(settings, client)
    )
    if tick is None:
        # The pace belongs to this run, not to the module: another run in the same process
        # (a test) must not find its fold already done for the minute.
        tick = functools.partial(reap, fold=PeriodicFold())
    log.info("scheduler.started", interval_seconds=settings.scheduler_interval_seconds)
    try:
        while not stop.is_set():
            try:
                tick(board, settings)
            except (redis.RedisError, OSError) as error:
                log.warning("scheduler.tick_failed", error=str(error))
            stop.wait(settings.scheduler_interval_seconds)
    finally:
        client.close()
        log.info("scheduler.stopped")


def serve(settings: Settings) -> None:
    """Run the scheduler in this process until SIGTERM or SIGINT."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_scheduler(settings, stop)
