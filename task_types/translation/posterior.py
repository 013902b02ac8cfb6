"""How likely the chosen translation is right, given who wrote what and how reliably.

The model behind translation's reliability path. Candidates that read as the same sentence
(similarity at least ``SAME_MEANING``) form one camp; camps are grown greedily from the
reliability-weighted medoid ranking, each candidate joining the first camp whose head it reads
like. A translator with accuracy ``s`` writes a right translation with probability ``s``, and
right translations agree with each other; a wrong one lands in one of ``M - 1`` other camps,
evenly. A camp backed by translators ``W`` then scores sum over W of log((M - 1) s / (1 - s)),
and its posterior is the softmax over the camps seen and the ``M`` - seen ones nobody wrote.
The answer is the best camp's head: the medoid of the texts that agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from task_types.reliability import log_odds, posterior_from_scores
from task_types.translation.medoid import Ranking

__all__ = ["SAME_MEANING", "TRANSLATION_SPREAD", "Camps", "camps", "same_meaning"]

# Paraphrases of one sentence score 0.69-1.0 with our similarity and unrelated sentences
# 0.36-0.53 (see similarity.py): 0.6 sits in the gap.
SAME_MEANING = 0.6
# Camps a wrong translation may fall in (M). Kept small, the cautious side: wrong translations
# of one sentence often coincide (one common mistranslation, one machine suggestion several
# volunteers pick, a choice among a few candidates), and a model assuming they scatter would be
# overconfident there (measured in bench/quality.py); with free text, fewer of them coincide
# and the confidence is then somewhat cautious.
TRANSLATION_SPREAD = 4


@dataclass(frozen=True)
class Camps:
    """Candidates grouped by meaning, best camp first, with each camp's posterior."""

    members: tuple[tuple[int, ...], ...]  # answer indexes; a camp's first member is its head
    posterior: tuple[float, ...]

    def camp_of(self, index: int) -> int:
        return next(n for n, members in enumerate(self.members) if index in members)


def same_meaning(alike: float, marks: frozenset[str] | None, other: frozenset[str] | None) -> bool:
    """The one rule for two translations meaning the same: they read alike (``alike``, their
    similarity, at least :data:`SAME_MEANING`) and write the same numbers, negation, names and
    glossary terms (their meaning marks; None: not compared). Camps use it, and so does
    translation's gold check."""
    return alike >= SAME_MEANING and marks == other


def camps(
    ranking: Ranking,
    accuracy: Mapping[int, float],
    marks: Mapping[int, frozenset[str]] | None = None,
) -> Camps:
    """Group the ranked candidates by meaning and weigh each group by its authors. With
    ``marks`` (:func:`task_types.translation.meaning.meaning_marks` per candidate), a
    candidate joins a camp only if it also has the same marks as its head: close wording
    with another number, negation, name or glossary term is another meaning."""
    grown: list[list[int]] = []

    def joins(head: int, index: int) -> bool:
        alike = ranking.similarity(head, index)
        if marks is None:
            return same_meaning(alike, None, None)
        return same_meaning(alike, marks.get(head), marks.get(index))

    for index in ranking.order:
        home = next((camp for camp in grown if joins(camp[0], index)), None)
        if home is None:
            grown.append([index])
        else:
            home.append(index)
    spread = max(TRANSLATION_SPREAD, len(grown) + 1)
    scores = [math.fsum(log_odds(accuracy[i], spread - 1) for i in camp) for camp in grown]
    posterior = posterior_from_scores(scores, unobserved=spread - len(grown))
    # Best camp first; ties keep the ranking's order (stable sort), never arrival order.
    order = sorted(range(len(grown)), key=lambda n: -posterior[n])
    return Camps(
        members=tuple(tuple(grown[n]) for n in order),
        posterior=tuple(posterior[n] for n in order),
    )
