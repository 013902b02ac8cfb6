"""Reliability-weighted medoid: the candidate translation the others agree with most.

Never a new text stitched from pieces: synonyms would split any vote on exact strings, and a
merged text is one nobody wrote or checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

from task_types.translation.similarity import similarity, similarity_key

__all__ = ["Ranking", "candidate_score", "rank_candidates"]


def candidate_score(mean_similarity: float, reliability: float) -> float:
    """How strongly a candidate is put forward: agreement from the others times its author's
    reliability. The one place a translator's weight enters the choice of the winner."""
    return mean_similarity * reliability


@dataclass(frozen=True)
class Ranking:
    """Candidates best first, with what ranked them. Indexes are the answers' indexes."""

    order: tuple[int, ...]
    mean_similarity: Mapping[int, float]
    score: Mapping[int, float]
    pairwise: Mapping[tuple[int, int], float]

    def similarity(self, first: int, second: int) -> float:
        if first == second:
            return 1.0
        return self.pairwise[(min(first, second), max(first, second))]


def rank_candidates(texts: Mapping[int, str], reliability: Mapping[int, float]) -> Ranking:
    """Rank candidates (answer index -> normalised text) by ``candidate_score``.

    A candidate's mean similarity is weighted by the *other* authors' reliabilities, so a
    reliable translator's agreement counts for more. Sums use ``math.fsum`` (exactly rounded),
    so the ranking cannot depend on the order the answers arrived in; exact ties fall to the
    more reliable author, then to the text itself, never to arrival order.
    """
    indexes = sorted(texts)
    keys = {index: similarity_key(texts[index]) for index in indexes}
    # Sorting the pair makes each similarity independent of which answer came first.
    pairwise = {
        (a, b): similarity(*sorted((keys[a], keys[b]))) for a, b in combinations(indexes, 2)
    }

    def pair(a: int, b: int) -> float:
        return pairwise[(min(a, b), max(a, b))]

    mean: dict[int, float] = {}
    for index in indexes:
        others = [other for other in indexes if other != index]
        total = math.fsum(reliability[other] for other in others)
        weighted = math.fsum(reliability[other] * pair(index, other) for other in others)
        mean[index] = weighted / total if total > 0 else 0.0
    score = {index: candidate_score(mean[index], reliability[index]) for index in indexes}
    order = sorted(
        indexes,
        key=lambda index: (-score[index], -reliability[index], keys[index], texts[index]),
    )
    return Ranking(tuple(order), mean, score, pairwise)
