"""Which reading of a field is the document's, given who read what and how reliably.

The model behind data entry's reliability path: a volunteer with accuracy ``s`` on a field
reads the document's value with probability ``s``; otherwise they produce one of ``M - 1``
wrong readings, evenly (typos and misreadings rarely coincide). A reading backed by volunteers
``W`` then scores sum over W of log((M - 1) s / (1 - s)), a reading nobody gave scores 0, and
the posterior of a reading is its softmax over every reading, seen or not (uniform prior over
``M`` possible values). One volunteer alone gets exactly their accuracy; two agreeing strangers
on a name get far more than two agreeing on a yes/no choice, as they should.

Misreadings are not quite even: a slip (a letter dropped, doubled or mistyped, two swapped, a
digit changed, a zero added) lands one edit away from the document's value far more often than
on any one other value. So a reading one edit away from a candidate also counts for it, by
:data:`NEAR_SUPPORT`: of "Moussa Fall", "Mousssa Fall" and "Mouss Fall", each from one
volunteer, the first is the one the other two are slips of. Only exact backers ever make a
field agreed (the two-backers rule in :mod:`task_types.data_entry.task_type`), and near
readings only share out the mass the typed readings hold together: they choose among them,
never make one of them likelier to be right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import OSA

from task_types.data_entry.models import FieldSpec
from task_types.data_entry.vote import Ballot
from task_types.reliability import log_odds, posterior_from_scores

__all__ = [
    "ERROR_SPREAD",
    "NEAR_SUPPORT",
    "FieldPosterior",
    "error_spread",
    "field_posterior",
    "one_slip_apart",
]

# How many distinct values a misreading spreads over (M), per field type: wide for free text,
# narrower for numbers and dates, where a few confusions (1/7, 03/08, a dropped zero) dominate.
# Smaller values are the cautious side: they make agreement between two readers worth less.
ERROR_SPREAD = {"string": 20, "email": 20, "phone": 20, "number": 10, "date": 10}


#: The likelihood ratio a reading one edit away from a candidate brings it: how much likelier it
#: is to be typed when the candidate is the document's value than when it is not. On the
#: benchmark's data entry (bench/quality.py, seeds 1-3) 2 took whole-record accuracy from 0.912
#: to 0.924 on the typical crowd and from 0.739 to 0.753 with half the crowd poor. 3, tried in a
#: form that also raised the typed readings' mass, gained a point more on the typical crowd but
#: overstated the half-poor crowd's confidence (pooled ECE 3.4 points, against 2.4 at 2).
NEAR_SUPPORT = 2.0


def one_slip_apart(spec: FieldSpec, one: str, other: str) -> bool:
    """Whether two distinct readings' keys are one edit apart (a character inserted, dropped,
    replaced, or two neighbours swapped). Not for choices: picking the wrong one is no slip."""
    if spec.type == "enum" or one == other:
        return False
    return OSA.distance(one, other, score_cutoff=1) <= 1


def error_spread(spec: FieldSpec) -> int:
    if spec.type == "enum":
        return max(2, len(spec.choices or ()))
    return ERROR_SPREAD.get(spec.type, 10)


@dataclass(frozen=True)
class FieldPosterior:
    """How one field came out under the model. ``key`` is the most probable reading."""

    key: str | None
    value: str | None  # its canonical spelling
    probability: float  # posterior of ``key`` (0 when nobody read the field)
    by_key: dict[str, float]
    backers: tuple[int, ...]
    opponents: tuple[int, ...]
    voters: int

    def as_detail(self) -> dict[str, Any]:
        # Probabilities and indexes only: readings are document data and details may be logged.
        return {
            "probability": round(self.probability, 6),
            "backers": list(self.backers),
            "opponents": list(self.opponents),
            "voters": self.voters,
        }


def field_posterior(spec: FieldSpec, ballots: Sequence[Ballot]) -> FieldPosterior:
    """The posterior over one field's readings; each ballot's ``weight`` is its author's
    accuracy on this field, in (0, 1)."""
    if not ballots:
        return FieldPosterior(None, None, 0.0, {}, (), (), 0)
    by_key: dict[str, list[Ballot]] = {}
    for ballot in ballots:
        by_key.setdefault(ballot.reading.key, []).append(ballot)
    keys = sorted(by_key)
    spread = max(error_spread(spec), len(keys) + 1)
    scores = [math.fsum(log_odds(b.weight, spread - 1) for b in by_key[key]) for key in keys]
    posterior = dict(zip(keys, _shared_by_slips(spec, keys, by_key, scores, spread), strict=True))
    # The key-based last resort keeps arrival order out of ties.
    best = max(keys, key=lambda key: (posterior[key], len(by_key[key]), key))
    winners = by_key[best]
    return FieldPosterior(
        key=best,
        value=_canonical_form(winners),
        probability=min(1.0, max(0.0, posterior[best])),
        by_key=posterior,
        backers=tuple(sorted(ballot.index for ballot in winners)),
        opponents=tuple(sorted(b.index for b in ballots if b.reading.key != best)),
        voters=len(ballots),
    )


def _shared_by_slips(
    spec: FieldSpec,
    keys: Sequence[str],
    by_key: dict[str, list[Ballot]],
    scores: Sequence[float],
    spread: int,
) -> list[float]:
    """Each reading's posterior: the mass the readings hold together (against a value nobody
    typed) as the even-errors model gives it, shared among them with each also counting the
    readings one slip away from it. Near readings say which typed reading is the document's,
    not whether any is: every reading is near the others' slips, and letting them raise all
    together overstated the confidence on a crowd whose every misreading is a slip."""
    plain = posterior_from_scores(scores, unobserved=spread - len(keys))
    near = math.log(NEAR_SUPPORT)
    slipped = [
        score + near * sum(len(by_key[other]) for other in keys if one_slip_apart(spec, key, other))
        for key, score in zip(keys, scores, strict=True)
    ]
    if slipped == list(scores):
        return plain
    return [math.fsum(plain) * p for p in posterior_from_scores(slipped)]


def _canonical_form(winners: Sequence[Ballot]) -> str:
    """The spelling most of the winning reliability used; on a tie the form keeping more
    accents, then the form itself (as in the plain vote)."""
    forms: dict[str, list[float]] = {}
    for ballot in winners:
        forms.setdefault(ballot.reading.value, []).append(ballot.weight)
    return max(
        forms,
        key=lambda form: (
            math.fsum(forms[form]),
            len(forms[form]),
            sum(1 for char in form if not char.isascii()),
            form,
        ),
    )
