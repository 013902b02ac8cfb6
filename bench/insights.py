"""Benchmark of a project's insights (``core/insights``): the time to compute them all for a
project of 10^5 tasks and 10^4 results next to one of 10^2 tasks, in one run.

Both projects are filled through the real board (bulk creation; each result a real claim,
submit and ``resolve_task``, the script the aggregation publishes with), their results spread
over 30 days of a manual clock, with review items waiting in each. Then:

1. the one-time catch-up: folding the big project's whole event history (events per second);
2. the steady state, what a console page costs: ``read_insights`` (fold what is new, two
   bounded pipelines, arithmetic) timed many times on each project, median and p90, and the
   ratio big / small, which must stay near 1 (it does not read tasks);
3. the same read when 1,000 new events wait to be folded (a busy minute).

Usage::

    .venv/bin/python bench/insights.py            # full run (about a minute)
    .venv/bin/python bench/insights.py --smoke    # correctness only, tiny sizes (seconds)
    .venv/bin/python bench/insights.py --redis-url redis://host:6379/0

Without ``--redis-url`` a throw-away ``redis-server`` is started (no persistence). Prints a
report, then one JSON line with every number. :func:`measure` is what ``bench/web.py`` may call.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from sanity import require, require_finite

from core.board.runner import Board, BoardPolicy, Claimed, NewTask
from core.clock import ManualClock
from core.delivery.results import Result
from core.ids import new_project_id, new_volunteer_id
from core.insights import read_insights
from core.insights.pace import DAY_MS
from core.insights.rollup import fold_project
from core.quality.outcomes import PipelineOps
from core.redis.keys import Keys
from core.redis.server import RedisServer

__all__ = ["Plan", "measure"]

DAYS = 30


@dataclass(frozen=True, slots=True)
class Plan:
    small_tasks: int
    small_results: int
    big_tasks: int
    big_results: int
    reviews: int  # review items left waiting in each project
    reads: int  # timed reads per project
    pending_events: int  # new events before the "busy minute" read


FULL = Plan(100, 40, 100_000, 10_000, 50, 200, 1_000)  # both list 50 volunteers
SMOKE = Plan(100, 20, 1_000, 200, 5, 5, 50)


def _fill(board: Board, clock: ManualClock, tasks: int, results: int, reviews: int) -> str:
    """A project of ``tasks`` tasks, ``results`` of them resolved over DAYS days and ``reviews``
    sent to review, through the real board scripts."""
    project = new_project_id()
    document = {"name": "bench", "task_type": "moderation", "created_at_ms": clock.now_ms}
    board.run(board.ops.create_project(project, BoardPolicy(redundancy=1), document))
    payload = {"content": "x" * 100, "labels": ["ok", "spam"]}
    for start in range(0, tasks, 50_000):
        count = min(50_000, tasks - start)
        board.run(board.ops.create_tasks(project, [NewTask(payload) for _ in range(count)]))
    ops = PipelineOps(board.keys, board.clock)
    volunteers = [new_volunteer_id() for _ in range(200)]
    per_day = max(1, results // DAYS)
    for index in range(results + reviews):
        volunteer = volunteers[index % len(volunteers)] if index < results else new_volunteer_id()
        if index < results and index % per_day == 0 and index:
            clock.advance(DAY_MS / 1000 * 0.999)
        lease = board.run(board.ops.claim(project, volunteer))
        require(isinstance(lease, Claimed), "insights", "a claim found nothing")
        assert isinstance(lease, Claimed)
        board.run(board.ops.submit(lease.assignment_id, volunteer, {"label": "spam"}, 30.0))
        if index < results:
            result = Result(lease.task_id, {"label": "spam"}, 0.9, "agreement")
            board.run(
                ops.resolve_task(project, result, decision_id=f"{lease.task_id}:1", answers=1)
            )
        else:
            board.run(board.ops.open_review(project, lease.task_id, "disagreement", 0))
            clock.advance(60)
    return project


def _timed_reads(board: Board, project: str, now_ms: int, times: int) -> list[float]:
    spans = []
    for _ in range(times):
        started = time.perf_counter()
        read_insights(board, project, now_ms=now_ms)
        spans.append((time.perf_counter() - started) * 1000)
    return spans


def _summary(spans: Sequence[float]) -> dict[str, float]:
    ordered = sorted(spans)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
    }


def measure(redis_url: str, plan: Plan) -> dict[str, Any]:
    """Fill both projects under a fresh key prefix, time everything, delete the keys."""
    prefix = f"ruchebench:{secrets.token_hex(4)}:"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    clock = ManualClock(start_ms=(int(time.time() * 1000) // DAY_MS - DAYS) * DAY_MS)
    board = Board(client, keys=Keys(prefix), clock=clock)
    try:
        started = time.perf_counter()
        small = _fill(board, clock, plan.small_tasks, plan.small_results, plan.reviews)
        big = _fill(board, clock, plan.big_tasks, plan.big_results, plan.reviews)
        fill_s = time.perf_counter() - started
        events = int(client.xlen(board.keys.project(big).events))

        started = time.perf_counter()
        folded = fold_project(board, big, max_calls=10_000)
        catch_up_s = time.perf_counter() - started
        fold_project(board, small, max_calls=10_000)
        require(folded.events == events and not folded.more, "insights", "the fold missed events")

        now = clock.now_ms
        # Interleaved, so that the machine's load drifting affects both alike.
        small_spans: list[float] = []
        big_spans: list[float] = []
        for _ in range(plan.reads):
            small_spans += _timed_reads(board, small, now, 1)
            big_spans += _timed_reads(board, big, now, 1)

        found = read_insights(board, big, now_ms=now)
        require(found.quality.results == plan.big_results, "insights", "results miscounted")
        require(found.review.waiting == plan.reviews, "insights", "review backlog miscounted")
        require(
            found.pace.remaining == plan.big_tasks - plan.big_results, "insights", "bad remaining"
        )
        require(found.pace.rate_per_day is not None, "insights", "no rate measured")
        require(found.complete, "insights", "the read left events unfolded")

        # A busy minute: new events waiting when the page is drawn.
        volunteer = new_volunteer_id()
        added = 0
        while added < plan.pending_events:
            lease = board.run(board.ops.claim(big, volunteer))
            if not isinstance(lease, Claimed):
                volunteer = new_volunteer_id()
                continue
            board.run(board.ops.release(lease.assignment_id, volunteer, "skip"))
            added += 2  # assignment.claimed and assignment.released
        started = time.perf_counter()
        read_insights(board, big, now_ms=now)
        pending_ms = (time.perf_counter() - started) * 1000

        small_summary, big_summary = _summary(small_spans), _summary(big_spans)
        ratio = big_summary["median_ms"] / small_summary["median_ms"]
        return {
            "sizes": {
                "small": {"tasks": plan.small_tasks, "results": plan.small_results},
                "big": {"tasks": plan.big_tasks, "results": plan.big_results, "events": events},
                "reviews_waiting": plan.reviews,
            },
            "fill_s": round(fill_s, 2),
            "catch_up": {
                "events": events,
                "seconds": round(catch_up_s, 3),
                "events_per_s": round(events / catch_up_s) if catch_up_s else 0,
            },
            "read": {
                "small": small_summary,
                "big": big_summary,
                "ratio_big_to_small": round(ratio, 2),
            },
            "read_with_pending": {"events": added, "ms": round(pending_ms, 3)},
        }
    finally:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()


def report(numbers: dict[str, Any]) -> None:
    sizes, read = numbers["sizes"], numbers["read"]
    print(f"filled in {numbers['fill_s']} s")
    catch = numbers["catch_up"]
    print(
        f"catch-up fold of {catch['events']} events: {catch['seconds']} s "
        f"({catch['events_per_s']} events/s, once per project)"
    )
    for name in ("small", "big"):
        s = sizes[name]
        r = read[name]
        print(
            f"read_insights, {s['tasks']} tasks / {s['results']} results: "
            f"median {r['median_ms']} ms, p90 {r['p90_ms']} ms"
        )
    print(f"ratio big / small (median): {read['ratio_big_to_small']}")
    pending = numbers["read_with_pending"]
    print(f"read with {pending['events']} new events to fold: {pending['ms']} ms")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="correctness only: tiny sizes")
    parser.add_argument("--redis-url", help="use this Redis instead of starting a throw-away one")
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    if args.redis_url:
        numbers = measure(args.redis_url, plan)
    else:
        with (
            tempfile.TemporaryDirectory(prefix="ruche-bench-") as data_dir,
            RedisServer(Path(data_dir), appendonly=False) as server,
        ):
            numbers = measure(server.url, plan)
    require_finite(numbers, "insights")
    report(numbers)
    print(json.dumps({"bench": "insights", "mode": "smoke" if args.smoke else "full", **numbers}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
