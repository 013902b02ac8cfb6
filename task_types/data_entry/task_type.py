"""The data-entry task type: read typed fields off a document (a form, a scanned register)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from task_types.base import TaskType, Verdict
from task_types.data_entry.models import DataEntryAnswer, DataEntryPayload, FieldSpec, RawValue
from task_types.data_entry.normalise import is_placeholder, read_value
from task_types.data_entry.vote import Ballot, FieldDecision, ballot_weight, decide_field
from task_types.errors import InvalidAnswer, Problem

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
        weights: Sequence[float] | None = None,
        *,
        threshold: float | None = None,
    ) -> Verdict:
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
