"""Confidence that means what it says, and a threshold that keeps the review share near a target.

A task type's confidence is the posterior of its model, which trusts its reliability estimates
more than they deserve (early estimates, correlated errors): on the benchmark, tasks accepted at
a mean confidence of 97 % were 87 % right. Two small pure pieces, fitted off the hot path by the
refit (:mod:`core.quality.refit`) and applied on it by :func:`core.quality.aggregation.decide`:

- :class:`Calibration`: Platt scaling on the log-odds of the confidence, ``p = sigmoid(a·logit(c) +
  b)``, fitted on gold checks (the project's gold tasks decided from their volunteers' answers,
  each answer's own gold evidence left out of its author's reliability). Two numbers, so a few
  dozen checks fit it, and a prior centred on the identity (worth :data:`PRIOR_CHECKS` checks)
  keeps a small set from swinging it. A temperature (``a``) below 1 pulls overconfident
  posteriors in; ``b`` corrects a bias either way.
- :func:`choose_threshold`: from the project's recent decisions (their confidence, calibrated,
  and whether they were taken at the ceiling), the highest threshold that sends at most the
  NGO's ``target_share`` of tasks to review, unless the tasks it would accept fall short of
  ``target_accuracy``: then the lowest threshold that meets it. The choice says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "IDENTITY",
    "MIN_CHECKS",
    "MIN_DECISIONS",
    "MIN_GOLD_TASKS",
    "PRIOR_CHECKS",
    "SHARE_FEEDBACK",
    "THRESHOLD_BOUNDS",
    "Calibration",
    "Check",
    "RecentDecision",
    "ThresholdChoice",
    "choose_threshold",
    "fit_calibration",
]

#: Gold checks needed before a calibration is fitted; fewer leave the identity...
MIN_CHECKS = 30
#: ...and distinct gold tasks they come from: checks from a handful of items say more about
#: those items than about the confidence (on the benchmark, 20 items made it worse; measured
#: again pooled over seeds, 20 helped half poor on seeds 4-9 and hurt it on seeds 1-3, 35 both).
MIN_GOLD_TASKS = 50
#: Checks' worth of belief in the identity map (a Gaussian prior on ``a - 1`` and ``b``). Gold
#: checks are few and share their volunteers: on the benchmark's data entry, where the raw
#: confidence of the project's own decisions was already about right (right 70 % of the time
#: at 0.70), fits on one run's gold put 0.70 anywhere from 0.59 to 0.78, and a bootstrap over
#: one run's checks spread it by ±0.06. With 10 checks' worth, data entry half poor ended at an
#: ECE of 5.6; with 40, 4.7, and the label types no worse (then 3.8 with
#: :data:`core.quality.refit.GOLD_ORDERS`; docs/quality.md, "Calibrated confidence"). Those are
#: each seed's figure, which a perfectly calibrated method would read at 3.5 there; pooled over
#: the seeds, 20 checks' worth was worse than 40 on half poor and on data entry half poor, on
#: both seed sets.
PRIOR_CHECKS = 40.0
#: Recent decisions needed before a threshold is chosen from them. Few: until then every task
#: short of the type's default at the ceiling goes to review (on the benchmark's half-poor
#: translation crowd, 37 % of the first 50 tasks with 50 needed, 23 % with 10), and the early
#: refits (:data:`~core.quality.project_quality.REFIT_EARLY`) revise a first rough choice within
#: tens of decisions.
MIN_DECISIONS = 10
#: How much of the gap between the target review share and the share the recent decisions
#: sent to review the next choice aims to close (:func:`choose_threshold`).
SHARE_FEEDBACK = 0.5
#: The thresholds a choice stays within: never accept a coin flip, never demand certainty.
THRESHOLD_BOUNDS = (0.5, 0.99)
_EPS = 1e-6


def _logit(p: float) -> float:
    p = min(1.0 - _EPS, max(_EPS, p))
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@dataclass(frozen=True, slots=True)
class Calibration:
    """``p = sigmoid(a·logit(c) + b)``: the probability a decision at confidence ``c`` is right."""

    a: float = 1.0
    b: float = 0.0
    #: Gold checks' worth it was fitted on, a group of gold answers counting one however many
    #: decisions it gave (0: the identity, nothing fitted).
    checks: int = 0

    def __call__(self, confidence: float) -> float:
        if self.checks == 0:
            return confidence
        return _sigmoid(self.a * _logit(confidence) + self.b)

    def to_json(self) -> dict[str, Any]:
        return {"a": round(self.a, 6), "b": round(self.b, 6), "checks": self.checks}

    @classmethod
    def from_json(cls, raw: Any) -> Calibration:
        if not isinstance(raw, Mapping):
            return IDENTITY
        try:
            a, b, checks = float(raw["a"]), float(raw["b"]), int(raw["checks"])
        except (KeyError, TypeError, ValueError):
            return IDENTITY
        if not (math.isfinite(a) and math.isfinite(b)) or a <= 0 or checks <= 0:
            return IDENTITY
        return cls(a, b, checks)


IDENTITY = Calibration()


@dataclass(frozen=True, slots=True)
class Check:
    """A decision whose truth is known: its (raw) confidence and whether it was right."""

    confidence: float
    right: bool
    #: What it counts for in the fit: the nested decisions of one group of answers (3, then 4,
    #: then 5 of the same answers) share most of their evidence, so together they count once.
    weight: float = 1.0


def fit_calibration(
    checks: Sequence[Check], gold_tasks: int | None = None, iterations: int = 25
) -> Calibration:
    """Penalised logistic regression of rightness on the confidence's log-odds (Newton's
    method on two parameters), each check counting its weight. Too few checks' worth, or from
    too few distinct ``gold_tasks`` (None: as many as checks): the identity."""
    worth = math.fsum(check.weight for check in checks)
    if worth < MIN_CHECKS or (gold_tasks is not None and gold_tasks < MIN_GOLD_TASKS):
        return IDENTITY
    xs = [_logit(check.confidence) for check in checks]
    ys = [1.0 if check.right else 0.0 for check in checks]
    ws = [check.weight for check in checks]
    a, b = 1.0, 0.0
    # The prior's precision: PRIOR_CHECKS observations' worth of curvature at p(1-p) = 1/4.
    lam = PRIOR_CHECKS / 4.0
    for _ in range(iterations):
        ga, gb = -lam * (a - 1.0), -lam * b
        haa, hab, hbb = lam, 0.0, lam
        for x, y, weight in zip(xs, ys, ws, strict=True):
            p = _sigmoid(a * x + b)
            r = weight * (y - p)
            w = weight * p * (1.0 - p)
            ga += r * x
            gb += r
            haa += w * x * x
            hab += w * x
            hbb += w
        det = haa * hbb - hab * hab
        if det <= 1e-12:
            break
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a, b = a + da, b + db
        if abs(da) < 1e-9 and abs(db) < 1e-9:
            break
    # A decreasing map would rank tasks backwards: keep a positive slope.
    return Calibration(max(a, 0.05), b, max(1, round(worth)))


@dataclass(frozen=True, slots=True)
class RecentDecision:
    """A recent final decision of the project: its raw confidence and its answers."""

    confidence: float
    answers: int


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """The threshold a project's decisions use, and the figures it was chosen on."""

    threshold: float
    reason: str  # share_target | accuracy_target | default
    expected_share: float | None  # share of tasks expected to go to review
    expected_accuracy: float | None  # expected accuracy of the tasks accepted
    decisions: int  # recent decisions it was chosen on
    note: str  # one sentence for the NGO
    #: When the accuracy target won: the expected accuracy of the accepted tasks had the
    #: share target been kept (what keeping it would have cost). None otherwise.
    accuracy_at_target_share: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": round(self.threshold, 4),
            "reason": self.reason,
            "expected_share": _rounded(self.expected_share),
            "expected_accuracy": _rounded(self.expected_accuracy),
            "decisions": self.decisions,
            "note": self.note,
            "accuracy_at_target_share": _rounded(self.accuracy_at_target_share),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def choose_threshold(
    decisions: Sequence[RecentDecision],
    calibration: Calibration,
    *,
    ceiling: int,
    default: float,
    target_share: float,
    target_accuracy: float,
    recent_share: float | None = None,
) -> ThresholdChoice:
    """The threshold on calibrated confidence that decides, at the ceiling (``ceiling``
    answers: no more may be asked for), between accepting a task and a reviewer. ``default``
    (the threshold below which a task gets one more answer) stands while too few decisions are
    in.

    From the recent decisions: a task decided at the ceiling at confidence c goes to review
    under any threshold above c; one decided before it was accepted there and then, whatever
    the threshold at the ceiling. The share is then exact for the decisions seen: below the
    target, the threshold rises (up to 0.99), so the review budget goes to the least confident
    tasks; above it, it falls as far as the accuracy target allows. The accepted tasks'
    expected accuracy is their mean calibrated confidence.

    ``recent_share``, the share of these decisions that did go to review, steers the aim:
    confidences drift as volunteers' records grow (up on a steady crowd, down on a worsening
    one), so a threshold that would have sent the target share of past decisions sends another
    share of the next ones. The aim moves by :data:`SHARE_FEEDBACK` of the gap, the other way,
    within half and twice the target."""
    if len(decisions) < MIN_DECISIONS:
        return ThresholdChoice(
            default, "default", None, None, len(decisions),
            f"Too few decisions yet ({len(decisions)} of {MIN_DECISIONS}) to choose a "
            f"threshold: the task type's {default:.2f} applies.",
        )  # fmt: skip
    scored = [(calibration(d.confidence), d.answers >= ceiling) for d in decisions]
    n = len(scored)
    low, high = THRESHOLD_BOUNDS
    candidates = sorted({low, high, *(c for c, _ in scored if low <= c <= high)})

    def share(threshold: float) -> float:
        return sum(1 for c, last in scored if last and c < threshold) / n

    def accuracy(threshold: float) -> float | None:
        accepted = [c for c, last in scored if not last or c >= threshold]
        return math.fsum(accepted) / len(accepted) if accepted else None

    aim = target_share
    if recent_share is not None:
        steered = target_share + SHARE_FEEDBACK * (target_share - recent_share)
        aim = min(2.0 * target_share, max(0.5 * target_share, steered))
    within = [t for t in candidates if share(t) <= aim]
    by_share = max(within) if within else low
    accurate = [t for t in candidates if (accuracy(t) or 0.0) >= target_accuracy]
    by_accuracy = min(accurate) if accurate else high
    if by_share >= by_accuracy:
        chosen, reason = by_share, "share_target"
        note = (
            f"The highest threshold that keeps the review share near the target "
            f"({target_share:.0%}); accepted tasks are expected "
            f"{accuracy(chosen) or 0.0:.1%} right (target {target_accuracy:.0%})."
        )
        if recent_share is not None and abs(aim - target_share) >= 0.005:
            note += (
                f" {recent_share:.0%} of the last {n} decisions went to review, so it aims at "
                f"{aim:.0%} of them to bring the share back to the target."
            )
        return ThresholdChoice(chosen, reason, share(chosen), accuracy(chosen), n, note)
    # Both targets cannot be met: the accuracy target wins, and the note says what each
    # would cost (a crowd where half the volunteers are no help cannot make 90 % of its
    # tasks 90 % right on five answers each, however the answers are weighed).
    chosen, reason = by_accuracy, "accuracy_target"
    kept = accuracy(by_share) or 0.0
    reached = accuracy(chosen)
    if reached is None:
        short = ": no task decided at the ceiling is confident enough to accept."
    elif reached < target_accuracy:
        short = f", and even then accepted tasks are expected only {reached:.0%} right."
    else:
        short = "."
    note = (
        f"Both targets cannot be met: with {share(by_share):.0%} of tasks to review (the "
        f"target share is {target_share:.0%}) accepted tasks would be about {kept:.0%} "
        f"right, short of the accuracy target "
        f"({target_accuracy:.0%}), so the accuracy target wins and about {share(chosen):.0%} "
        f"of tasks are expected to go to review{short} More answers per task "
        "(max_redundancy) or better volunteers lower it."
    )
    return ThresholdChoice(chosen, reason, share(chosen), accuracy(chosen), n, note, kept)
