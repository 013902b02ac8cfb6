"""A third-party task type that exists only in the tests: two sentences, do they mean the same?

Installed the way any plugin is (an entry point in the ``ruche.task_types`` group, from a
``.dist-info`` the test writes): no production module names it. Everything Ruche needs to know
about it is on the class: its volunteers must read both languages (``needs_every_language``),
it exports no translation catalog, and it brings its own example for ``/docs``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from task_types.base import THRESHOLD_TOLERANCE, TaskExample, TaskType, Verdict, Weights
from task_types.errors import Problem

__all__ = ["NAME", "TASK_TYPE", "PairAnswer", "PairCheck", "PairPayload"]

NAME = "pair_check"


class PairPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first: str = Field(min_length=1, max_length=2_000)
    second: str = Field(min_length=1, max_length=2_000)


class PairAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    same: bool


class PairCheck(TaskType[PairPayload, PairAnswer]):
    """A weighted yes/no vote; the confidence is the winning side's share of the weight."""

    name = NAME
    description = "Say whether two sentences in two languages mean the same (tests only)."
    payload_model = PairPayload
    answer_model = PairAnswer
    sensitive_fields = frozenset({"first", "second"})
    contribution_unit = "pairs checked"
    default_threshold = 0.6
    needs_every_language = True
    example = TaskExample(
        summary="Two sentences to compare",
        project_name="Leaflet proofreading",
        external_id="pair-7",
        payload={"first": "Lavez-vous les mains.", "second": "Wash your hands."},
        answer={"same": True},
        other_answer={"same": False},
        languages=("fr", "en"),
    )

    def check_answer(self, payload: PairPayload, answer: PairAnswer) -> list[Problem]:
        return []

    def normalise(self, payload: PairPayload, answer: PairAnswer) -> PairAnswer:
        return answer

    def aggregate(
        self,
        payload: PairPayload,
        answers: Sequence[PairAnswer],
        weights: Weights = None,
        *,
        threshold: float | None = None,
    ) -> Verdict:
        if self.resolve_reliabilities(len(answers), weights) is None:
            bar = self.resolve_threshold(threshold)
        else:
            bar = self.resolve_confidence(threshold)
        votes = self.resolve_weights(len(answers), weights)
        total = sum(votes)
        if not answers or total <= 0.0:
            return Verdict.undecided("no_votes")
        yes = sum(vote for answer, vote in zip(answers, votes, strict=True) if answer.same)
        same = yes >= total - yes
        share = (yes if same else total - yes) / total
        return Verdict(
            answer={"same": same},
            confidence=share,
            agreed=share >= bar - THRESHOLD_TOLERANCE,
            support=[i for i, answer in enumerate(answers) if answer.same == same],
            details={"share": share},
        )

    def score(self, payload: PairPayload, answer: PairAnswer, gold: PairAnswer) -> float:
        return 1.0 if answer.same == gold.same else 0.0

    def contribution(self, payload: PairPayload, answer: PairAnswer) -> int:
        return 1


TASK_TYPE = PairCheck()
