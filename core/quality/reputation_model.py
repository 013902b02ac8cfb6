"""The reputation model: what is kept per volunteer and task type, and what evidence does to it.

Pure functions and values; :mod:`core.quality.reputation` stores them. Per volunteer, one Redis hash
(``G:vol:<id>:rep``) holds JSON counts in two kinds of field:

- ``t:<task type>``: ``{"r": right, "w": wrong, "n": {source: observations}}``, Beta counts of
  the volunteer's accuracy on that type, across projects. Data entry counts field readings, the
  other types answers. The accuracy is the Beta posterior mean under a prior of
  ``PRIOR_ACCURACY`` worth ``PRIOR_STRENGTH`` answers, so a newcomer starts neutral.
- ``p:<task type>:<project>``: what one project adds. Label types keep a Dawid-Skene confusion
  count ``{"c": {true label: {answered label: count}}}`` (labels are a project's own), data
  entry right/wrong counts per field ``{"f": {field: {"r": .., "w": ..}}}``.

Evidence fades (QUALITY.md: "decay towards the prior so reliability follows drift"): each
document also holds ``u``, when it was last brought up to date, and ``h``, the half-life it fades
with (``RUCHE_REPUTATION_HALF_LIFE_DAYS``, :data:`DEFAULT_HALF_LIFE_DAYS` by default), and each
count of evidence in it (``r``, ``w``, ``c``, ``f``) is worth ``2^(-(now - u) / h)`` of itself at
``now``. Gold, review and agreement evidence fade alike; the prior does not, so the estimate of
a volunteer whose record is old drifts back to it. The tally ``n`` does not fade: it is what the
volunteer was seen doing, ever. Nothing sweeps the store: the scripts fade a document when they
write it and when they read it (``core/quality/_reputation.lua``), so what is read here is
always up to date.

A floor waits for :data:`FLOOR_MIN_EVIDENCE` answers' worth of observations (the tally, so a
volunteer excluded on exactly that much is not let back a moment later, as faded evidence would
be), then judges the faded accuracy: as an old record fades the estimate drifts back to the
prior, above most floors, so an excluded volunteer gets another chance after a time that grows
with how much evidence there was against them, and is excluded again at once if nothing changed.

Evidence comes from three sources, weighted by how much it can be trusted: a gold answer (the
truth, set by the NGO), a reviewer's decision (the truth, but on tasks selected for being hard:
used in the counts, never as a class prior), and agreement with an accepted result (the
aggregation's posterior standing in for the truth, hence weaker, and taken back when a reviewer
settles the task). An update is a list of :data:`Delta` increments, applied atomically.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from task_types.reliability import DEFAULT_ACCURACY, DEFAULT_STRENGTH, Evidence, Reliability

__all__ = [
    "DEFAULT_HALF_LIFE_DAYS",
    "FLOOR_MIN_EVIDENCE",
    "PRIOR_ACCURACY",
    "PRIOR_STRENGTH",
    "SOURCE_WEIGHTS",
    "Delta",
    "Source",
    "TypeReputation",
    "below_floor",
    "describe",
    "evidence_deltas",
    "excluded",
    "project_field",
    "reliability",
    "reprior",
    "type_field",
]

PRIOR_ACCURACY = DEFAULT_ACCURACY
#: Answers' worth of evidence the prior stands for: a few, so real evidence soon dominates.
PRIOR_STRENGTH = 8.0
#: A floor is enforced only once this many answers' worth of evidence was observed (the tally,
#: sources weighted as in the counts): a newcomer is never excluded on the prior alone, nor on
#: one unlucky answer.
FLOOR_MIN_EVIDENCE = 8.0
#: Days after which evidence counts half: long enough that a volunteer's record outlives a
#: quiet season, short enough that a year-old record no longer outweighs what they do now.
DEFAULT_HALF_LIFE_DAYS = 90.0
# Amounts this small are float dust (a retraction cancelling a credit, faded evidence); never
# stored (core/quality/_reputation.lua's REPUTATION_DUST).
_DUST = 1e-9


class Source(StrEnum):
    GOLD = "gold"
    REVIEW = "review"
    AGREEMENT = "agreement"


#: How much one observation from each source counts. Agreement is evidence about the volunteer
#: only as far as the others were right, so it counts half.
SOURCE_WEIGHTS: Mapping[Source, float] = {
    Source.GOLD: 1.0,
    Source.REVIEW: 1.0,
    Source.AGREEMENT: 0.5,
}
_WEIGHT_BY_NAME = {source.value: weight for source, weight in SOURCE_WEIGHTS.items()}

#: One increment: (hash field, path inside its JSON document, amount).
Delta = tuple[str, tuple[str, ...], float]


def type_field(task_type: str) -> str:
    return f"t:{task_type}"


def project_field(task_type: str, project_id: str) -> str:
    return f"p:{task_type}:{project_id}"


@dataclass(frozen=True, slots=True)
class TypeReputation:
    """A volunteer's standing on one task type."""

    task_type: str
    right: float = 0.0
    wrong: float = 0.0
    observations: Mapping[str, float] = field(default_factory=dict)  # per source

    @classmethod
    def from_json(cls, task_type: str, raw: str | bytes | None) -> TypeReputation:
        document = _document(raw)
        counts = document.get("n")
        return cls(
            task_type,
            right=_count(document.get("r")),
            wrong=_count(document.get("w")),
            observations={
                str(name): _count(value)
                for name, value in (counts.items() if isinstance(counts, dict) else ())
            },
        )

    @property
    def evidence(self) -> float:
        """Answers' (or field readings') worth of evidence, prior excluded, as faded now."""
        return self.right + self.wrong

    @property
    def observed(self) -> float:
        """Answers' worth of evidence ever observed (the tally, which does not fade)."""
        return math.fsum(
            _WEIGHT_BY_NAME.get(name, 1.0) * count for name, count in self.observations.items()
        )

    @property
    def accuracy(self) -> float:
        """Posterior mean of the accuracy: PRIOR_ACCURACY for a newcomer."""
        prior = PRIOR_ACCURACY * PRIOR_STRENGTH
        return (prior + self.right) / (PRIOR_STRENGTH + self.evidence)


