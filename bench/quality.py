"""Quality benchmark: Ruche's online reputations, weighted aggregation and dynamic redundancy
next to crowd-kit's MajorityVote, Wawa and DawidSkene run in batch, on simulated crowds.

For each kind of task (moderation, data entry, translation choice) and each crowd mix
(``bench/quality_crowds.py``), every task gets a fixed queue of seven answers from seven
distinct volunteers. Ruche consumes each queue event by event, in arrival order, through the
functions its actors call:

- claims follow the board's order (the task closest to completion first) over a window of
  open tasks; before each claim a volunteer is served a gold task with the project's decaying
  rate (40 % for their first 20 tasks, down to 10 % at 60, as ``claim.lua`` computes it), and
  the gold answer goes to their reputation (``core.quality.reputation.gold_update``);
- once a task has the answers it asked for, the answering volunteers' reliabilities are read
  from the real reputation store (``ReputationOps.reliabilities``), the task type aggregates
  with them, and ``core.quality.aggregation.plan`` takes the step: resolve (the agreement credit
  goes to the volunteers, ``agreement_updates``), one more answer (up to the ceiling), or review;
- a review is settled by an expert (the truth) through ``review_updates``.

The batch methods get the first 3, then the first 5 answers of every queue: the same answers.
Accuracy is measured against the truth; Ruche's is given two ways: ``auto`` counts the tasks
sent to review at the aggregation's best guess (what Ruche decides on its own), ``+review``
counts them at the reviewer's answer. Answers per task are real answers; ``+gold`` adds the
gold answers the volunteers gave, spread over the tasks. ``acc/conf`` sets the accuracy of the
tasks accepted without a reviewer beside their mean confidence (equal when calibrated). The
goal column compares Ruche's own accuracy with DawidSkene's at each redundancy r Ruche stayed
under (fewer real answers per task than r). Figures are means over ``--seeds`` seeds.

Time is the board's manual clock, so figures do not depend on the machine's speed. By default it
stands still (reputations do not fade); ``--days D`` spreads each run's tasks over D simulated
days, so evidence fades with ``--half-life`` (``RUCHE_REPUTATION_HALF_LIFE_DAYS``; 0: never), and
``--drift`` turns a third of the reliable volunteers into spammers halfway through each run:
what fading is for (QUALITY.md: "reliability follows drift").

Usage::

    .venv/bin/python bench/quality.py            # 600 tasks, 3 seeds per kind and mix (~2 min)
    .venv/bin/python bench/quality.py --tasks 200 --seeds 1 --kinds moderation
    .venv/bin/python bench/quality.py --days 360 --drift --half-life 0   # drift, no fading
    .venv/bin/python bench/quality.py --smoke    # correctness only: 30 tasks, 1 seed, 10 volunteers

Every run checks its figures (shares between 0 and 1, answers per task within the policy's
bounds, no NaN) and exits non-zero when one is off.

Needs the ``bench`` dependency group (``.venv/bin/pip install --group bench``: crowd-kit).
Runs against a throw-away redis-server. Data entry has no label set shared across tasks, which
Dawid-Skene's confusion matrices assume: its values are given to crowd-kit ranked within each
field (see ``_by_rank``), and Wawa is the fairer baseline there.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import redis
from crowdkit.aggregation import DawidSkene, MajorityVote, Wawa
from quality_crowds import KINDS, MIXES, Kind, SimTask, Worker, crowd
from sanity import require, require_finite

from core import ids
from core.board.runner import Board
from core.clock import ManualClock
from core.quality.aggregation import Outcome, plan
from core.quality.reputation import (
    ReputationOps,
    agreement_updates,
    apply_updates,
    gold_update,
    review_updates,
)
from core.quality.reputation_model import DEFAULT_HALF_LIFE_DAYS
from core.redis.keys import Keys
from core.redis.server import RedisServer
from task_types import get as get_task_type

SEED = 1
CROWD_SIZE = 40
#: --smoke: a crowd of QUEUE distinct volunteers at least; Dawid-Skene's EM cut short (its
#: pandas steps are most of a small run's time).
SMOKE = {"tasks": 30, "seeds": 1, "crowd": 10, "ds_iterations": 10}
QUEUE = 7  # answers drawn per task: enough for any policy below
WINDOW = 20  # tasks open at a time
GOLD_POOL = 150
GOLD = {"start": 0.4, "end": 0.1, "warmup": 20, "settle": 60}  # the project's gold schedule
#: The project policy Ruche runs under: dynamic redundancy from 2 answers up to 6, and the
#: agreement threshold (the confidence required; None: the type's default).
POLICY: dict[str, Any] = {"redundancy": 2, "max_redundancy": 6, "agreement": None}
#: Simulated time: the days a run's tasks are spread over (0: the clock stands still), the
#: half-life reputations fade with, and whether some reliable volunteers turn spammer halfway.
TIME: dict[str, Any] = {"days": 0.0, "half_life": DEFAULT_HALF_LIFE_DAYS, "drift": False}
#: The batch baselines' settings: Dawid-Skene's EM iterations at most.
BASELINES: dict[str, Any] = {"ds_iterations": 100}
DRIFTING = 1 / 3  # of the reliable volunteers, when drifting


@dataclass
class RucheRun:
    accuracy: float  # "auto": reviewed tasks at the aggregation's best guess
    accuracy_reviewed: float  # reviewed tasks at the reviewer's answer
    answers_per_task: float
    answers_with_gold: float
    review_share: float
    accepted_accuracy: float  # of the tasks resolved without a reviewer
    accepted_confidence: float  # their mean confidence: close to the above when calibrated
    learning: list[float]  # auto accuracy over each third of the tasks, in arrival order


def gold_rate(seen: int) -> float:
    """``claim.lua``'s schedule: the share of a volunteer's claims that serve gold."""
    if seen < GOLD["warmup"]:
        return GOLD["start"]
    if seen >= GOLD["settle"]:
        return GOLD["end"]
    span = (seen - GOLD["warmup"]) / (GOLD["settle"] - GOLD["warmup"])
    return GOLD["start"] + (GOLD["end"] - GOLD["start"]) * span


def run_ruche(
    board: Board,
    clock: ManualClock,
    kind: Kind,
    tasks: Sequence[SimTask],
    queues: Sequence[Sequence[tuple[Worker, dict[str, Any]]]],
    gold_tasks: Sequence[SimTask],
    rng: random.Random,
) -> RucheRun:
    task_type = get_task_type(kind.name)
    project = ids.new_project_id()
    reputations = ReputationOps(board.keys, board.clock)
    payloads = [task_type.parse_payload(task.payload) for task in tasks]
    gold_payloads = [task_type.parse_payload(task.payload) for task in gold_tasks]
    seen: dict[str, int] = {}
    gold_seen: dict[str, int] = {}
    need = [int(POLICY["redundancy"] or 1)] * len(tasks)
    ceiling = int(POLICY["max_redundancy"] or need[0])
    answers: list[list[Any]] = [[] for _ in tasks]
    volunteers: list[list[str]] = [[] for _ in tasks]
    finals: list[Mapping[str, Any] | None] = [None] * len(tasks)
    confidence: list[float] = [0.0] * len(tasks)
    reviewed = [False] * len(tasks)
    done = [False] * len(tasks)
    gold_answers = 0
    next_task = 0
    open_tasks: list[int] = []

    def normalised(payload: Any, raw: Mapping[str, Any]) -> Any:
        return task_type.normalise(payload, task_type.parse_answer(payload, raw))

    while next_task < len(tasks) or open_tasks:
        while len(open_tasks) < WINDOW and next_task < len(tasks):
            open_tasks.append(next_task)
            next_task += 1
            clock.advance(TIME["days"] * 86_400 / len(tasks))
        # The board's ready order: most answers first, then first come, first served.
        t = min(open_tasks, key=lambda i: (-len(answers[i]), i))
        worker, raw = queues[t][len(answers[t])]
        while rng.random() < gold_rate(seen.get(worker.id, 0)):
            g = gold_seen.get(worker.id, 0) % len(gold_tasks)
            gold_seen[worker.id] = g + 1
            seen[worker.id] = seen.get(worker.id, 0) + 1
            payload = gold_payloads[g]
            given = normalised(payload, kind.answer(worker, gold_tasks[g], rng))
            truth = normalised(payload, gold_tasks[g].truth)
            submission = f"gold_{worker.id}_{g}"
            update = gold_update(task_type, project, submission, payload, given, truth)
            apply_updates(board, {worker.id: update})
            gold_answers += 1
        seen[worker.id] = seen.get(worker.id, 0) + 1
        answers[t].append(normalised(payloads[t], raw))
        volunteers[t].append(worker.id)
        if len(answers[t]) < need[t]:
            continue

        task_id = f"t{t:010d}"
        reliabilities = board.run(
            reputations.reliabilities(project, kind.name, volunteers[t], deciding=task_id)
        )
        verdict = task_type.aggregate(
            payloads[t], answers[t], reliabilities, threshold=POLICY["agreement"]
        )
        step = plan(verdict, need=need[t], ceiling=ceiling, closed=False, sampled=False)
        if step is Outcome.EXTENDED:
            need[t] += 1
            continue
        finals[t] = verdict.answer
        confidence[t] = verdict.confidence
        if step is Outcome.RESOLVED:
            credit = agreement_updates(
                task_type, project, task_id, f"{task_id}:{len(answers[t])}", payloads[t],
                answers[t], reliabilities, volunteers[t],
            )  # fmt: skip
            apply_updates(board, credit)
        else:
            reviewed[t] = True
            truth = normalised(payloads[t], tasks[t].truth)
            settled = review_updates(
                task_type, project, task_id, f"rev_{task_id}", payloads[t], answers[t],
                volunteers[t], truth,
            )  # fmt: skip
            apply_updates(board, settled)
        done[t] = True
        open_tasks.remove(t)

    n = len(tasks)
    right = [kind.correct(task, final) for task, final in zip(tasks, finals, strict=True)]
    used = sum(len(given) for given in answers)
    accepted = [t for t in range(n) if not reviewed[t]]
    return RucheRun(
        accuracy=sum(right) / n,
        accuracy_reviewed=sum(ok or rev for ok, rev in zip(right, reviewed, strict=True)) / n,
        answers_per_task=used / n,
        answers_with_gold=(used + gold_answers) / n,
        review_share=sum(reviewed) / n,
        accepted_accuracy=sum(right[t] for t in accepted) / max(1, len(accepted)),
        accepted_confidence=sum(confidence[t] for t in accepted) / max(1, len(accepted)),
        learning=[
            round(sum(part) / max(1, len(part)), 3)
            for part in (right[: n // 3], right[n // 3 : 2 * n // 3], right[2 * n // 3 :])
        ],
    )


def run_crowdkit(
    kind: Kind,
    tasks: Sequence[SimTask],
    queues: Sequence[Sequence[tuple[Worker, dict[str, Any]]]],
    redundancy: int,
) -> dict[str, float]:
    """Accuracy of each batch method on the first ``redundancy`` answers of every queue."""
    rows = []
    decode: dict[str, dict[str, str]] = {}  # unit -> crowd-kit label -> our label
    for t, (task, queue) in enumerate(zip(tasks, queues, strict=True)):
        given: dict[str, list[tuple[str, str]]] = {}
        for worker, raw in queue[:redundancy]:
            for unit, label in kind.units(task, raw).items():
                if not label.startswith("<"):  # blank or unreadable: no label
                    given.setdefault(unit, []).append((worker.id, label))
        for unit, votes in given.items():
            names = _by_rank([label for _, label in votes]) if kind.free_values else {}
            decode[f"{t}:{unit}"] = {name: label for label, name in names.items()}
            for worker_id, label in votes:
                rows.append(
                    {"task": f"{t}:{unit}", "worker": worker_id, "label": names.get(label, label)}
                )
    frame = pd.DataFrame(rows)
    ds = DawidSkene(n_iter=BASELINES["ds_iterations"])
    methods = {"MV": MajorityVote(), "Wawa": Wawa(), "DS": ds}
    scores = {}
    for name, method in methods.items():
        predicted = method.fit_predict(frame)
        right = 0
        for t, task in enumerate(tasks):
            accepted = kind.right_units(task)
            right += all(
                decode.get(f"{t}:{unit}", {}).get(label, label) in good
                for unit, good in accepted.items()
                for label in [predicted.get(f"{t}:{unit}")]
            )
        scores[name] = right / len(tasks)
    return scores


def _by_rank(labels: Sequence[str]) -> dict[str, str]:
    """Free values (a name, a date) have no label set shared across tasks, which Dawid-Skene's
    confusion matrices need: name them by rank instead, "#0" for the value given most often in
    the unit, "#1" next (ties: first given first). Majority vote and Wawa are unchanged."""
    order = sorted(dict.fromkeys(labels), key=lambda label: -labels.count(label))
    return {label: f"#{rank}" for rank, label in enumerate(order)}


def drifted(workers: Sequence[Worker]) -> dict[str, Worker]:
    """With ``--drift``: the reliable volunteers who answer at random from halfway on, as they
    then are (same id)."""
    if not TIME["drift"]:
        return {}
    reliable = [worker for worker in workers if worker.profile == "reliable"]
    turning = reliable[: round(len(reliable) * DRIFTING)]
    return {w.id: Worker(w.id, "spammer", None, w.quirk) for w in turning}


def simulate(
    kind: Kind,
    mix_name: str,
    board: Board,
    clock: ManualClock,
    tasks_per_run: int,
    seed: int,
    crowd_size: int = CROWD_SIZE,
) -> dict[str, Any]:
    rng = random.Random(f"{seed}:{kind.name}:{mix_name}")
    workers = crowd(MIXES[mix_name], crowd_size, rng)
    tasks = [kind.task(rng) for _ in range(tasks_per_run)]
    gold_tasks = [kind.task(rng) for _ in range(GOLD_POOL)]
    turned = drifted(workers)
    queues = []
    for t, task in enumerate(tasks):
        queue = []
        for worker in rng.sample(workers, QUEUE):
            if t >= len(tasks) // 2:
                worker = turned.get(worker.id, worker)
            queue.append((worker, kind.answer(worker, task, rng)))
        queues.append(queue)
    ruche = run_ruche(board, clock, kind, tasks, queues, gold_tasks, random.Random(rng.random()))
    batch = {r: run_crowdkit(kind, tasks, queues, r) for r in (3, 5)}
    return {"ruche": asdict(ruche), "batch": batch}


def averaged(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The mean of each figure over runs with different seeds."""

    def mean(values: Sequence[Any]) -> Any:
        if isinstance(values[0], list):
            return [mean([v[i] for v in values]) for i in range(len(values[0]))]
        return round(sum(values) / len(values), 4)

    ruche = {name: mean([run["ruche"][name] for run in runs]) for name in runs[0]["ruche"]}
    batch = {
        size: {name: mean([run["batch"][size][name] for run in runs]) for name in methods}
        for size, methods in runs[0]["batch"].items()
    }
    return {"ruche": ruche, "batch": batch}


