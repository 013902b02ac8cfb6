"""Quality benchmark, like for like: Ruche's production decision path next to crowd-kit's
MajorityVote, Wawa and DawidSkene on the same answers and the same gold.

For each scenario (a kind of task and a crowd, ``bench/quality_crowds.py``) and seed, every task
gets a queue of answers from distinct volunteers. Ruche consumes the queues event by event
through the production code on a real Redis (``bench/quality_ruche.py``: gold served on the
project's schedule and applied as ``quality.gold`` does, then ``parse_task`` -> ``decide``: the
real reputation scripts, weighing, planning, crediting), asking for answers from ``redundancy``
up to ``max_redundancy`` while its confidence is short of the threshold. The batch methods then
get exactly the answers Ruche asked for and the gold answers its volunteers gave
(``bench/quality_batch.py``), so every method has the same answers per task and the same gold.

Two tables:

1. **No reviewer anywhere.** Nobody reviews; a task Ruche would send to review counts at the
   provisional answer it shows at the end of the run (``core.quality.provisional``: the last
   refit's guess, or the aggregation's), and its reputations never learn a reviewer's answer;
   a short table after it gives the accuracy at the aggregation's first guesses instead, and
   two references that are not methods (the same answers decided knowing each volunteer's
   true accuracy; the tasks with a right answer on every field among theirs), and another
   the ECE of the tasks accepted without a reviewer next to that of every task. For
   the batch methods, "to review" is the share of tasks under the same threshold.
2. **The same reviewers for all.** An expert settles the tasks Ruche sends to review (and
   Ruche's reputations learn from it); each batch method sends its own least confident tasks,
   as many, and Dawid-Skene refits with the reviewers' answers as truth.

Measures: accuracy (reviewed tasks right in table 2), the share escalated, the accuracy of the
tasks accepted without a reviewer, the expected calibration error (ECE: 10 bins; table 2: of the
accepted tasks), answers per task (real answers; gold answers apart), and each method's seconds
per 10,000 tasks (Ruche: the whole replay, Redis round trips included; batch: the fit). Figures
are means over ``--seeds`` seeds.

Time is the board's manual clock, so figures do not depend on the machine's speed (except the
seconds). By default it stands still (reputations do not fade); ``--days D`` spreads each run's
tasks over D simulated days, so evidence fades with ``--half-life``.

Usage::

    .venv/bin/python bench/quality.py            # 600 tasks, 3 seeds, every scenario
    .venv/bin/python bench/quality.py --tasks 300 --seeds 1 \
        --scenarios "4 labels 55/20/15/10, typical"
    .venv/bin/python bench/quality.py --seed 11  # seeds 11, 12, 13: does a gain hold?
    .venv/bin/python bench/quality.py --smoke    # correctness only: 30 tasks, 1 seed, 10 volunteers

Every run checks its figures (shares between 0 and 1, answers per task within the policy's
bounds, no NaN) and exits non-zero when one is off. Needs the ``bench`` dependency group
(``.venv/bin/pip install --group bench``: crowd-kit). Runs against a throw-away redis-server.
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

import redis
from quality_batch import (
    Decisions,
    Judged,
    Scores,
    batch,
    calibration_floor,
    judged,
    pairs_error,
    score,
)
from quality_crowds import MIXES, Kind, Worker, crowd, kinds, pick_queue
from quality_ruche import GOLD, Replay, replay
from sanity import require, require_finite

from core.board.runner import Board
from core.clock import ManualClock
from core.quality.reputation_model import DEFAULT_HALF_LIFE_DAYS
from core.redis.keys import Keys
from core.redis.server import RedisServer
from task_types import get as get_task_type
from task_types.reliability import Reliability

SEED = 1
CROWD_SIZE = 40
#: --smoke: a crowd of QUEUE distinct volunteers at least; Dawid-Skene's EM cut short.
SMOKE = {"tasks": 30, "seeds": 1, "crowd": 10, "ds_iterations": 10}
QUEUE = 7  # answers drawn per task: enough for any policy up to 7 answers
GOLD_POOL = 150
#: The project policy: 3 answers, one more while the confidence is short, up to 5; the
#: threshold (None: the type's default confidence, 0.9).
POLICY: dict[str, Any] = {"redundancy": 3, "max_redundancy": 5, "agreement": None}
TIME: dict[str, Any] = {"days": 0.0, "half_life": DEFAULT_HALF_LIFE_DAYS}
BASELINES: dict[str, Any] = {"ds_iterations": 100}
#: Whether Ruche's project refit runs when due (``--no-refit``: the online estimates alone).
REFIT: dict[str, bool] = {"on": True}
METHODS = ("MV", "Wawa", "DawidSkene", "Ruche")


@dataclass(frozen=True)
class Scenario:
    kind: str  # a key of quality_crowds.kinds()
    mix: str  # a key of MIXES
    long_tail: bool = False

    def title(self, known: Mapping[str, Kind]) -> str:
        return f"{known[self.kind].title}, {self.mix}" + (", long tail" if self.long_tail else "")


SCENARIOS = (
    Scenario("moderation 2", "typical"),
    Scenario("moderation 3", "typical"),
    Scenario("moderation 4", "typical"),
    Scenario("moderation 3", "half poor"),
    Scenario("moderation 4", "hostile"),
    Scenario("moderation 3", "typical", long_tail=True),
    Scenario("moderation 3", "drifting"),
    Scenario("data entry", "typical"),
    Scenario("data entry", "half poor"),
    Scenario("translation", "typical"),
    Scenario("translation", "half poor"),
)


def simulate(
    scenario: Scenario, board: Board, clock: ManualClock, n: int, seed: int, crowd_size: int
) -> dict[str, Any]:
    """One seed of one scenario: both tables' scores per method."""
    kind = kinds()[scenario.kind]
    rng = random.Random(f"{seed}:{scenario}")
    workers = crowd(MIXES[scenario.mix], crowd_size, rng, long_tail=scenario.long_tail)
    tasks = [kind.task(rng) for _ in range(n)]
    gold_tasks = [kind.task(rng) for _ in range(GOLD_POOL)]
    queues = []
    for t, task in enumerate(tasks):
        now = [worker.at(t / n) for worker in pick_queue(workers, QUEUE, rng)]
        queues.append([(worker, kind.answer(worker, task, rng)) for worker in now])
    threshold = POLICY["agreement"] or get_task_type(kind.name).default_confidence
    replay_seed = rng.random()
    tables: dict[str, dict[str, Scores]] = {}
    used: dict[str, tuple[float, float]] = {}
    first_guess = reachable = known = 0.0
    refits: dict[str, tuple[int, float]] = {}
    calibrated: dict[str, Judged] = {}
    for table, reviewers in (("no reviewer", False), ("same reviewers", True)):
        board.client.flushdb()  # new reputations: nothing learnt in the other table
        ruche = replay(
            board, clock, kind, tasks, queues, gold_tasks, POLICY, random.Random(replay_seed),
            reviewers=reviewers, days=TIME["days"], refit=REFIT["on"],
        )  # fmt: skip
        reviews = sum(ruche.escalated) if reviewers else 0
        found = batch(kind, tasks, queues, gold_tasks, ruche, BASELINES["ds_iterations"], reviews)
        scores = {
            name: score(decisions, threshold, sent if reviewers else None, reviewers)
            for name, (decisions, sent) in found.items()
        }
        scores["Ruche"] = score(_decisions(kind, tasks, ruche), threshold, ruche.escalated,
                                reviewers)  # fmt: skip
        tables[table] = scores
        if not reviewers:
            calibrated = {
                "Ruche": judged(_decisions(kind, tasks, ruche), threshold, ruche.escalated, False),
                "DawidSkene": judged(found["DawidSkene"][0], threshold, None, False),
            }
            firsts = zip(tasks, ruche.first_guesses, strict=True)
            first_guess = sum(kind.correct(task, guess) for task, guess in firsts) / n
            asked = zip(tasks, queues, ruche.used, strict=True)
            reachable = known = 0.0
            for task, queue, taken in asked:
                reachable += some_answer_right(kind, task, [a for _, a in queue[:taken]]) / n
                known += known_accuracies_right(kind, task, queue[:taken]) / n
        used[table] = (sum(ruche.used) / n, len(ruche.gold) / n)
        refits[table] = (ruche.refits, ruche.threshold or threshold)
    return {
        "tables": {t: {m: asdict(s) for m, s in scores.items()} for t, scores in tables.items()},
        "answers": {t: {"per_task": a, "gold_per_task": g} for t, (a, g) in used.items()},
        "refits": {t: {"count": c, "threshold": h} for t, (c, h) in refits.items()},
        "first_guess_accuracy": first_guess,
        "reachable": reachable,
        "known_accuracies": known,
        "judged": calibrated,
    }


