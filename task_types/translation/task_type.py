"""The translation task type: a snippet of text into another language.

Float weights rank candidates by the reliability-weighted medoid and take the winner's mean
similarity as the confidence. Reliabilities add the posterior model of
:mod:`task_types.translation.posterior`: the candidates are grouped into camps of one meaning,
and the confidence is the probability that the winner's camp is the right translation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from task_types.base import THRESHOLD_TOLERANCE, TaskExample, TaskType, Verdict, Weights
from task_types.errors import Problem
from task_types.reliability import Evidence, Reliability
from task_types.text import clean_text, fold
from task_types.translation.filters import screen, unchanged_sentence
from task_types.translation.meaning import meaning_marks
from task_types.translation.medoid import Ranking, rank_candidates
from task_types.translation.models import TranslationAnswer, TranslationPayload
from task_types.translation.posterior import camps, same_meaning
from task_types.translation.similarity import count_words, similarity, similarity_key

__all__ = ["DEFAULT_THRESHOLD", "TranslationType"]

# Mean similarity the medoid needs to be accepted without review. Paraphrases of one sentence
# by different translators score 0.69-1.0 with our measure and unrelated sentences 0.36-0.53
# (see similarity.py), so 0.6 sits in the gap: three paraphrases pass and two unrelated texts
# never do. With one stray answer among three, the two others carry the task only when they
# agree closely (mean of ~0.85 and ~0.45 >= 0.6); a loose pair plus a stray goes to review.
DEFAULT_THRESHOLD = 0.6
# Two unlike candidates whose scores are within 5% of each other are two camps, not a winner
# and an outlier; a reviewer settles it.
CLOSE_SCORE_MARGIN = 0.05


class TranslationType(TaskType[TranslationPayload, TranslationAnswer]):
    """Weights are translator reliabilities (>= 0, default 1.0; 0 means ignore the answer)."""

    name = "translation"
    description = "Translate a short text; answers agree when their wording is close enough."
    payload_model = TranslationPayload
    answer_model = TranslationAnswer
    sensitive_fields = frozenset({"source_text", "context"})
    contribution_unit = "words translated"
    default_threshold = DEFAULT_THRESHOLD
    # The volunteer reads the source and writes the target (NGOs split multi-target work into
    # one project per language pair).
    needs_every_language = True
    catalog_formats = frozenset({"po", "xliff"})
    example = TaskExample(
        summary="A sentence to translate, with its context and a glossary",
        project_name="Clinic leaflets, French to English",
        external_id="leaflet-12",
        payload={
            "source_text": "Lavez-vous les mains avant chaque repas.",
            "source_lang": "fr",
            "target_lang": "en",
            "context": "Poster in a school canteen",
            "glossary": {"repas": "meal"},
        },
        answer={"text": "Wash your hands before every meal."},
        other_answer={"text": "Wash your hands before each meal."},
        languages=("fr", "en"),
    )

    def check_answer(self, payload: TranslationPayload, answer: TranslationAnswer) -> list[Problem]:
        # Only the source sentence itself, unchanged, is refused here. Other checks against the
        # source (near-copies, length, script) run at aggregation as soft filters: refusing
        # them would block legitimate answers such as a name that stays the same everywhere.
        if unchanged_sentence(payload, answer.text):
            return [
                Problem(
                    ("text",),
                    f"this is the source text unchanged; translate it into {payload.target_lang}",
                )
            ]
        return []

    def normalise(
        self, payload: TranslationPayload, answer: TranslationAnswer
    ) -> TranslationAnswer:
        return TranslationAnswer(text=clean_text(answer.text))

    def aggregate(
        self,
        payload: TranslationPayload,
        answers: Sequence[TranslationAnswer],
        weights: Weights = None,
        *,
        threshold: float | None = None,
    ) -> Verdict:
        reliabilities = self.resolve_reliabilities(len(answers), weights)
        if reliabilities is None:
            agreement = self.resolve_threshold(threshold)
        else:
            agreement = self.resolve_confidence(threshold)
        reliability = self.resolve_weights(len(answers), weights)
        if not answers:
            return Verdict.undecided("no_answers")
        candidates, rejected = self._candidates(payload, answers, reliability)
        details: dict[str, Any] = {
            "threshold": agreement,
            "rejected": rejected,
            "glossary_misses": _glossary_misses(payload, candidates),
        }
        if not candidates:
            return Verdict.undecided("no_candidates", **details)
        if reliabilities is not None:
            marks = _marks(payload, candidates)
            return self._posterior_verdict(candidates, reliability, agreement, details, marks)
        if len(candidates) == 1:
            # One surviving answer has nobody to agree with: keep it for the reviewer.
            (only,) = candidates
            return Verdict(
                answer={"text": candidates[only]},
                confidence=0.0,
                agreed=False,
                support=[only],
                details={"reason": "single_candidate", **details},
            )

        ranking = rank_candidates(candidates, {index: reliability[index] for index in candidates})
        winner = ranking.order[0]
        confidence = min(1.0, max(0.0, ranking.mean_similarity[winner]))
        rival = _closest_rival(ranking, agreement)
        if confidence < agreement - THRESHOLD_TOLERANCE:
            reason = "low_agreement"
        elif rival is not None:
            reason = "close_rivals"
        else:
            reason = "agreed"
        support = [
            index
            for index in sorted(candidates)
            if ranking.similarity(winner, index) >= agreement - THRESHOLD_TOLERANCE
        ]
        details.update(
            reason=reason,
            rival=rival,
            candidates=[
                {
                    "index": index,
                    "mean_similarity": round(ranking.mean_similarity[index], 4),
                    "score": round(ranking.score[index], 4),
                }
                for index in ranking.order
            ],
        )
        return Verdict(
            answer={"text": candidates[winner]},
            confidence=confidence,
            agreed=reason == "agreed",
            support=support,
            details=details,
        )

    def answer_evidence(
        self,
        payload: TranslationPayload,
        answers: Sequence[TranslationAnswer],
        reliabilities: Sequence[Reliability],
    ) -> list[Evidence | None]:
        """A candidate is right with its camp's posterior (alone, it says nothing); an answer
        screened out (a copy of the source, an implausible length, the wrong script) is not a
        translation."""
        reliability = self.resolve_weights(len(answers), reliabilities)
        candidates, _ = self._candidates(payload, answers, reliability)
        if not candidates:
            return [None] * len(answers)
        weights = {index: reliability[index] for index in candidates}
        grouped = camps(rank_candidates(candidates, weights), weights, _marks(payload, candidates))
        alone = len(candidates) < 2
        return [
            Evidence(right=0.0)
            if index not in candidates
            else None
            if alone
            else Evidence(right=min(1.0, grouped.posterior[grouped.camp_of(index)]))
            for index in range(len(answers))
        ]

    def _candidates(
        self,
        payload: TranslationPayload,
        answers: Sequence[TranslationAnswer],
        reliability: Sequence[float],
    ) -> tuple[dict[int, str], list[dict[str, Any]]]:
        """The answers that may win (index -> normalised text), and why the others may not."""
        rejected: list[dict[str, Any]] = []
        candidates: dict[int, str] = {}
        for index, answer in enumerate(answers):
            text = self.normalise(payload, answer).text
            rejection = screen(payload, text)
            if rejection is not None:
                rejected.append(rejection.as_detail(index))
            elif reliability[index] == 0.0:
                rejected.append({"index": index, "reason": "zero_weight", "measure": 0.0})
            else:
                candidates[index] = text
        return candidates, rejected

    def _posterior_verdict(
        self,
        candidates: dict[int, str],
        reliability: Sequence[float],
        bar: float,
        details: dict[str, Any],
        marks: dict[int, frozenset[str]],
    ) -> Verdict:
        weights = {index: reliability[index] for index in candidates}
        ranking = rank_candidates(candidates, weights)
        grouped = camps(ranking, weights, marks)
        best = grouped.members[0]
        winner = best[0]
        confidence = min(1.0, max(0.0, grouped.posterior[0]))
        if len(best) < 2:
            # Nobody agrees with it: it stays a suggestion for the reviewer.
            reason = "single_candidate" if len(candidates) == 1 else "low_confidence"
        elif confidence < bar - THRESHOLD_TOLERANCE:
            reason = "low_confidence"
        else:
            reason = "agreed"
        details.update(
            reason=reason,
            camps=[
                {"members": list(members), "posterior": round(p, 6)}
                for members, p in zip(grouped.members, grouped.posterior, strict=True)
            ],
            candidates=[
                {
                    "index": index,
                    "mean_similarity": round(ranking.mean_similarity[index], 4),
                    "score": round(ranking.score[index], 4),
                }
                for index in ranking.order
            ],
        )
        return Verdict(
            answer={"text": candidates[winner]},
            confidence=confidence,
            agreed=reason == "agreed",
            support=sorted(best),
            details=details,
        )

    def gold_check(
        self, payload: TranslationPayload, decided: TranslationAnswer, gold: TranslationAnswer
    ) -> bool:
        """Right when it means what the gold wording means, by the rule that puts two
        volunteers' translations in one camp (``same_meaning``): they read alike and write the
        same numbers, negation, names and glossary terms. A gold answer is one wording among
        the right ones: an exact score would call every paraphrase of it wrong."""
        alike = similarity(similarity_key(decided.text), similarity_key(gold.text))
        marks = meaning_marks(payload, decided.text), meaning_marks(payload, gold.text)
        return same_meaning(alike, *marks)

    def score(
        self, payload: TranslationPayload, answer: TranslationAnswer, gold: TranslationAnswer
    ) -> float:
        return similarity(similarity_key(answer.text), similarity_key(gold.text))

    def contribution(self, payload: TranslationPayload, answer: TranslationAnswer) -> int:
        return count_words(payload.source_text)


def _marks(payload: TranslationPayload, candidates: dict[int, str]) -> dict[int, frozenset[str]]:
    """Each candidate's meaning marks: numbers, negation, names, glossary terms."""
    return {index: meaning_marks(payload, text) for index, text in candidates.items()}


def _closest_rival(ranking: Ranking, agreement: float) -> int | None:
    """The best candidate unlike the winner, if its score is close to the winner's."""
    winner = ranking.order[0]
    for index in ranking.order[1:]:
        if ranking.similarity(winner, index) < agreement - THRESHOLD_TOLERANCE:
            close = ranking.score[index] >= ranking.score[winner] * (1.0 - CLOSE_SCORE_MARGIN)
            return index if close else None
    return None


def _glossary_misses(
    payload: TranslationPayload, candidates: dict[int, str]
) -> list[dict[str, int]]:
    """Per candidate, how many glossary terms found in the source are missing from it.

    Information for reviewers only (inflected forms can hide a term from this plain substring
    test); terms themselves are not copied into the details, which may be logged.
    """
    if not payload.glossary:
        return []
    source = fold(payload.source_text)
    imposed = [fold(target) for term, target in payload.glossary.items() if fold(term) in source]
    misses = []
    for index in sorted(candidates):
        text = fold(candidates[index])
        missed = sum(1 for target in imposed if target not in text)
        if missed:
            misses.append({"index": index, "missed": missed})
    return misses
