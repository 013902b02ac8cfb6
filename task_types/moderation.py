"""Moderation / classification: ``{content, labels, policy?}`` -> ``{label, reasons?}``.

Aggregation is the scalar-skill case of the Dawid-Skene decision rule: a volunteer with skill
``s`` (probability of giving the true label) is modelled as answering the truth with
probability ``s`` and each of the K-1 other labels with probability (1-s)/(K-1). The posterior
over the true label is then p(z) proportional to prod_w theta_w[z, a_w] under a uniform prior
(or the project's class prior, :meth:`ModerationType.with_prior`),
which is a softmax of summed log-odds weights log((K-1)s/(1-s)) on the labels voted for. A
volunteer at chance level (s = 1/K) weighs nothing; below chance, their vote counts against.

With :class:`~task_types.reliability.Reliability` weights each vote enters through the
volunteer's own confusion column instead (Dawid-Skene): theta_w[z, a_w], smoothed towards their
accuracy, so a volunteer who always answers the same label carries no evidence whatever their
accuracy on that label. The posterior is the confidence in both cases.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from task_types.base import THRESHOLD_TOLERANCE, TaskExample, TaskType, Verdict, Weights
from task_types.errors import Problem
from task_types.reliability import Evidence, Reliability
from task_types.text import collapse_whitespace, fold

__all__ = [
    "DEFAULT_SKILL",
    "DEFAULT_THRESHOLD",
    "TASK_TYPE",
    "ModerationAnswer",
    "ModerationPayload",
    "ModerationType",
    "label_log_likelihoods",
    "log_odds_weight",
]

# "No information" about a volunteer: the prior accuracy QUALITY.md recommends for new workers.
DEFAULT_SKILL = 0.7
# Skills of exactly 0 or 1 would make a single vote infinitely strong (log-odds of +-inf).
SKILL_FLOOR, SKILL_CEILING = 0.01, 0.99
# Posterior the winning label needs. With default skills on a two-label task, three unanimous
# votes give 0.93 and are accepted, while a 2-1 split gives 0.70 and two votes alone 0.84: both
# go to another volunteer or a reviewer. Moderation mistakes are costly in both directions (a
# harmful post kept, a legitimate voice silenced), hence a strict bar that NGOs may lower.
DEFAULT_THRESHOLD = 0.9

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ModerationPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    content: str = Field(min_length=1, max_length=20_000, description="What to moderate")
    labels: list[Label] = Field(min_length=2, max_length=50)
    policy: str | None = Field(default=None, max_length=10_000, description="Rules to apply")

    @model_validator(mode="after")
    def _labels_unique(self) -> Self:
        folded = [fold(label) for label in self.labels]
        if len(set(folded)) != len(folded):
            raise ValueError("labels must be unique (ignoring case and accents)")
        return self

    def canonical_label(self, label: str) -> str | None:
        """The payload's spelling of ``label``, matched ignoring case and accents."""
        wanted = fold(label)
        return next((known for known in self.labels if fold(known) == wanted), None)


class ModerationAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Label
    reasons: list[Reason] = Field(default_factory=list, max_length=20)


def log_odds_weight(skill: float, label_count: int) -> float:
    """Evidence one vote carries for the label it names: log((K-1)s/(1-s)), s clipped."""
    clipped = min(SKILL_CEILING, max(SKILL_FLOOR, skill))
    return math.log((label_count - 1) * clipped / (1.0 - clipped))


def label_log_likelihoods(skill: float, voted: str, labels: Sequence[str]) -> list[float]:
    """log P(vote | true label z) for every z: the one place a volunteer's reliability enters.

    A scalar skill spreads its errors evenly over the other labels; a Dawid-Skene confusion
    matrix would return its column for ``voted`` here instead, and nothing else changes.
    """
    clipped = min(SKILL_CEILING, max(SKILL_FLOOR, skill))
    wrong = math.log((1.0 - clipped) / (len(labels) - 1))
    return [math.log(clipped) if label == voted else wrong for label in labels]