def _decisions(kind: Kind, tasks: Sequence[Any], ruche: Replay) -> Decisions:
    correct = [kind.correct(task, final) for task, final in zip(tasks, ruche.finals, strict=True)]
    return Decisions(correct, list(ruche.confidence), ruche.seconds)


def pooled_calibration(runs: Sequence[Mapping[str, Judged]], seed: int) -> dict[str, Any]:
    """With no reviewer, per method, the calibration error of every task and of the accepted
    ones: pooled over the seeds' decisions, and each next to its floor (what a perfectly
    calibrated method would read with the same confidences, per seed and pooled). The mean of
    each seed's error is biased upwards where its bins hold few decisions; pooling several
    seeds' decisions shrinks that bias without changing what is measured."""
    found: dict[str, Any] = {}
    for method in runs[0]:
        found[method] = {}
        for part in ("every", "accepted"):
            per_seed = [getattr(run[method], part) for run in runs]
            pooled = [pair for pairs in per_seed for pair in pairs]
            where = f"{seed}:{method}:{part}"
            found[method][part] = {
                "pooled": pairs_error(pooled),
                "pooled_floor": calibration_floor([c for _, c in pooled], where),
                "seed_floor": sum(
                    calibration_floor([c for _, c in pairs], f"{where}:{n}")
                    for n, pairs in enumerate(per_seed)
                )
                / len(per_seed),
            }
    return found


