"""The batch side of ``bench/quality.py`` and the measures every method is scored with.

crowd-kit's MajorityVote, Wawa and DawidSkene are given exactly what Ruche had: each task's
answers Ruche asked for (the first ``used[t]`` of its queue) and the gold answers its volunteers
gave during the replay, as extra tasks (Dawid-Skene also gets their truth, ``true_labels``, as
``quality.gold`` gives Ruche's reputations the truth). With reviewers, each method sends to
them as many tasks as Ruche did, its own least confident ones; Dawid-Skene then fits again with
the reviewers' answers as truth, as Ruche's reputations learn from them.

Data entry has no label set shared across tasks, which Dawid-Skene's confusion matrices assume:
its values are given to crowd-kit ranked within each field (see ``_by_rank``); a record is right
when every field is, and its confidence is the product of its fields'.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from crowdkit.aggregation import DawidSkene, MajorityVote, Wawa
from quality_crowds import Kind, SimTask, Worker
from quality_ruche import Replay

__all__ = [
    "BINS",
    "Decisions",
    "Judged",
    "Scores",
    "batch",
    "calibration_floor",
    "expected_calibration_error",
    "judged",
    "pairs_error",
    "score",
]

BINS = 10  # confidence bins of the expected calibration error
#: Outcomes drawn per decision when estimating the error's floor (:func:`calibration_floor`).
FLOOR_DRAWS = 100


@dataclass(frozen=True)
class Decisions:
    """One method's decision on each task: right or not, and the confidence it was taken at."""

    correct: list[bool]
    confidence: list[float]
    seconds: float  # the method's own time (a batch fit, or Ruche's replay)


@dataclass(frozen=True)
class Scores:
    accuracy: float  # reviewed tasks counted right (the reviewer's answer is the truth)
    escalated: float  # share of tasks under the threshold, or sent to the reviewers
    accepted_accuracy: float  # of the other tasks
    ece: float  # expected calibration error of the decisions (of the accepted ones, with review)
    accepted_ece: float  # expected calibration error of the accepted tasks alone
    seconds_per_10k: float


def expected_calibration_error(correct: Sequence[bool], confidence: Sequence[float]) -> float:
    """Sum over ``BINS`` equal-width confidence bins of |accuracy - mean confidence|, weighted
    by the share of decisions in the bin: 0 when confidence means what it says."""
    if not correct:
        return 0.0
    bins: dict[int, list[tuple[bool, float]]] = {}
    for right, conf in zip(correct, confidence, strict=True):
        bins.setdefault(min(BINS - 1, int(conf * BINS)), []).append((right, conf))
    total = len(correct)
    return math.fsum(
        len(members)
        / total
        * abs(sum(r for r, _ in members) / len(members) - sum(c for _, c in members) / len(members))
        for members in bins.values()
    )


def calibration_floor(confidence: Sequence[float], seed: str) -> float:
    """The expected calibration error a perfectly calibrated method would read with these
    confidences: each decision right with probability its confidence, ``FLOOR_DRAWS`` times,
    the mean of the errors measured. With few decisions per bin the measure is biased upwards
    (on 600 data-entry records spread over every bin, by about 3 points), so an error is read
    next to its floor; ``seed`` makes the draws the same for the same run."""
    if not confidence:
        return 0.0
    rng = random.Random(seed)
    draws = (
        expected_calibration_error([rng.random() < c for c in confidence], confidence)
        for _ in range(FLOOR_DRAWS)
    )
    return math.fsum(draws) / FLOOR_DRAWS


@dataclass(frozen=True)
class Judged:
    """The decisions a calibration error is measured on: every task (with review, the accepted
    ones) and the accepted ones alone, as (right, confidence) pairs. Several seeds' are pooled
    into one measure on all their decisions, less biased than the mean of each seed's."""

    every: list[tuple[bool, float]]
    accepted: list[tuple[bool, float]]


def judged(
    decisions: Decisions, threshold: float, escalated: Sequence[bool] | None, reviewed: bool
) -> Judged:
    """The pairs :func:`score` measures its two calibration errors on."""
    n = len(decisions.correct)
    sent = _sent(decisions, threshold, escalated)
    pairs = list(zip(decisions.correct, decisions.confidence, strict=True))
    return Judged(
        every=[pairs[t] for t in range(n) if not (reviewed and sent[t])],
        accepted=[pairs[t] for t in range(n) if not sent[t]],
    )


def _sent(decisions: Decisions, threshold: float, escalated: Sequence[bool] | None) -> list[bool]:
    if escalated is not None:
        return list(escalated)
    return [conf < threshold for conf in decisions.confidence]


def score(
    decisions: Decisions, threshold: float, escalated: Sequence[bool] | None, reviewed: bool
) -> Scores:
    """The measures of one method's decisions: ``escalated`` gives the tasks it sent to review
    (None: those under ``threshold``); with ``reviewed`` they count right."""
    n = len(decisions.correct)
    sent = _sent(decisions, threshold, escalated)
    kept = [t for t in range(n) if not sent[t]]
    right = [decisions.correct[t] or (reviewed and sent[t]) for t in range(n)]
    measured = judged(decisions, threshold, escalated, reviewed)
    return Scores(
        accuracy=sum(right) / n,
        escalated=sum(sent) / n,
        accepted_accuracy=sum(decisions.correct[t] for t in kept) / max(1, len(kept)),
        ece=pairs_error(measured.every),
        accepted_ece=pairs_error(measured.accepted),
        seconds_per_10k=decisions.seconds / n * 10_000,
    )