def check(rows: Sequence[Mapping[str, Any]]) -> None:
    """Exit non-zero when a figure cannot be right: a share outside [0, 1], answers per task
    outside the policy's bounds, a number that is not finite."""
    require(bool(rows), "bench/quality.py", "no kind and mix was run")
    require_finite(list(rows), "bench/quality.py")
    low, high = int(POLICY["redundancy"] or 1), int(POLICY["max_redundancy"] or QUEUE)
    for row in rows:
        where = f"bench/quality.py: {row['kind']}, {row['mix']}"
        r = row["ruche"]
        shares = {name: r[name] for name in (
            "accuracy", "accuracy_reviewed", "review_share", "accepted_accuracy",
            "accepted_confidence")}  # fmt: skip
        shares |= {f"{m}@{size}": v for size, methods in row["batch"].items()
                   for m, v in methods.items()}  # fmt: skip
        for name, value in shares.items():
            require(0.0 <= value <= 1.0, where, f"{name} = {value}, not a share")
        require(r["accuracy"] <= r["accuracy_reviewed"], where, "reviews lowered the accuracy")
        require(low <= r["answers_per_task"] <= high, where,
                f"{r['answers_per_task']} answers per task, outside [{low}, {high}]")  # fmt: skip
        require(r["answers_with_gold"] >= r["answers_per_task"], where, "gold answers < 0")