def averaged(runs: Sequence[Any]) -> Any:
    """The mean of each figure over runs with different seeds (nested dicts of numbers)."""
    if isinstance(runs[0], dict):
        return {key: averaged([run[key] for run in runs]) for key in runs[0]}
    return round(sum(runs) / len(runs), 4)


def check(rows: Sequence[Mapping[str, Any]]) -> None:
    """Exit non-zero when a figure cannot be right."""
    require(bool(rows), "bench/quality.py", "no scenario was run")
    require_finite(list(rows), "bench/quality.py")
    low, high = int(POLICY["redundancy"]), int(POLICY["max_redundancy"])
    for row in rows:
        where = f"bench/quality.py: {row['scenario']}"
        for method, parts in row["calibration"].items():
            for part, figures in parts.items():
                for name, value in figures.items():
                    require(0.0 <= value <= 1.0, where, f"{method}, {part}: {name} = {value}")
        for name in ("reachable", "known_accuracies"):
            require(0.0 <= row[name] <= 1.0, where, f"{name} = {row[name]}")
        for table, scores in row["tables"].items():
            for method, s in scores.items():
                for name in ("accuracy", "escalated", "accepted_accuracy", "ece", "accepted_ece"):
                    require(0.0 <= s[name] <= 1.0, where, f"{table}, {method}: {name} = {s[name]}")
            reviewed = scores["Ruche"]["escalated"]
            for method in METHODS:  # the same reviewers: as many reviewed tasks for all
                sent = scores[method]["escalated"]
                if table == "same reviewers":
                    require(abs(sent - reviewed) < 1e-9, where, f"{method} reviewed {sent}")
            answers = row["answers"][table]["per_task"]
            require(low <= answers <= high, where,
                    f"{answers} answers per task, outside [{low}, {high}]")  # fmt: skip


def report(rows: Sequence[Mapping[str, Any]], table: str) -> str:
    head = (
        "| crowd | answers/task | MV | Wawa | DS | Ruche | to review Ruche (DS) "
        "| accepted acc. Ruche (DS) | ECE Ruche (DS) | s/10k tasks Ruche (DS) | threshold |"
    )
    lines = [head, "|" + " --- |" * 11]
    for row in rows:
        s = row["tables"][table]
        r, d = s["Ruche"], s["DawidSkene"]
        lines.append(
            f"| {row['scenario']} | {row['answers'][table]['per_task']:.2f} "
            f"| {s['MV']['accuracy']:.3f} | {s['Wawa']['accuracy']:.3f} | {d['accuracy']:.3f} "
            f"| {r['accuracy']:.3f} | {r['escalated']:.1%} ({d['escalated']:.1%}) "
            f"| {r['accepted_accuracy']:.3f} ({d['accepted_accuracy']:.3f}) "
            f"| {100 * r['ece']:.1f} ({100 * d['ece']:.1f}) "
            f"| {r['seconds_per_10k']:.1f} ({d['seconds_per_10k']:.1f}) "
            f"| {row['refits'][table]['threshold']:.3f} |"
        )
    return "\n".join(lines)


