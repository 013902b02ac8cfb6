"""The data-entry task type: read typed fields off a document (a form, a scanned register).

Float weights run the plain weighted vote with a quorum (:mod:`task_types.data_entry.vote`);
reliabilities run the posterior model (:mod:`task_types.data_entry.posterior`), each reading
weighed by its author's accuracy on that very field. There the confidence is the probability
that every decisive field is right (the product of their posteriors), and a decisive field still
needs two volunteers behind its reading whenever two or more answered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from task_types.base import THRESHOLD_TOLERANCE, TaskExample, TaskType, Verdict, Weights
from task_types.data_entry.models import DataEntryAnswer, DataEntryPayload, FieldSpec, RawValue
from task_types.data_entry.normalise import is_placeholder, read_value
from task_types.data_entry.posterior import FieldPosterior, field_posterior
from task_types.data_entry.vote import (
    MIN_BACKERS,
    Ballot,
    FieldDecision,
    ballot_weight,
    decide_field,
)
from task_types.errors import InvalidAnswer, Problem
from task_types.reliability import Evidence, Reliability

__all__ = ["DEFAULT_THRESHOLD", "DataEntryType"]

# Weighted share a field's winning reading needs. 0.6 lets a 2-1 split of three equal
# volunteers through (0.67) and 3-2 of five (0.6), but not a tie such as 2-2 (0.5) or a
# 2-2-1 split (0.4); the separate two-backers rule stops one volunteer from deciding alone.
DEFAULT_THRESHOLD = 0.6


class DataEntryType(TaskType[DataEntryPayload, DataEntryAnswer]):
    """Weights are volunteer reliabilities (>= 0, default 1.0; 0 means ignore the answer)."""

    name = "data_entry"
    description = "Read typed fields off a document; per-field weighted vote with a quorum."
    payload_model = DataEntryPayload
    answer_model = DataEntryAnswer
    sensitive_fields = frozenset({"document"})
    contribution_unit = "fields entered"
    default_threshold = DEFAULT_THRESHOLD
    example = TaskExample(
        summary="A scanned donation slip to type in",
        project_name="Donation slips 2025",
        external_id="form-0042",
        payload={
            "document": {
                "text": "Donor: Ada Lovelace - 12/03/2024 - 25,00 EUR - ada@example.org",
                "image_url": "https://example.org/scans/form-0042.png",
            },
            "fields": [
                {"name": "donor", "type": "string"},
                {"name": "date", "type": "date"},
                {"name": "amount", "type": "number", "decimal_comma": True},
                {"name": "email", "type": "email", "required": False},
            ],
        },
        answer={
            "values": {
                "donor": "Ada Lovelace",
                "date": "12/03/2024",
                "amount": "25,00",
                "email": "ada@example.org",
            }
        },
        other_answer={
            "values": {"donor": "Ada Lovelace", "date": "12/03/2024", "amount": "25", "email": None}
        },
    )

    def check_answer(self, payload: DataEntryPayload, answer: DataEntryAnswer) -> list[Problem]:
        problems: list[Problem] = []
        expected = ", ".join(spec.name for spec in payload.fields)
        for name in answer.values:
            if payload.field(name) is None:
                problems.append(
                    Problem(("values", name), f"unknown field {name!r} (expected: {expected})")
                )
        for spec in payload.fields:
            if spec.name not in answer.values:
                if spec.required:
                    problems.append(
                        Problem(
                            ("values", spec.name),
                            f"required field {spec.name!r} is missing; send null or "
                            '"N/A" if it cannot be read',
                        )
                    )
                continue
            try:
                read_value(spec, answer.values[spec.name])
            except ValueError as error:
                problems.append(Problem(("values", spec.name), str(error)))
        return problems

    def normalise(self, payload: DataEntryPayload, answer: DataEntryAnswer) -> DataEntryAnswer:
        """Canonical values for every field (null for abstentions); ``InvalidAnswer`` if the
        answer does not fit the payload."""
        problems = self.check_answer(payload, answer)
        if problems:
            raise InvalidAnswer(problems)
        readings = {
            spec.name: read_value(spec, answer.values.get(spec.name)) for spec in payload.fields
        }
        return DataEntryAnswer(
            values={
                name: None if reading is None else reading.value
                for name, reading in readings.items()
            }
        )

    def aggregate(
        self,
        payload: DataEntryPayload,
        answers: Sequence[DataEntryAnswer],
        weights: Weights = None,
        *,
        threshold: float | None = None,
    ) -> Verdict:
        reliabilities = self.resolve_reliabilities(len(answers), weights)
        if reliabilities is not None:
            return self._aggregate_posterior(
                payload, answers, reliabilities, self.resolve_confidence(threshold)
            )
        quorum_share = self.resolve_threshold(threshold)
        reliability = self.resolve_weights(len(answers), weights)
        if not answers:
            return Verdict.undecided("no_answers")
        volunteers = sum(1 for weight in reliability if weight > 0)

        decisions: dict[str, FieldDecision] = {}
        field_details: dict[str, dict[str, Any]] = {}
        for spec in payload.fields:
            ballots, abstained, invalid = _ballots(spec, answers, reliability)
            decision = decide_field(ballots, volunteers=volunteers, threshold=quorum_share)
            decisions[spec.name] = decision
            field_details[spec.name] = {
                **decision.as_detail(),
                "required": spec.required,
                "abstained": abstained,
                "invalid": invalid,
            }

        # With no required field, the fields someone actually filled in decide instead.
        decisive = [spec.name for spec in payload.fields if spec.required] or [
            name for name, decision in decisions.items() if decision.voters
        ]
        details: dict[str, Any] = {"threshold": quorum_share, "fields": field_details}
        if not decisive:
            return Verdict.undecided("no_votes", **details)
        short = [name for name in decisive if not decisions[name].quorum]
        details.update(reason="no_quorum" if short else "agreed", without_quorum=short)
        return Verdict(
            answer={"values": {name: decision.value for name, decision in decisions.items()}},
            confidence=min(decisions[name].share for name in decisive),
            agreed=not short,
            support=_support(decisions, len(answers)),
            details=details,
        )

    def _aggregate_posterior(
        self,
        payload: DataEntryPayload,
        answers: Sequence[DataEntryAnswer],
        reliabilities: Sequence[Reliability],
        bar: float,
    ) -> Verdict:
        if not answers:
            return Verdict.undecided("no_answers")
        volunteers = len(answers)
        needed = MIN_BACKERS if volunteers >= MIN_BACKERS else 1
        posteriors = self._field_posteriors(payload, answers, reliabilities)
        decisive = [spec.name for spec in payload.fields if spec.required] or [
            name for name, (post, _, _) in posteriors.items() if post.voters
        ]
        details: dict[str, Any] = {"threshold": bar, "fields": {}}
        for spec in payload.fields:
            post, abstained, invalid = posteriors[spec.name]
            details["fields"][spec.name] = {
                **post.as_detail(),
                "required": spec.required,
                "abstained": abstained,
                "invalid": invalid,
            }
        if not decisive:
            return Verdict.undecided("no_votes", **details)
        confidence = math.prod(posteriors[name][0].probability for name in decisive)
        short = [
            name
            for name in decisive
            if posteriors[name][0].probability < bar - THRESHOLD_TOLERANCE
            or len(posteriors[name][0].backers) < needed
        ]
        agreed = confidence >= bar - THRESHOLD_TOLERANCE and not short
        values: dict[str, str | None] = {}
        for spec in payload.fields:
            post = posteriors[spec.name][0]
            confident = post.probability >= bar - THRESHOLD_TOLERANCE
            keep = spec.name in decisive or (confident and len(post.backers) >= needed)
            values[spec.name] = post.value if keep else None
        details.update(reason="agreed" if agreed else "low_confidence", without_quorum=short)
        kept = [post for post, _, _ in posteriors.values() if post.key is not None]
        return Verdict(
            answer={"values": values},
            confidence=min(1.0, max(0.0, confidence)),
            agreed=agreed,
            support=_backing(kept, len(answers)),
            details=details,
        )

    def answer_evidence(
        self,
        payload: DataEntryPayload,
        answers: Sequence[DataEntryAnswer],
        reliabilities: Sequence[Reliability],
    ) -> list[Evidence | None]:
        """Per field an answer read, the posterior of its reading (the E-step); a field
        nobody else read says nothing, and neither do abstentions and unreadable values."""
        if len(reliabilities) != len(answers):
            raise ValueError(f"got {len(answers)} answers but {len(reliabilities)} weights")
        read: list[dict[str, float]] = [{} for _ in answers]
        for spec in payload.fields:
            accuracy = [reliability.field_accuracy(spec.name) for reliability in reliabilities]
            ballots, _, _ = _ballots(spec, answers, accuracy)
            if len(ballots) < 2:
                continue
            posterior = field_posterior(spec, ballots).by_key
            for ballot in ballots:
                read[ballot.index][spec.name] = min(1.0, max(0.0, posterior[ballot.reading.key]))
        return [_field_evidence(fields) for fields in read]

    def hard_evidence(
        self, payload: DataEntryPayload, answers: Sequence[DataEntryAnswer], truth: DataEntryAnswer
    ) -> list[Evidence | None]:
        """Per field an answer read: right when it reads like the truth (a value where the
        truth has none is wrong; an abstention says nothing)."""
        read: list[dict[str, float]] = [{} for _ in answers]
        for spec in payload.fields:
            try:
                expected = _reading(spec, truth.values.get(spec.name), strict=True)
            except ValueError:
                continue  # a truth that does not read: nothing to compare with
            for index, answer in enumerate(answers):
                reading = _reading(spec, answer.values.get(spec.name))
                if reading is not None:
                    read[index][spec.name] = 1.0 if reading == expected else 0.0
        return [_field_evidence(fields) for fields in read]

    def _field_posteriors(
        self,
        payload: DataEntryPayload,
        answers: Sequence[DataEntryAnswer],
        reliabilities: Sequence[Reliability],
    ) -> dict[str, tuple[FieldPosterior, list[int], list[int]]]:
        found = {}
        for spec in payload.fields:
            accuracy = [reliability.field_accuracy(spec.name) for reliability in reliabilities]
            ballots, abstained, invalid = _ballots(spec, answers, accuracy)
            found[spec.name] = (field_posterior(spec, ballots), abstained, invalid)
        return found

    def score(
        self, payload: DataEntryPayload, answer: DataEntryAnswer, gold: DataEntryAnswer
    ) -> float:
        """Fraction of the payload's fields where the answer reads like the gold (both
        abstaining counts as a match: the field is not on the document)."""
        matches = sum(
            1
            for spec in payload.fields
            if _same_reading(spec, answer.values.get(spec.name), gold.values.get(spec.name))
        )
        return matches / len(payload.fields)

    def contribution(self, payload: DataEntryPayload, answer: DataEntryAnswer) -> int:
        return sum(1 for spec in payload.fields if not is_placeholder(answer.values.get(spec.name)))


def _ballots(
    spec: FieldSpec, answers: Sequence[DataEntryAnswer], reliability: Sequence[float]
) -> tuple[list[Ballot], list[int], list[int]]:
    """Each answer's reading of one field: a ballot, an abstention, or an invalid value (which
    abstains too: it cannot be compared with anything)."""
    ballots: list[Ballot] = []
    abstained: list[int] = []
    invalid: list[int] = []
    for index, answer in enumerate(answers):
        if reliability[index] <= 0:
            continue
        try:
            reading = read_value(spec, answer.values.get(spec.name))
        except ValueError:
            invalid.append(index)
            continue
        if reading is None:
            abstained.append(index)
        else:
            ballots.append(Ballot(index, ballot_weight(reliability[index]), reading))
    return ballots, abstained, invalid


def _reading(spec: FieldSpec, raw: RawValue, *, strict: bool = False) -> str | None:
    """The key a raw value reads as; None for an abstention or (unless ``strict``, which
    raises) an unreadable value."""
    try:
        reading = read_value(spec, raw)
    except ValueError:
        if strict:
            raise
        return None
    return None if reading is None else reading.key


def _field_evidence(fields: dict[str, float]) -> Evidence | None:
    if not fields:
        return None
    return Evidence(right=math.fsum(fields.values()) / len(fields), fields=fields)


def _backing(posteriors: Sequence[FieldPosterior], count: int) -> list[int]:
    """Answers that back at least one field's chosen reading and contradict none."""
    return [
        index
        for index in range(count)
        if any(index in post.backers for post in posteriors)
        and not any(index in post.opponents for post in posteriors)
    ]


def _support(decisions: dict[str, FieldDecision], count: int) -> list[int]:
    """Answers that back at least one decided field and contradict none."""
    decided = [decision for decision in decisions.values() if decision.quorum]
    return [
        index
        for index in range(count)
        if any(index in decision.backers for decision in decided)
        and not any(index in decision.opponents for decision in decided)
    ]


def _same_reading(spec: FieldSpec, raw: RawValue, gold: RawValue) -> bool:
    """Whether two raw values read the same; an unreadable value matches nothing."""
    try:
        reading, expected = read_value(spec, raw), read_value(spec, gold)
    except ValueError:
        return False
    if reading is None or expected is None:
        return reading is expected
    return reading.key == expected.key
