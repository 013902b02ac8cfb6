"""What is known about a volunteer, as a task type reads it, and what an answer says about them.

Two values cross the boundary between the kernel's reputation store and the pure task types:

- :class:`Reliability` goes in: a volunteer's estimated accuracy for one task type, plus the raw
  evidence counts of the project at hand (a Dawid-Skene confusion count per true label for label
  types, right/wrong counts per field for data entry). The task type turns counts into
  probabilities itself, for the labels or fields of the payload in front of it, shrinking them
  towards ``accuracy`` by ``strength`` pseudo-answers, so a newcomer (no counts) is neutral.
- :class:`Evidence` comes out: what one answer says about its author once the truth is known
  (gold, a reviewer's decision: hard evidence) or estimated (the posterior of an aggregation:
  soft evidence). The kernel turns it into count increments.

Both are plain data: no I/O, no knowledge of how the kernel stores them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ACCURACY_CEILING",
    "ACCURACY_FLOOR",
    "DEFAULT_ACCURACY",
    "DEFAULT_STRENGTH",
    "NEUTRAL",
    "Evidence",
    "Reliability",
    "clip_accuracy",
    "log_odds",
    "posterior_from_scores",
    "prior_rows",
    "smoothed_confusion",
]

# The prior for anyone we know nothing about: QUALITY.md's "around 0.7".
DEFAULT_ACCURACY = 0.7
# Pseudo-answers a confusion row or a field count starts with, centred on the type accuracy.
DEFAULT_STRENGTH = 6.0
# Accuracies of exactly 0 or 1 would make one answer infinitely strong (log-odds of +-inf).
ACCURACY_FLOOR, ACCURACY_CEILING = 0.01, 0.99


def clip_accuracy(value: float) -> float:
    return min(ACCURACY_CEILING, max(ACCURACY_FLOOR, value))


def log_odds(accuracy: float, alternatives: float) -> float:
    """Evidence one answer carries for what it says, among ``alternatives`` + 1 possibilities
    where errors spread evenly: log(alternatives * s / (1 - s)); 0 at chance level."""
    clipped = clip_accuracy(accuracy)
    return math.log(alternatives * clipped / (1.0 - clipped))


def posterior_from_scores(scores: Sequence[float], unobserved: float = 0.0) -> list[float]:
    """Softmax of log-scores, with ``unobserved`` more possibilities of score 0 sharing the
    rest of the mass (values nobody answered, but which could still be the truth)."""
    top = max([*scores, 0.0]) if unobserved > 0 else max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = math.fsum([*exps, unobserved * math.exp(-top)])
    return [value / total for value in exps]


@dataclass(frozen=True, slots=True)
class Reliability:
    """One volunteer's reliability for one task (type-level accuracy, project-level counts)."""

    accuracy: float = DEFAULT_ACCURACY
    #: Answers' worth of evidence behind ``accuracy`` (0: the prior alone).
    evidence: float = 0.0
    #: Label types: true label -> answered label -> (fractional) count.
    confusion: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: Data entry: field name -> (right, wrong) (fractional) counts.
    fields: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    #: Pseudo-answers on ``accuracy`` behind each confusion row and each field count.
    strength: float = DEFAULT_STRENGTH

    def label_log_likelihoods(self, voted: str, labels: Sequence[str]) -> list[float]:
        """log P(answer ``voted`` | true label z) for every z of ``labels``: the column of a
        Dirichlet-smoothed confusion matrix (:func:`smoothed_confusion`). Without counts it is
        the scalar-accuracy case (errors spread evenly over the other labels)."""
        theta = smoothed_confusion(self.confusion, labels, self.accuracy, self.strength)
        column = labels.index(voted) if voted in labels else None
        if column is None:
            return [math.log(ACCURACY_FLOOR)] * len(labels)
        return [math.log(clip_accuracy(row[column])) for row in theta]

    def field_accuracy(self, name: str) -> float:
        """Probability this volunteer reads field ``name`` right: its counts, shrunk towards
        the type-level accuracy."""
        right, wrong = self.fields.get(name, (0.0, 0.0))
        right, wrong = max(0.0, right), max(0.0, wrong)
        shrunk = (self.accuracy * self.strength + right) / (self.strength + right + wrong)
        return clip_accuracy(shrunk)


def smoothed_confusion(
    confusion: Mapping[str, Mapping[str, float]],
    labels: Sequence[str],
    accuracy: float,
    strength: float,
) -> list[list[float]]:
    """theta[z][a] = P(answer labels[a] | true labels[z]) for one volunteer: each row of counts
    smoothed by ``strength`` pseudo-answers centred on the volunteer's ``accuracy`` on the
    diagonal, their errors spread the way they usually answer (:func:`prior_rows`). The online model
    (:meth:`Reliability.label_log_likelihoods`) and the refit's EM
    (:mod:`core.quality.dawid_skene`) share it, so their counts mean the same thing."""
    k = len(labels)
    rows = []
    for true in labels:
        row = confusion.get(true) or {}
        rows.append([max(0.0, float(row.get(label, 0.0))) for label in labels])
    base = prior_rows(rows, accuracy, strength)
    table = []
    for z in range(k):
        seen = math.fsum(rows[z])
        table.append([(base[z][a] * strength + rows[z][a]) / (strength + seen) for a in range(k)])
    return table


def prior_rows(
    rows: Sequence[Sequence[float]], accuracy: float, strength: float
) -> list[list[float]]:
    """The confusion rows a volunteer's counts are shrunk towards: ``accuracy`` on the
    diagonal, and the rest, their errors, spread over the other labels the way they usually
    answer: in proportion to q, the share of each label among their counted answers (every
    row), shrunk towards even by ``strength`` pseudo-answers. A newcomer (no counts) has even
    errors, the scalar-accuracy case. One who always answers ``ok`` is right as often as
    ``ok`` is the truth, and spread evenly their errors made each ``ok`` of theirs evidence for
    ``ok`` (P(ok | ok) = s against P(ok | spam) = (1 - s) / (K - 1)) until every row had been
    corrected by many counts; following their answers, P(ok | spam) is near 1 - s from their
    first few, and their ``ok`` says much less. With two labels there is one way to err, and
    nothing changes."""
    k = len(rows)
    s = clip_accuracy(accuracy)
    answered = [math.fsum(rows[z][a] for z in range(k)) for a in range(k)]
    total = math.fsum(answered)
    if strength > 0 or total > 0:
        q = [(answered[a] + strength / k) / (total + strength) for a in range(k)]
    else:
        q = [1.0 / k] * k
    table = []
    for z in range(k):
        others = 1.0 - q[z]
        table.append(
            [
                s if a == z else (1.0 - s) * (q[a] / others if others > 0 else 1.0 / (k - 1))
                for a in range(k)
            ]
        )
    return table


#: Someone the kernel knows nothing about.
NEUTRAL = Reliability()


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one answer says about its author.

    ``right`` is the probability the answer is right, ``mass`` how much of one observation this
    is (1 for a known truth; less where the posterior leaves part of it undecided). Label types
    add the answered ``label`` and ``truth``, the distribution of the true label; data entry adds
    ``fields``, the probability each field it read was read right (abstentions are left out).
    """

    right: float
    mass: float = 1.0
    label: str | None = None
    truth: Mapping[str, float] | None = None
    fields: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        for name, value in (("right", self.right), ("mass", self.mass)):
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"evidence {name} must be within [0, 1], got {value!r}")
