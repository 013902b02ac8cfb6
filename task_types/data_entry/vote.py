"""Weighted vote on one field's normalised readings, with a quorum.

No character-level merging: the result is always a value some volunteers actually entered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from task_types.base import THRESHOLD_TOLERANCE
from task_types.data_entry.normalise import Reading

__all__ = ["Ballot", "FieldDecision", "ballot_weight", "decide_field"]

# With two or more volunteers, one lone reading never decides a field, however reliable.
MIN_BACKERS = 2


def ballot_weight(reliability: float) -> float:
    """The one place a volunteer's reliability becomes the weight of their reading.

    Scalar for now; per-field confusion estimates (Dawid-Skene) would replace this mapping.
    """
    return reliability


@dataclass(frozen=True)
class Ballot:
    index: int
    weight: float
    reading: Reading


@dataclass(frozen=True)
class FieldDecision:
    """How one field came out. ``value`` is set only when the field reached quorum."""

    value: str | None
    share: float
    quorum: bool
    backers: tuple[int, ...]
    opponents: tuple[int, ...]
    voters: int

    def as_detail(self) -> dict[str, Any]:
        # Counts and indexes only: readings are document data and details may be logged.
        return {
            "share": round(self.share, 4),
            "quorum": self.quorum,
            "backers": list(self.backers),
            "opponents": list(self.opponents),
            "voters": self.voters,
        }


def decide_field(ballots: Sequence[Ballot], *, volunteers: int, threshold: float) -> FieldDecision:
    """Pick the reading with the largest weighted share among the ballots cast.

    Quorum: that share reaches ``threshold`` and, when ``volunteers`` (answers with a positive
    weight, abstentions included) is two or more, at least two ballots back it. Abstentions
    are not in the share: "can't read it" is not a vote against what others read.
    """
    counted = [ballot for ballot in ballots if ballot.weight > 0]
    total = math.fsum(ballot.weight for ballot in counted)
    if not counted or total <= 0:
        return FieldDecision(None, 0.0, False, (), (), 0)

    by_key: dict[str, list[Ballot]] = {}
    for ballot in counted:
        by_key.setdefault(ballot.reading.key, []).append(ballot)
    # Exactly rounded sums and a key-based last resort: arrival order never breaks a tie.
    winning_key = max(
        by_key,
        key=lambda key: (math.fsum(b.weight for b in by_key[key]), len(by_key[key]), key),
    )
    winners = by_key[winning_key]
    share = min(1.0, math.fsum(ballot.weight for ballot in winners) / total)
    needed = MIN_BACKERS if volunteers >= MIN_BACKERS else 1
    quorum = share >= threshold - THRESHOLD_TOLERANCE and len(winners) >= needed
    return FieldDecision(
        value=_canonical_form(winners) if quorum else None,
        share=share,
        quorum=quorum,
        backers=tuple(sorted(ballot.index for ballot in winners)),
        opponents=tuple(sorted(b.index for b in counted if b.reading.key != winning_key)),
        voters=len(counted),
    )


def _canonical_form(winners: Sequence[Ballot]) -> str:
    """The spelling most of the winning weight used ("José" over "Jose" or "JOSÉ").

    On a tie, the form keeping more accents wins (folding drops them, and whoever typed them
    most likely read them on the document), then the form itself, for determinism.
    """
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
