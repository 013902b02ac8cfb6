"""The class prior a project's decisions start from: the NGO's stated base rates and its gold.

QUALITY.md: "Class prior pi from gold and/or the NGO's stated base rate, fixed. Feeding decided
tasks back into pi snowballs towards the majority class." A uniform prior cost the most of any
single choice on an independent benchmark (2 labels 80/20: 76.7 % -> 84.9 % with the prior from
gold). The prior is given to the task type as pseudo-counts per label (:func:`class_counts`);
the type smooths them over its payload's labels (one more per label), so a label nobody
mentioned keeps some mass, and the NGO's stated rates, worth :data:`STATED_STRENGTH` tasks,
are refined by a large gold set rather than overruled by a small one.

Review decisions never enter it: they are selected for being hard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["GOLD_SAMPLE", "STATED_STRENGTH", "class_counts"]

#: Gold tasks read (at random) per decision: enough for a prior, bounded for large gold sets.
GOLD_SAMPLE = 200
#: Tasks' worth of evidence the NGO's stated base rates count for.
STATED_STRENGTH = 50.0


def class_counts(
    stated: Mapping[str, Any] | None, gold_answers: Iterable[Mapping[str, Any]]
) -> dict[str, float]:
    """Pseudo-counts of the true label per label: the stated base rates (normalised, worth
    ``STATED_STRENGTH`` tasks) plus one per gold answer naming that label. Empty: no prior
    (the type's uniform one)."""
    counts: dict[str, float] = {}
    rates = {
        str(label): float(rate)
        for label, rate in (stated or {}).items()
        if isinstance(rate, int | float) and rate > 0
    }
    total = sum(rates.values())
    for label, rate in rates.items():
        counts[label] = STATED_STRENGTH * rate / total
    for answer in gold_answers:
        named = answer.get("label") if isinstance(answer, Mapping) else None
        if isinstance(named, str) and named:
            counts[named] = counts.get(named, 0.0) + 1.0
    return counts
