"""Dawid-Skene EM over a project's recent label answers: the refit's estimates (pure).

One pass, event by event, never revisits an early estimate: a volunteer judged on their first
answers, against decisions taken with everyone's early estimates, keeps those judgements until
they fade. Batch Dawid-Skene on the very answers Ruche asked for decided better than Ruche's own
online decisions (QUALITY.md: 90.6 vs 85.8). :func:`fit` runs the EM over the project's recent
tasks and gold answers; :mod:`core.quality.refit` puts its counts in place of the online ones,
and decisions stay online, with the estimates of their moment.

The model is the online one's, so the counts it returns mean the same thing:

- the class prior is fixed (the project's stated base rates and gold, ``prior``), never learnt
  from the tasks it decides (that snowballs towards the majority class);
- each confusion row is smoothed like :meth:`task_types.reliability.Reliability
  .label_log_likelihoods` (``strength`` pseudo-answers centred on ``accuracy``);
- a gold answer is hard evidence in its true row (weight ``gold_weight``); an answer to a task
  is spread over the rows by the task's posterior (the E-step), at ``task_weight``, the weight
  of the online agreement credit, so a count from the refit and one from a later event are on
  one scale.

Bounded: ``max_iterations`` and a ``deadline`` (a monotonic time) stop it early, with the last
complete estimate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from task_types.reliability import (
    DEFAULT_ACCURACY,
    DEFAULT_STRENGTH,
    clip_accuracy,
    smoothed_confusion,
)

__all__ = ["Fit", "GoldVote", "Vote", "fit"]

Vote = tuple[str, str]  # (volunteer, answered label)
GoldVote = tuple[str, str, str]  # (volunteer, answered label, true label)
Counts = dict[str, dict[str, dict[str, float]]]  # volunteer -> true -> answered -> count


@dataclass(frozen=True, slots=True)
class Fit:
    counts: Counts  # expected confusion counts per volunteer (gold and tasks, weighted)
    posteriors: list[list[float]]  # per task, over ``labels``
    iterations: int
    converged: bool


def fit(
    labels: Sequence[str],
    tasks: Sequence[Sequence[Vote]],
    gold: Sequence[GoldVote] = (),
    *,
    prior: Mapping[str, float] | None = None,
    accuracy: Mapping[str, float] | None = None,
    strength: float = DEFAULT_STRENGTH,
    task_weight: float = 0.5,
    gold_weight: float = 1.0,
    max_iterations: int = 50,
    tolerance: float = 1e-6,
    deadline: float | None = None,
) -> Fit:
    """EM from the online model's starting point (no counts: each volunteer at their type
    ``accuracy``, default :data:`DEFAULT_ACCURACY`). Answers naming no label of ``labels``
    are left out."""
    k = len(labels)
    index = {label: z for z, label in enumerate(labels)}
    clean = [[(v, a) for v, a in task if a in index] for task in tasks]
    hard = [(v, a, t) for v, a, t in gold if a in index and t in index]
    pseudo = [1.0 + max(0.0, (prior or {}).get(label, 0.0)) for label in labels]
    total = math.fsum(pseudo)
    log_prior = [math.log(p / total) for p in pseudo]
    skill = dict(accuracy or {})

    counts = _counts(labels, clean, [], hard, task_weight, gold_weight)  # gold only, at first
    posteriors: list[list[float]] = []
    iterations, converged = 0, False
    while iterations < max_iterations:
        if deadline is not None and time.monotonic() > deadline:
            break
        tables = {
            volunteer: _log_theta(labels, counts.get(volunteer, {}), skill.get(volunteer), strength)
            for volunteer in {v for task in clean for v, _ in task}
        }
        new = [_posterior(log_prior, [tables[v][index[a]] for v, a in task], k) for task in clean]
        iterations += 1
        change = max(
            (
                abs(p - q)
                for old, cur in zip(posteriors, new, strict=False)
                for p, q in zip(old, cur, strict=True)
            ),
            default=math.inf,
        )
        posteriors = new
        counts = _counts(labels, clean, posteriors, hard, task_weight, gold_weight)
        if change < tolerance:
            converged = True
            break
    return Fit(counts, posteriors, iterations, converged)


def _log_theta(
    labels: Sequence[str],
    rows: Mapping[str, Mapping[str, float]],
    accuracy: float | None,
    strength: float,
) -> list[list[float]]:
    """Per answered label, log θ[true, answered] over the true labels: the smoothing of
    ``Reliability.label_log_likelihoods``."""
    theta = smoothed_confusion(
        rows, labels, DEFAULT_ACCURACY if accuracy is None else accuracy, strength
    )
    return [[math.log(clip_accuracy(row[a])) for row in theta] for a in range(len(labels))]


def _posterior(
    log_prior: Sequence[float], columns: Sequence[Sequence[float]], k: int
) -> list[float]:
    totals = [math.fsum([log_prior[z], *(column[z] for column in columns)]) for z in range(k)]
    top = max(totals)
    exps = [math.exp(t - top) for t in totals]
    norm = math.fsum(exps)
    return [e / norm for e in exps]


def _counts(
    labels: Sequence[str],
    tasks: Sequence[Sequence[Vote]],
    posteriors: Sequence[Sequence[float]],
    gold: Sequence[GoldVote],
    task_weight: float,
    gold_weight: float,
) -> Counts:
    counts: Counts = {}

    def add(volunteer: str, true: str, answered: str, amount: float) -> None:
        row = counts.setdefault(volunteer, {}).setdefault(true, {})
        row[answered] = row.get(answered, 0.0) + amount

    for volunteer, answered, true in gold:
        add(volunteer, true, answered, gold_weight)
    for task, posterior in zip(tasks, posteriors, strict=False):
        if len(task) < 2:
            continue  # a lone answer says nothing about its author (as online)
        # The decided row only, with its posterior (a classification E-step, as online):
        # spread over every row, the rows of labels rarely decided fill up with the answers
        # that decided against them, and a rare label's votes weaken.
        decided = max(range(len(posterior)), key=lambda z: (posterior[z], -z))
        for volunteer, answered in task:
            add(volunteer, labels[decided], answered, task_weight * posterior[decided])
    return counts