def pairs_error(pairs: Sequence[tuple[bool, float]]) -> float:
    """:func:`expected_calibration_error` of (right, confidence) pairs."""
    return expected_calibration_error([r for r, _ in pairs], [c for _, c in pairs])


def batch(
    kind: Kind,
    tasks: Sequence[SimTask],
    queues: Sequence[Sequence[tuple[Worker, dict[str, Any]]]],
    gold_tasks: Sequence[SimTask],
    ruche: Replay,
    iterations: int,
    reviews: int = 0,
) -> dict[str, tuple[Decisions, list[bool]]]:
    """Per method, its decisions on the answers and gold Ruche had, and the tasks it sent to
    ``reviews`` reviewers (its least confident ones)."""
    rows: list[dict[str, str]] = []
    decode: dict[str, dict[str, str]] = {}  # unit -> crowd-kit label -> our label
    truths: dict[str, str] = {}  # gold units -> crowd-kit label of the truth

    def add(prefix: str, task: SimTask, given: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        labels: dict[str, list[tuple[str, str]]] = {}
        for worker_id, raw in given:
            for unit, label in kind.units(task, raw).items():
                if not label.startswith("<"):  # blank or unreadable: no label
                    labels.setdefault(unit, []).append((worker_id, label))
        for unit, votes in labels.items():
            names = _by_rank([label for _, label in votes]) if kind.free_values else {}
            key = f"{prefix}:{unit}"
            decode[key] = {name: label for label, name in names.items()}
            rows.extend(
                {"task": key, "worker": w, "label": names.get(label, label)} for w, label in votes
            )

    for t, (task, queue) in enumerate(zip(tasks, queues, strict=True)):
        add(str(t), task, [(worker.id, raw) for worker, raw in queue[: ruche.used[t]]])
    by_gold: dict[int, list[tuple[str, Mapping[str, Any]]]] = {}
    for given in ruche.gold:
        by_gold.setdefault(given.gold, []).append((given.worker, given.answer))
    for g, given in by_gold.items():
        add(f"g{g}", gold_tasks[g], given)
        _truths_of(kind, f"g{g}", gold_tasks[g], decode, truths)
    frame = pd.DataFrame(rows)

    found: dict[str, tuple[Decisions, list[bool]]] = {}
    methods: dict[str, Any] = {
        "MV": MajorityVote(),
        "Wawa": Wawa(),
        "DawidSkene": DawidSkene(n_iter=iterations),
    }
    for name, method in methods.items():
        started = time.perf_counter()
        fit = (
            (lambda m, truth: m.fit_predict_proba(frame, true_labels=pd.Series(truth)))
            if name == "DawidSkene"
            else (lambda m, truth: m.fit_predict_proba(frame))
        )
        probas = fit(method, truths)
        decisions = _decisions(kind, tasks, probas, decode, time.perf_counter() - started)
        sent = [False] * len(tasks)
        if reviews:
            order = sorted(range(len(tasks)), key=lambda t: (decisions.confidence[t], t))
            for t in order[:reviews]:
                sent[t] = True
            if name == "DawidSkene":
                reviewed = dict(truths)
                for t in order[:reviews]:
                    _truths_of(kind, str(t), tasks[t], decode, reviewed)
                started = time.perf_counter()
                probas = fit(DawidSkene(n_iter=iterations), reviewed)
                seconds = decisions.seconds + time.perf_counter() - started
                decisions = _decisions(kind, tasks, probas, decode, seconds)
        found[name] = (decisions, sent)
    return found


def _truths_of(
    kind: Kind, prefix: str, task: SimTask, decode: Mapping[str, Mapping[str, str]],
    into: dict[str, str],
) -> None:  # fmt: skip
    """The crowd-kit label of the truth of each of ``task``'s units that somebody answered."""
    for unit, good in kind.right_units(task).items():
        key = f"{prefix}:{unit}"
        if key not in decode:
            continue
        names = {label: name for name, label in decode[key].items()}
        for label in sorted(good):
            if not kind.free_values:
                into[key] = label
            elif label in names:
                into[key] = names[label]


def _decisions(
    kind: Kind,
    tasks: Sequence[SimTask],
    probas: pd.DataFrame,
    decode: Mapping[str, Mapping[str, str]],
    seconds: float,
) -> Decisions:
    table = probas.fillna(0.0)
    best = table.idxmax(axis=1).to_dict()
    top = table.max(axis=1).to_dict()
    correct, confidence = [], []
    for t, task in enumerate(tasks):
        right, conf = True, 1.0
        for unit, good in kind.right_units(task).items():
            key = f"{t}:{unit}"
            label = best.get(key)
            right = right and decode.get(key, {}).get(label, label) in good
            conf *= float(top.get(key, 0.0))
        correct.append(bool(right))
        confidence.append(min(1.0, max(0.0, conf)))
    return Decisions(correct, confidence, seconds)


def _by_rank(labels: Sequence[str]) -> dict[str, str]:
    """Free values (a name, a date) have no label set shared across tasks, which Dawid-Skene's
    confusion matrices need: name them by rank instead, "#0" for the value given most often in
    the unit, "#1" next (ties: first given first). Majority vote and Wawa are unchanged."""
    order = sorted(dict.fromkeys(labels), key=lambda label: -labels.count(label))
    return {label: f"#{rank}" for rank, label in enumerate(order)}
