"""Data entry agreement: per-field weighted vote, quorum, abstentions; score and contribution."""

from __future__ import annotations

import json
from typing import Any

import pytest

from task_types.data_entry import TASK_TYPE as DATA_ENTRY
from task_types.data_entry import DataEntryAnswer, DataEntryPayload

PAYLOAD = DATA_ENTRY.parse_payload(
    {
        "document": {"image_url": "https://files.example.org/register-p3.jpg"},
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "born", "type": "date"},
            {"name": "village", "type": "string", "required": False},
        ],
    }
)


def answers(*rows: dict[str, Any]) -> list[DataEntryAnswer]:
    return [DataEntryAnswer(values=row) for row in rows]


AWA = {"name": "Awa Diallo", "born": "05/03/1990", "village": "Ndiaganiao"}


def test_unanimous_answers_agree_with_full_confidence() -> None:
    verdict = DATA_ENTRY.aggregate(PAYLOAD, answers(AWA, AWA, AWA))
    assert verdict.agreed
    assert verdict.confidence == 1.0
    assert verdict.support == [0, 1, 2]
    assert verdict.answer == {
        "values": {"name": "Awa Diallo", "born": "1990-03-05", "village": "Ndiaganiao"}
    }


def test_differently_typed_equal_readings_agree_and_the_common_spelling_is_returned() -> None:
    verdict = DATA_ENTRY.aggregate(
        PAYLOAD,
        answers(
            {"name": "Awa  Diallo", "born": "1990-03-05"},
            {"name": "AWA DIALLO", "born": "5 March 1990"},
            {"name": "Awa Diallo", "born": "05.03.1990"},
        ),
    )
    assert verdict.agreed
    assert verdict.answer is not None
    assert verdict.answer["values"]["name"] == "Awa Diallo"
    assert verdict.answer["values"]["born"] == "1990-03-05"


def test_the_accented_spelling_wins_a_tie_between_spellings() -> None:
    verdict = DATA_ENTRY.aggregate(
        PAYLOAD,
        answers(
            {"name": "Zoe Ngozi", "born": "1990-03-05"}, {"name": "Zoë Ngozi", "born": "1990-03-05"}
        ),
    )
    assert verdict.answer is not None
    assert verdict.answer["values"]["name"] == "Zoë Ngozi"


def test_a_two_to_one_split_reaches_quorum_and_excludes_the_dissenter() -> None:
    other = {**AWA, "name": "Aminata Diallo"}
    verdict = DATA_ENTRY.aggregate(PAYLOAD, answers(AWA, other, AWA))
    assert verdict.agreed
    assert verdict.confidence == pytest.approx(2 / 3)
    assert verdict.support == [0, 2]
    assert verdict.details["fields"]["name"]["opponents"] == [1]


def test_a_three_way_split_on_a_required_field_fails_quorum() -> None:
    verdict = DATA_ENTRY.aggregate(
        PAYLOAD,
        answers(AWA, {**AWA, "name": "Aminata Diallo"}, {**AWA, "name": "Awa Diop"}),
    )
    assert not verdict.agreed
    assert verdict.details["reason"] == "no_quorum"
    assert verdict.details["without_quorum"] == ["name"]
    assert verdict.answer is not None
    assert verdict.answer["values"]["name"] is None
    assert verdict.answer["values"]["born"] == "1990-03-05"  # decided fields stay
    assert verdict.confidence == pytest.approx(1 / 3)


def test_placeholders_abstain_instead_of_voting_against() -> None:
    verdict = DATA_ENTRY.aggregate(
        PAYLOAD, answers(AWA, {**AWA, "born": "N/A"}, AWA, {**AWA, "born": "?"})
    )
    assert verdict.agreed
    born = verdict.details["fields"]["born"]
    assert born["share"] == 1.0
    assert born["abstained"] == [1, 3]


def test_a_lone_reading_never_decides_when_others_could_not_read() -> None:
    verdict = DATA_ENTRY.aggregate(
        PAYLOAD, answers(AWA, {**AWA, "born": "unknown"}, {**AWA, "born": ""})
    )
    assert not verdict.agreed
    assert verdict.details["fields"]["born"]["quorum"] is False
    assert verdict.details["without_quorum"] == ["born"]


def test_a_single_answer_can_decide_alone() -> None:
    verdict = DATA_ENTRY.aggregate(PAYLOAD, answers(AWA))
    assert verdict.agreed


def test_an_optional_field_without_quorum_is_left_null_without_blocking() -> None:
    verdict = DATA_ENTRY.aggregate(
        PAYLOAD, answers(AWA, {**AWA, "village": "Fatick"}, {**AWA, "village": "Mbour"})
    )
    assert verdict.agreed
    assert verdict.answer is not None
    assert verdict.answer["values"]["village"] is None
    assert verdict.confidence == 1.0  # optional fields do not count
    assert verdict.details["fields"]["village"]["quorum"] is False