def some_answer_right(kind: Kind, task: Any, answers: Sequence[Mapping[str, Any]]) -> bool:
    """Whether every unit of the task (every field of a record) got at least one right answer
    among ``answers``: a method that chooses among the answers given can do no better."""
    given = [kind.units(task, answer) for answer in answers]
    return all(
        any(units.get(unit) in right for units in given)
        for unit, right in kind.right_units(task).items()
    )


def known_accuracies_right(
    kind: Kind, task: Any, pairs: Sequence[tuple[Worker, Mapping[str, Any]]]
) -> bool:
    """Whether the task type's own aggregation decides the task right from the same answers
    when it knows each volunteer's true accuracy at that moment of the run, and the class
    base rates: what Ruche would reach with perfect estimates. One who answers without looking
    counts at chance, a random answer's chance of being right (a third with three labels: their
    label says nothing; none for a typed record: theirs is never the document's); an adversary
    at 0. A reference, not a method: the simulation's truth is in it."""
    task_type = get_task_type(kind.name)
    payload = task_type.parse_payload(task.payload)
    answers = [task_type.normalise(payload, task_type.parse_answer(payload, a)) for _, a in pairs]
    chance = len(task.right) / len(task.options) if task.right else 0.0
    if task.options and not task.right:
        chance = 1.0 / len(task.options)
    reliabilities = [
        Reliability(
            accuracy=0.0 if worker.profile == "adversary" else worker.accuracy or chance,
            evidence=1e6,
        )
        for worker, _ in pairs
    ]
    base_rates = getattr(kind, "base_rates", None)
    if base_rates:
        labels = task.payload["labels"]
        prior = dict(zip(labels, [1e3 * rate for rate in base_rates], strict=True))
        task_type = task_type.with_prior(prior)
    verdict = task_type.aggregate(payload, answers, reliabilities)
    return verdict.answer is not None and kind.correct(task, verdict.answer)


