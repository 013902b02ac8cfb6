"""Which reading of a field is the document's, given who read what and how reliably.

The model behind data entry's reliability path: a volunteer with accuracy ``s`` on a field
reads the document's value with probability ``s``; otherwise they produce one of ``M - 1``
wrong readings, evenly (typos and misreadings rarely coincide). A reading backed by volunteers
``W`` then scores sum over W of log((M - 1) s / (1 - s)), a reading nobody gave scores 0, and
the posterior of a reading is its softmax over every reading, seen or not (uniform prior over
``M`` possible values). One volunteer alone gets exactly their accuracy; two agreeing strangers
on a name get far more than two agreeing on a yes/no choice, as they should.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from task_types.data_entry.models import FieldSpec
from task_types.data_entry.vote import Ballot
from task_types.reliability import log_odds, posterior_from_scores

__all__ = ["ERROR_SPREAD", "FieldPosterior", "error_spread", "field_posterior"]

# How many distinct values a misreading spreads over (M), per field type: wide for free text,
# narrower for numbers and dates, where a few confusions (1/7, 03/08, a dropped zero) dominate.
# Smaller values are the cautious side: they make agreement between two readers worth less.
ERROR_SPREAD = {"string": 20, "email": 20, "phone": 20, "number": 10, "date": 10}


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
    posterior = dict(
        zip(keys, posterior_from_scores(scores, unobserved=spread - len(keys)), strict=True)
    )
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