def test_a_reliable_pair_outweighs_an_unreliable_majority() -> None:
    other = {**AWA, "name": "Aminata Diallo"}
    rows = answers(AWA, AWA, other, other, other)
    verdict = DATA_ENTRY.aggregate(PAYLOAD, rows, [1.0, 1.0, 0.2, 0.2, 0.2])
    assert verdict.agreed
    assert verdict.answer is not None
    assert verdict.answer["values"]["name"] == "Awa Diallo"
    assert verdict.confidence == pytest.approx(2 / 2.6)


def test_weights_break_an_otherwise_even_split() -> None:
    other = {**AWA, "name": "Aminata Diallo"}
    rows = answers(AWA, AWA, other, other)
    verdict = DATA_ENTRY.aggregate(PAYLOAD, rows, [1.0, 1.0, 0.5, 0.5])
    assert verdict.agreed
    assert verdict.answer is not None
    assert verdict.answer["values"]["name"] == "Awa Diallo"
    even = DATA_ENTRY.aggregate(PAYLOAD, rows)
    assert not even.agreed


def test_the_threshold_can_be_raised_by_project_policy() -> None:
    rows = answers(AWA, {**AWA, "name": "Aminata Diallo"}, AWA)
    assert DATA_ENTRY.aggregate(PAYLOAD, rows).agreed
    assert not DATA_ENTRY.aggregate(PAYLOAD, rows, threshold=0.75).agreed


def test_an_invalid_value_that_slipped_through_abstains() -> None:
    verdict = DATA_ENTRY.aggregate(PAYLOAD, answers(AWA, {**AWA, "born": "31/02/1990"}, AWA))
    assert verdict.agreed
    assert verdict.details["fields"]["born"]["invalid"] == [1]


def test_zero_weight_answers_are_ignored_entirely() -> None:
    other = {**AWA, "name": "Aminata Diallo"}
    verdict = DATA_ENTRY.aggregate(PAYLOAD, answers(AWA, AWA, other), [1.0, 1.0, 0.0])
    assert verdict.confidence == 1.0
    assert verdict.details["fields"]["name"]["voters"] == 2


def test_when_no_field_is_required_the_filled_fields_decide() -> None:
    optional = DATA_ENTRY.parse_payload(
        {
            "document": {"text": "note"},
            "fields": [
                {"name": "a", "type": "string", "required": False},
                {"name": "b", "type": "string", "required": False},
            ],
        }
    )
    agreeing = DATA_ENTRY.aggregate(optional, answers({"a": "x"}, {"a": "X"}))
    assert agreeing.agreed
    split = DATA_ENTRY.aggregate(optional, answers({"a": "x"}, {"a": "y"}))
    assert not split.agreed
    blank = DATA_ENTRY.aggregate(optional, answers({"a": "N/A"}, {}))
    assert blank.answer is None
    assert blank.details["reason"] == "no_votes"


def test_details_are_json_and_hold_no_document_data() -> None:
    verdict = DATA_ENTRY.aggregate(PAYLOAD, answers(AWA, AWA))
    dumped = json.dumps(verdict.details)
    assert "Diallo" not in dumped
    assert "1990" not in dumped


def _payload_with_all_types() -> DataEntryPayload:
    return DATA_ENTRY.parse_payload(
        {
            "document": {"text": "form"},
            "fields": [
                {"name": "name", "type": "string"},
                {"name": "amount", "type": "number"},
                {"name": "phone", "type": "phone", "required": False},
                {"name": "email", "type": "email", "required": False},
            ],
        }
    )


def test_score_is_the_fraction_of_fields_matching_gold() -> None:
    payload = _payload_with_all_types()
    gold = DataEntryAnswer(values={"name": "José", "amount": "1000", "phone": None, "email": None})
    exact = DataEntryAnswer(values={"name": "jose", "amount": "1,000.00", "phone": "N/A"})
    assert DATA_ENTRY.score(payload, exact, gold) == 1.0
    half = DataEntryAnswer(values={"name": "José", "amount": "100", "phone": "+1 555 0100"})
    assert DATA_ENTRY.score(payload, half, gold) == 0.5
    broken = DataEntryAnswer(values={"name": "José", "amount": "lots"})
    assert DATA_ENTRY.score(payload, broken, gold) == 0.75


def test_contribution_counts_the_fields_actually_entered() -> None:
    payload = _payload_with_all_types()
    answer = DataEntryAnswer(
        values={"name": "José", "amount": "N/A", "phone": "", "email": "a@b.org"}
    )
    assert DATA_ENTRY.contribution(payload, answer) == 2
    assert DATA_ENTRY.contribution_unit == "fields entered"