def first_guesses(rows: Sequence[Mapping[str, Any]]) -> str:
    """Ruche's accuracy with no reviewer, had the tasks waiting for one been counted at the
    aggregation's guess (before any refit judged them again), next to the table's; and two
    references: the same answers decided knowing every volunteer's true accuracy
    (:func:`known_accuracies_right`), and the share of tasks whose answers held a right one on
    every unit (:func:`some_answer_right`)."""
    lines = [
        "\nRuche, no reviewer, a task sent to review counted at its provisional answer at the "
        "end (the table) or at the aggregation's first guess; the same answers decided with "
        "each volunteer's true accuracy (known accuracies); and the tasks whose answers held "
        "a right one on every field (no method choosing among them does better):",
        "| crowd | provisional (table) | first guess | known accuracies | some answer right |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        shown = row["tables"]["no reviewer"]["Ruche"]["accuracy"]
        lines.append(
            f"| {row['scenario']} | {shown:.3f} | {row['first_guess_accuracy']:.3f} "
            f"| {row['known_accuracies']:.3f} | {row['reachable']:.3f} |"
        )
    return "\n".join(lines)


def accepted_calibration(rows: Sequence[Mapping[str, Any]]) -> str:
    """With no reviewer, the calibration error of every task (the table's: a task sent to
    review at its provisional answer's confidence) and of the tasks accepted alone (what an NGO
    reads in a result's confidence): the mean of each seed's and pooled over the seeds'
    decisions, each next to its floor."""
    lines = [
        "\nNo reviewer, expected calibration error in points, of every task and of the tasks "
        "accepted without a reviewer: the mean of each seed's (the table's) and pooled over the "
        "seeds' decisions; in brackets its floor, what a perfectly calibrated method would read "
        "with Ruche's confidences (few decisions in a bin read as an error):",
        "| crowd | every task, per seed Ruche [floor] (DS) | pooled Ruche [floor] (DS) "
        "| accepted, per seed Ruche [floor] (DS) | pooled Ruche [floor] (DS) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        s = row["tables"]["no reviewer"]
        r, d = s["Ruche"], s["DawidSkene"]
        mine, theirs = row["calibration"]["Ruche"], row["calibration"]["DawidSkene"]
        cells = []
        for part, per_seed in (("every", "ece"), ("accepted", "accepted_ece")):
            cells.append(
                f"{100 * r[per_seed]:.1f} [{100 * mine[part]['seed_floor']:.1f}] "
                f"({100 * d[per_seed]:.1f})"
            )
            cells.append(
                f"{100 * mine[part]['pooled']:.1f} [{100 * mine[part]['pooled_floor']:.1f}] "
                f"({100 * theirs[part]['pooled']:.1f})"
            )
        lines.append(f"| {row['scenario']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    known = kinds()
    titles = {scenario.title(known): scenario for scenario in SCENARIOS}
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=600, help="tasks per scenario and seed")
    parser.add_argument("--seeds", type=int, default=3, help="runs averaged, seeds --seed, +1..")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="the first seed: another one checks that a gain is not one "
                        "seed's luck")  # fmt: skip
    parser.add_argument("--scenarios", nargs="*", default=list(titles), help="by title")
    parser.add_argument("--redundancy", type=int, default=POLICY["redundancy"])
    parser.add_argument("--max-redundancy", type=int, default=POLICY["max_redundancy"])
    parser.add_argument("--agreement", type=float, default=POLICY["agreement"])
    parser.add_argument("--days", type=float, default=TIME["days"], help="simulated days a run")
    parser.add_argument("--half-life", type=float, default=TIME["half_life"], help="days")
    parser.add_argument("--crowd", type=int, default=CROWD_SIZE, help="volunteers in a crowd")
    parser.add_argument("--no-refit", action="store_true",
                        help="no project refit: the online estimates, calibration and "
                        "threshold alone")  # fmt: skip
    parser.add_argument("--smoke", action="store_true",
                        help=f"correctness only: {SMOKE['tasks']} tasks, {SMOKE['seeds']} seed, "
                        f"a crowd of {SMOKE['crowd']}, Dawid-Skene cut at "
                        f"{SMOKE['ds_iterations']} iterations")  # fmt: skip
    args = parser.parse_args(argv)
    if args.smoke:
        vars(args).update(SMOKE)
        BASELINES.update(ds_iterations=SMOKE["ds_iterations"])
    unknown = [name for name in args.scenarios if name not in titles]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {list(titles)}")
    if args.crowd < QUEUE or args.max_redundancy > QUEUE:
        parser.error(f"--crowd at least, --max-redundancy at most {QUEUE}")
    POLICY.update(
        redundancy=args.redundancy, max_redundancy=args.max_redundancy, agreement=args.agreement
    )
    TIME.update(days=args.days, half_life=args.half_life)
    REFIT.update(on=not args.no_refit)
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
            for title in args.scenarios:
                runs = [
                    simulate(titles[title], board, clock, args.tasks, args.seed + n, args.crowd)
                    for n in range(args.seeds)
                ]
                calibration = pooled_calibration([run.pop("judged") for run in runs], args.seed)
                rows.append({"scenario": title, **averaged(runs), "calibration": calibration})
            client.close()
        finally:
            server.stop()
    print(
        f"{args.tasks} tasks per scenario, {args.crowd} volunteers, mean of {args.seeds} seeds "
        f"from {args.seed}; policy {POLICY}; gold schedule {GOLD}; time {TIME}; refit {REFIT}"
        + (f"; Dawid-Skene cut at {BASELINES['ds_iterations']} iterations" if args.smoke else "")
    )
    for table in ("no reviewer", "same reviewers"):
        print(f"\n{table}:\n{report(rows, table)}")
        if table == "no reviewer":
            print(first_guesses(rows))
            print(accepted_calibration(rows))
    print(json.dumps({"policy": POLICY, "gold": GOLD, "time": TIME, "baselines": BASELINES,
                      "refit": REFIT,
                      "seeds": args.seeds, "rows": rows}))  # fmt: skip
    check(rows)


if __name__ == "__main__":
    main()