class ModerationType(TaskType[ModerationPayload, ModerationAnswer]):
    """``weights`` are skills in [0, 1] (probability of choosing the right label), clipped to
    [0.01, 0.99]; default 0.7 each. Unlike the other types, 1.0 is not "neutral" here."""

    name = "moderation"
    description = "Pick a label for a piece of content; skill-weighted Bayesian vote."
    payload_model = ModerationPayload
    answer_model = ModerationAnswer
    sensitive_fields = frozenset({"content"})
    contribution_unit = "items moderated"
    default_threshold = DEFAULT_THRESHOLD
    example = TaskExample(
        summary="A forum post to moderate",
        project_name="Neighbourhood forum",
        external_id="post-981",
        payload={
            "content": "Cheap watches!!! Visit www.example.com now",
            "labels": ["ok", "spam", "abuse"],
            "policy": "Advertising is spam; insults are abuse.",
        },
        answer={"label": "spam", "reasons": ["advertising"]},
        other_answer={"label": "ok"},
    )

    #: Pseudo-counts of the true label per label (:meth:`with_prior`); empty: uniform prior.
    prior_counts: Mapping[str, float] = MappingProxyType({})

    def with_prior(self, counts: Mapping[str, float]) -> Self:
        """A copy deciding with the class prior pi(z) proportional to counts[z] + 1 over the
        payload's labels (labels matched ignoring case and accents)."""
        clone = copy.copy(self)
        clone.prior_counts = MappingProxyType(dict(counts))
        return clone

    def log_prior(self, payload: ModerationPayload) -> list[float]:
        """log pi(z) over the payload's labels: uniform without counts."""
        counts = [1.0] * len(payload.labels)
        for label, count in self.prior_counts.items():
            known = payload.canonical_label(label)
            if known is not None and count > 0:
                counts[payload.labels.index(known)] += count
        total = math.fsum(counts)
        return [math.log(count / total) for count in counts]

    def check_answer(self, payload: ModerationPayload, answer: ModerationAnswer) -> list[Problem]:
        if payload.canonical_label(answer.label) is not None:
            return []
        listed = ", ".join(repr(label) for label in payload.labels)
        return [Problem(("label",), f"{answer.label!r} is not one of the labels: {listed}")]

    def normalise(self, payload: ModerationPayload, answer: ModerationAnswer) -> ModerationAnswer:
        """The payload's spelling of the label; reasons cleaned and de-duplicated."""
        label = payload.canonical_label(answer.label) or collapse_whitespace(answer.label)
        return ModerationAnswer(label=label, reasons=_distinct(answer.reasons))

    def aggregate(
        self,
        payload: ModerationPayload,
        answers: Sequence[ModerationAnswer],
        weights: Weights = None,
        *,
        threshold: float | None = None,
    ) -> Verdict:
        reliabilities = self.resolve_reliabilities(len(answers), weights)
        if reliabilities is None:
            bar = self.resolve_threshold(threshold)
            skills = self._skills(len(answers), weights)
        else:
            bar = self.resolve_confidence(threshold)
            skills = [reliability.accuracy for reliability in reliabilities]
        if not answers:
            return Verdict.undecided("no_answers")

        labels = payload.labels
        votes, counted, posterior = self._posterior(payload, answers, skills, reliabilities)
        if not counted:
            return Verdict.undecided("no_valid_votes", ignored=list(range(len(votes))))
        # Ties go to the label listed first in the payload (never to arrival order).
        best = max(range(len(labels)), key=lambda z: (posterior[z], -z))
        winner = labels[best]
        support = [index for index in counted if votes[index].label == winner]
        reasons = _distinct([reason for index in support for reason in votes[index].reasons])
        confidence = min(1.0, max(0.0, posterior[best]))
        agreed = confidence >= bar - THRESHOLD_TOLERANCE
        details: dict[str, Any] = {
            "reason": "agreed" if agreed else "low_confidence",
            "threshold": bar,
            "posterior": {label: round(p, 6) for label, p in zip(labels, posterior, strict=True)},
            "vote_weights": [
                round(log_odds_weight(skills[index], len(labels)), 4) for index in counted
            ],
            "ignored": [index for index in range(len(votes)) if index not in counted],
        }
        return Verdict(
            answer={"label": winner, "reasons": reasons},
            confidence=confidence,
            agreed=agreed,
            support=support,
            details=details,
        )

    def answer_evidence(
        self,
        payload: ModerationPayload,
        answers: Sequence[ModerationAnswer],
        reliabilities: Sequence[Reliability],
    ) -> list[Evidence | None]:
        """Each vote against the posterior over the true label: right with the posterior of
        the label it names. A vote nobody else's bears on says nothing (the posterior would
        only echo its author's own accuracy).

        The confusion counts are credited in the row of the decided label only, with its
        posterior (a classification E-step), not in every row with its share of the posterior.
        Spreading the credit lets rows the crowd never decided fill up with the very answers
        that decided against them: on a stream where every task is ``ok``, each unanimous
        ``ok`` put a sliver into P(``ok`` | spam), which made the next ``ok`` vote a little
        weaker evidence against spam, so the sliver grew; three volunteers who always agree
        went from 0.9995 to below 0.9 after ~1,800 tasks. A row is now learnt from the tasks
        decided in it (and from gold and reviews), and stays at its prior until then."""
        if len(reliabilities) != len(answers):
            raise ValueError(f"got {len(answers)} answers but {len(reliabilities)} weights")
        skills = [reliability.accuracy for reliability in reliabilities]
        votes, counted, posterior = self._posterior(payload, answers, skills, reliabilities)
        if len(counted) < 2:
            return [None] * len(answers)
        decided = max(range(len(payload.labels)), key=lambda z: (posterior[z], -z))
        truth = {payload.labels[decided]: posterior[decided]}
        return [
            Evidence(
                right=min(1.0, max(0.0, posterior[payload.labels.index(votes[index].label)])),
                label=votes[index].label,
                truth=truth,
            )
            if index in counted
            else None
            for index in range(len(answers))
        ]

    def hard_evidence(
        self,
        payload: ModerationPayload,
        answers: Sequence[ModerationAnswer],
        truth: ModerationAnswer,
    ) -> list[Evidence | None]:
        true_label = self.normalise(payload, truth).label
        if true_label not in payload.labels:
            return [None] * len(answers)
        known = {label: 1.0 if label == true_label else 0.0 for label in payload.labels}
        evidence: list[Evidence | None] = []
        for answer in answers:
            label = self.normalise(payload, answer).label
            if label not in payload.labels:
                evidence.append(None)
            else:
                right = 1.0 if label == true_label else 0.0
                evidence.append(Evidence(right=right, label=label, truth=known))
        return evidence

    def _skills(self, count: int, weights: Weights) -> list[float]:
        skills = self.resolve_weights(count, weights, default=DEFAULT_SKILL)
        for index, skill in enumerate(skills):
            if skill > 1.0:
                raise ValueError(
                    f"moderation weights are skills in [0, 1]; weight {index} is {skill}"
                )
        return skills

    def _posterior(
        self,
        payload: ModerationPayload,
        answers: Sequence[ModerationAnswer],
        skills: Sequence[float],
        reliabilities: Sequence[Reliability] | None,
    ) -> tuple[list[ModerationAnswer], list[int], list[float]]:
        """The normalised votes, the indexes of those naming a payload label, and the posterior
        over the payload's labels (from the class prior, :meth:`with_prior`; uniform by
        default)."""
        votes, counted, rows = self._evidence_rows(payload, answers, skills, reliabilities)
        if not counted:
            return votes, counted, []
        # Exactly rounded sums: the posterior cannot depend on the order answers arrived in.
        prior = self.log_prior(payload)
        totals = [math.fsum([prior[z], *(row[z] for row in rows)]) for z in range(len(prior))]
        return votes, counted, _softmax(totals)

    def _evidence_rows(
        self,
        payload: ModerationPayload,
        answers: Sequence[ModerationAnswer],
        skills: Sequence[float],
        reliabilities: Sequence[Reliability] | None,
    ) -> tuple[list[ModerationAnswer], list[int], list[list[float]]]:
        """The normalised votes, the indexes of those naming a payload label, and for each of
        those log P(vote | true label z) over the payload's labels."""
        labels = payload.labels
        votes = [self.normalise(payload, answer) for answer in answers]
        counted = [index for index, vote in enumerate(votes) if vote.label in labels]
        rows = [
            label_log_likelihoods(skills[i], votes[i].label, labels)
            if reliabilities is None
            else reliabilities[i].label_log_likelihoods(votes[i].label, labels)
            for i in counted
        ]
        return votes, counted, rows

    def score(
        self, payload: ModerationPayload, answer: ModerationAnswer, gold: ModerationAnswer
    ) -> float:
        same = self.normalise(payload, answer).label == self.normalise(payload, gold).label
        return 1.0 if same else 0.0

    def contribution(self, payload: ModerationPayload, answer: ModerationAnswer) -> int:
        return 1


def _softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = math.fsum(exps)
    return [value / total for value in exps]


def _distinct(reasons: Sequence[str]) -> list[str]:
    """Cleaned reasons, one per meaning (case and accents ignored), sorted so the result does
    not depend on who answered first."""
    by_key: dict[str, str] = {}
    for reason in reasons:
        text = collapse_whitespace(reason)
        if not text:
            continue
        key = fold(text)
        by_key[key] = min(by_key.get(key, text), text)
    return [by_key[key] for key in sorted(by_key)]


TASK_TYPE = ModerationType()