def report(rows: Sequence[Mapping[str, Any]]) -> str:
    head = (
        f"{'kind':<12}{'mix':<16}{'Ruche':>7}{'+review':>8}{'ans/task':>9}{'+gold':>6}"
        f"{'review':>7}{'acc/conf':>11} |{'MV@3':>6}{'Wawa@3':>7}{'DS@3':>6} |"
        f"{'MV@5':>6}{'Wawa@5':>7}{'DS@5':>6} | goal"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        r, b = row["ruche"], row["batch"]
        goal = []
        for size in (3, 5):
            if r["answers_per_task"] < size:
                met = r["accuracy"] >= b[size]["DS"]
                goal.append(f"DS@{size} {'met' if met else 'NOT met'}")
        lines.append(
            f"{row['kind']:<12}{row['mix']:<16}{r['accuracy']:>7.3f}{r['accuracy_reviewed']:>8.3f}"
            f"{r['answers_per_task']:>9.2f}{r['answers_with_gold']:>6.2f}{r['review_share']:>7.1%}"
            f"{r['accepted_accuracy']:>6.3f}/{r['accepted_confidence']:.2f} |"
            f"{b[3]['MV']:>6.3f}{b[3]['Wawa']:>7.3f}{b[3]['DS']:>6.3f} |"
            f"{b[5]['MV']:>6.3f}{b[5]['Wawa']:>7.3f}{b[5]['DS']:>6.3f} | {', '.join(goal)}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=600, help="tasks per kind and mix")
    parser.add_argument("--seeds", type=int, default=3, help="runs averaged, seeds SEED, +1..")
    parser.add_argument("--kinds", nargs="*", default=[k.name for k in KINDS])
    parser.add_argument("--mixes", nargs="*", default=list(MIXES))
    parser.add_argument("--redundancy", type=int, default=POLICY["redundancy"])
    parser.add_argument("--max-redundancy", type=int, default=POLICY["max_redundancy"])
    parser.add_argument("--agreement", type=float, default=POLICY["agreement"])
    parser.add_argument("--days", type=float, default=TIME["days"], help="simulated days a run")
    parser.add_argument("--half-life", type=float, default=TIME["half_life"], help="days")
    parser.add_argument("--drift", action="store_true", help="reliable volunteers turn spammer")
    parser.add_argument("--crowd", type=int, default=CROWD_SIZE, help="volunteers in a crowd")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"correctness only: {SMOKE['tasks']} tasks, {SMOKE['seeds']} seed, a crowd of "
        f"{SMOKE['crowd']}, Dawid-Skene cut at {SMOKE['ds_iterations']} iterations",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        vars(args).update(SMOKE)
        BASELINES.update(ds_iterations=SMOKE["ds_iterations"])
    if args.crowd < QUEUE:
        parser.error(f"--crowd: at least {QUEUE} volunteers (each task gets {QUEUE} answers)")
    POLICY.update(
        redundancy=args.redundancy, max_redundancy=args.max_redundancy, agreement=args.agreement
    )
    TIME.update(days=args.days, half_life=args.half_life, drift=args.drift)
    warnings.filterwarnings("ignore", category=FutureWarning)  # pandas, inside crowd-kit
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        server = RedisServer(Path(scratch), appendonly=False)
        server.start()
        try:
            client = redis.Redis.from_url(server.url, decode_responses=True)
            clock = ManualClock()
            board = Board(
                client, keys=Keys("qbench:"), clock=clock, reputation_half_life_days=args.half_life
            )
            for kind in KINDS:
                for mix_name in MIXES:
                    if kind.name in args.kinds and mix_name in args.mixes:
                        runs = [
                            simulate(kind, mix_name, board, clock, args.tasks, SEED + n, args.crowd)
                            for n in range(args.seeds)
                        ]
                        rows.append({"kind": kind.name, "mix": mix_name, **averaged(runs)})
            client.close()
        finally:
            server.stop()
    print(
        f"{args.tasks} tasks per kind and mix, {args.crowd} volunteers, mean of {args.seeds} "
        f"seeds from {SEED}; policy {POLICY}; gold schedule {GOLD}; time {TIME}"
        + (f"; Dawid-Skene cut at {BASELINES['ds_iterations']} iterations" if args.smoke else "")
    )
    print(report(rows))
    print(
        json.dumps(
            {
                "policy": POLICY,
                "gold": GOLD,
                "time": TIME,
                "baselines": BASELINES,
                "seeds": args.seeds,
                "rows": rows,
            }
        )
    )
    check(rows)


if __name__ == "__main__":
    main()