def reliability(standing: TypeReputation, project_raw: str | bytes | None) -> Reliability:
    """What a task type needs to weigh this volunteer's answer on one project's task."""
    document = _document(project_raw)
    confusion = document.get("c")
    fields = document.get("f")
    return Reliability(
        accuracy=standing.accuracy,
        evidence=standing.evidence,
        confusion={
            str(true): {str(answered): _count(n) for answered, n in row.items()}
            for true, row in (confusion.items() if isinstance(confusion, dict) else ())
            if isinstance(row, dict)
        },
        fields={
            str(name): (_count(counts.get("r")), _count(counts.get("w")))
            for name, counts in (fields.items() if isinstance(fields, dict) else ())
            if isinstance(counts, dict)
        },
        strength=DEFAULT_STRENGTH,
    )


def reprior(found: Reliability, prior_accuracy: float | None) -> Reliability:
    """``found`` (read with the global prior, :data:`PRIOR_ACCURACY`) as if its accuracy had
    been shrunk towards ``prior_accuracy`` instead: the project's own newcomer prior, learnt
    from its gold answers (:mod:`core.quality.refit`). The same :data:`PRIOR_STRENGTH`
    pseudo-answers, so a volunteer with a long record hardly moves, and a newcomer gets the
    accuracy the project's crowd actually has. None: ``found`` unchanged."""
    if prior_accuracy is None or abs(prior_accuracy - PRIOR_ACCURACY) < 1e-12:
        return found
    shift = (prior_accuracy - PRIOR_ACCURACY) * PRIOR_STRENGTH / (PRIOR_STRENGTH + found.evidence)
    return replace(found, accuracy=min(1.0, max(0.0, found.accuracy + shift)))


def evidence_deltas(
    task_type: str, project_id: str, evidence: Evidence, source: Source
) -> list[Delta]:
    """The increments one answer's evidence makes to its author's counts."""
    weight = SOURCE_WEIGHTS[source] * evidence.mass
    if weight <= 0:
        return []
    overall, detail = type_field(task_type), project_field(task_type, project_id)
    deltas: list[Delta] = []
    if evidence.fields:
        right = math.fsum(evidence.fields.values())
        wrong = math.fsum(1.0 - p for p in evidence.fields.values())
        for name, p in sorted(evidence.fields.items()):
            deltas += [(detail, ("f", name, "r"), weight * p)]
            deltas += [(detail, ("f", name, "w"), weight * (1.0 - p))]
    else:
        right, wrong = evidence.right, 1.0 - evidence.right
    deltas += [
        (overall, ("r",), weight * right),
        (overall, ("w",), weight * wrong),
        (overall, ("n", source.value), evidence.mass),
    ]
    if evidence.label is not None and evidence.truth:
        for true, p in sorted(evidence.truth.items()):
            deltas.append((detail, ("c", true, evidence.label), weight * p))
    return [delta for delta in deltas if abs(delta[2]) > _DUST]


def below_floor(standing: TypeReputation, floor: float | None) -> bool:
    """Whether a project's floor (None or 0: none) excludes this volunteer: only once enough
    evidence says their accuracy is below it."""
    if floor is None or floor <= 0:
        return False
    return standing.observed >= FLOOR_MIN_EVIDENCE and standing.accuracy < floor


def excluded(
    standings: Mapping[str, TypeReputation], floors: Mapping[str, float | None]
) -> frozenset[str]:
    """The task types (keys of ``floors``, each with the floor to apply) this volunteer is
    below the floor of."""
    return frozenset(
        task_type
        for task_type, floor in floors.items()
        if below_floor(standings.get(task_type) or TypeReputation(task_type), floor)
    )


def describe(
    standings: Iterable[TypeReputation], floors: Mapping[str, float | None] | None = None
) -> dict[str, Any]:
    """A JSON-able summary per task type: the accuracy estimate, the evidence behind it, and
    whether the given floor (if any) excludes the volunteer. Shown to the NGO (why someone no
    longer receives a type) and, for their own record, to the volunteer."""
    floors = floors or {}
    summary: dict[str, Any] = {}
    for standing in standings:
        floor = floors.get(standing.task_type)
        summary[standing.task_type] = {
            "accuracy": round(standing.accuracy, 4),
            "evidence": round(standing.evidence, 2),
            "observations": {
                source.value: round(standing.observations.get(source.value, 0.0), 2)
                for source in Source
            },
            "floor": floor,
            "below_floor": below_floor(standing, floor),
            "prior_only": standing.observed == 0,
        }
    return summary


def _document(raw: str | bytes | None) -> dict[str, Any]:
    if raw is None or raw in ("", b""):
        return {}
    parsed = json.loads(raw)
    return parsed if isinstance(parsed, dict) else {}


def _count(value: Any) -> float:
    """A stored count: float dust and anything unreadable read as 0, never negative."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) and number > _DUST else 0.0
