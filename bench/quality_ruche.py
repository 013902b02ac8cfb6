"""Ruche's side of ``bench/quality.py``: a simulated crowd's answers replayed through the
production code, in arrival order, on a real Redis.

Every step is the one the actors take: a volunteer's claim is served a gold task with the
project's decaying rate, the first they never met from a random place in the pool (as
``claim.lua`` computes and picks it) and the gold answer goes to their
reputation (``quality.gold``: :func:`core.quality.reputation.gold_update`); once a task has the
answers it asked for, :func:`core.quality.aggregation.parse_task` reads them and
:func:`core.quality.aggregation.decide` weighs them with the real reputation scripts, plans the
step and credits the authors, exactly as ``tasks.aggregate`` does before it writes the step
(the class prior from the project's gold answers included, and the project's calibration and
chosen threshold). When a decision makes the project's refit due, :func:`core.quality.refit
.refit_project` runs as the ``quality.refit`` actor would (it reads the gold tasks, their
answers and the decided tasks' answers from the board, where the replay keeps them); its time
is counted apart (off the hot path in production).
With ``reviewers``, a task sent to review is settled by an expert (the truth) through
:func:`core.quality.reputation.review_updates`, as ``reviews.settle`` does; without, nobody
reviews, and the task counts at the provisional answer it shows at the end of the run
(:mod:`core.quality.provisional`: the last refit's guess, or the aggregation's when no refit
came after it); ``first_guesses`` keeps the aggregation's.

What the replay records (which answers each task got, the gold answers given) is what the batch
methods are then given: the same answers and the same gold.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from quality_crowds import Kind, SimTask, Worker, seeded_id

from core.board.runner import Board
from core.clock import ManualClock
from core.quality import provisional
from core.quality.aggregation import Outcome, decide, parse_task
from core.quality.outcomes import AggregationContext
from core.quality.project_quality import ProjectQuality
from core.quality.refit import refit_project
from core.quality.reputation import apply_updates, gold_update, review_updates
from task_types import get as get_task_type

__all__ = ["GOLD", "WINDOW", "GoldAnswer", "Replay", "gold_rate", "replay"]

WINDOW = 20  # tasks open at a time
GOLD = {"start": 0.4, "end": 0.1, "warmup": 20, "settle": 60}  # the project's gold schedule


@dataclass(frozen=True)
class GoldAnswer:
    worker: str
    gold: int  # index into the gold tasks
    answer: dict[str, Any]


@dataclass
class Replay:
    """What Ruche did with each task (indexes as the tasks'), and the gold answers given."""

    used: list[int]  # answers each task got: the first ``used[t]`` of its queue
    #: the decided answer; when escalated, the task's provisional answer at the end of the run
    #: (the last refit's guess, or the aggregation's: core.quality.provisional)
    finals: list[Mapping[str, Any] | None]
    confidence: list[float]
    escalated: list[bool]
    #: what the aggregation chose at the decision (the same as ``finals`` but when escalated)
    first_guesses: list[Mapping[str, Any] | None] = field(default_factory=list)
    gold: list[GoldAnswer] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the replay (Redis round trips included)
    refits: int = 0  # refits run (as the tasks.aggregate actor asks for them)
    refit_seconds: float = 0.0  # their wall time (off the hot path in production)
    threshold: float | None = None  # the threshold the last refit chose


def gold_rate(seen: int) -> float:
    """``claim.lua``'s schedule: the share of a volunteer's claims that serve gold."""
    if seen < GOLD["warmup"]:
        return GOLD["start"]
    if seen >= GOLD["settle"]:
        return GOLD["end"]
    span = (seen - GOLD["warmup"]) / (GOLD["settle"] - GOLD["warmup"])
    return GOLD["start"] + (GOLD["end"] - GOLD["start"]) * span


def replay(
    board: Board,
    clock: ManualClock,
    kind: Kind,
    tasks: Sequence[SimTask],
    queues: Sequence[Sequence[tuple[Worker, dict[str, Any]]]],
    gold_tasks: Sequence[SimTask],
    policy: Mapping[str, Any],
    rng: random.Random,
    *,
    reviewers: bool,
    days: float = 0.0,
    refit: bool = True,
) -> Replay:
    """Replay ``queues`` (per task, the answers it may get, in order) under ``policy``
    (``redundancy``, ``max_redundancy``, ``agreement``), on a board whose reputations are new."""
    task_type = get_task_type(kind.name)
    project = seeded_id("prj", rng)
    document = {
        "task_type": kind.name,
        "redundancy": policy["redundancy"],
        "max_redundancy": policy["max_redundancy"],
        "review": {"agreement": policy["agreement"]},
    }
    # What the refit reads: the project's document, its gold tasks with the answers they get,
    # and each decided task's payload and answers (as the board keeps them).
    pk = board.keys.project(project)
    board.client.hset(pk.project, "doc", json.dumps(document))
    for g, task in enumerate(gold_tasks):
        board.client.hset(pk.gold, f"g{g:010d}", json.dumps({"answer": task.truth}))
        board.client.hset(pk.payloads, f"g{g:010d}", json.dumps(task.payload))
    gold_entries: dict[int, list[dict[str, Any]]] = {}
    gold_payloads = [task_type.parse_payload(task.payload) for task in gold_tasks]
    # The project's gold answers, as aggregation_context samples them: the class prior.
    gold_answers = [task.truth for task in gold_tasks]
    n = len(tasks)
    record = Replay([0] * n, [None] * n, [0.0] * n, [False] * n, [None] * n)
    need = [int(policy["redundancy"])] * n
    entries: list[list[dict[str, Any]]] = [[] for _ in tasks]
    seen: dict[str, int] = {}
    gold_met: dict[str, set[int]] = {}
    next_task, open_tasks = 0, list[int]()
    started = time.perf_counter()

    while next_task < n or open_tasks:
        while len(open_tasks) < WINDOW and next_task < n:
            open_tasks.append(next_task)
            next_task += 1
            clock.advance(days * 86_400 / n)
        # The board's ready order: most answers first, then first come, first served.
        t = min(open_tasks, key=lambda i: (-len(entries[i]), i))
        worker, raw = queues[t][len(entries[t])]
        while rng.random() < gold_rate(seen.get(worker.id, 0)):
            picked = _pick_gold(gold_met.setdefault(worker.id, set()), len(gold_tasks), rng)
            if picked is None:
                break  # they met every gold task: claim.lua serves real work
            g = picked
            gold_met[worker.id].add(g)
            seen[worker.id] = seen.get(worker.id, 0) + 1
            given = kind.answer(worker, gold_tasks[g], rng)
            record.gold.append(GoldAnswer(worker.id, g, given))
            gold_entries.setdefault(g, []).append({"volunteer_id": worker.id, "answer": given})
            board.client.hset(pk.answers, f"g{g:010d}", json.dumps(gold_entries[g]))
            payload = gold_payloads[g]
            update = gold_update(
                task_type, project, f"gold_{worker.id}_{g}", payload,
                _normalised(task_type, payload, given),
                _normalised(task_type, payload, gold_tasks[g].truth),
            )  # fmt: skip
            apply_updates(board, {worker.id: update})
        seen[worker.id] = seen.get(worker.id, 0) + 1
        entries[t].append({"volunteer_id": worker.id, "answer": raw})
        if len(entries[t]) < need[t]:
            continue

        task_id = f"t{t:010d}"
        context = AggregationContext(
            task={"state": "aggregating"}, payload=tasks[t].payload, answers=entries[t],
            document=document,
        )  # fmt: skip
        parsed = parse_task(context)
        quality = ProjectQuality.from_json(board.client.hget(pk.project, "quality"))
        decision = decide(
            board, project, task_id, parsed, document,
            answers=len(entries[t]), need=need[t], closed=False, gold=gold_answers,
            quality=quality,
        )  # fmt: skip
        if decision.step is Outcome.EXTENDED:
            need[t] += 1
            continue
        board.client.hset(pk.payloads, task_id, json.dumps(tasks[t].payload))
        board.client.hset(pk.answers, task_id, json.dumps(entries[t]))
        if decision.refit_due and refit:
            began = time.perf_counter()
            done = refit_project(board, project, f"r{t}")
            record.refit_seconds += time.perf_counter() - began
            record.refits += 1
            record.threshold = done.choice.threshold if done else None
        verdict = decision.weighed.verdict
        record.used[t] = len(entries[t])
        record.finals[t] = record.first_guesses[t] = verdict.answer
        record.confidence[t] = verdict.confidence
        record.escalated[t] = decision.step is Outcome.REVIEW
        if record.escalated[t] and reviewers:
            truth = _normalised(task_type, parsed.payload, tasks[t].truth)
            settled = review_updates(
                task_type, project, task_id, f"rev_{task_id}", parsed.payload, parsed.answers,
                [str(entry["volunteer_id"]) for entry in entries[t]], truth,
            )  # fmt: skip
            apply_updates(board, settled)
        open_tasks.remove(t)
    record.seconds = time.perf_counter() - started  # the refits included
    if not reviewers:  # tasks nobody reviewed: the provisional answer they show now
        _provisional_finals(board, pk.provisional, record)
    return record


def _provisional_finals(board: Board, key: str, record: Replay) -> None:
    waiting = [t for t, sent in enumerate(record.escalated) if sent]
    if not waiting:
        return
    stored = board.client.hmget(key, [f"t{t:010d}" for t in waiting])
    for t, raw in zip(waiting, stored, strict=True):
        shown = provisional.parse(raw)
        if shown is not None:
            record.finals[t], record.confidence[t] = shown.answer, shown.confidence


def _pick_gold(met: set[int], pool: int, rng: random.Random) -> int | None:
    """``claim.lua``'s pick: the first gold task of the pool (in id order) the volunteer never
    met, looking from a random place, so volunteers do not all meet the same ones first."""
    start = int(rng.random() * pool)
    return next(((start + k) % pool for k in range(pool) if (start + k) % pool not in met), None)


def _normalised(task_type: Any, payload: Any, raw: Mapping[str, Any]) -> Any:
    return task_type.normalise(payload, task_type.parse_answer(payload, raw))
