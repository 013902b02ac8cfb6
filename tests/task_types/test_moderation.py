"""Moderation: label validation, skill-weighted Bayesian vote, score and contribution."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pydantic import ValidationError

from task_types import InvalidAnswer
from task_types.moderation import (
    DEFAULT_SKILL,
    ModerationAnswer,
    ModerationPayload,
    label_log_likelihoods,
    log_odds_weight,
)
from task_types.moderation import (
    TASK_TYPE as MODERATION,
)

LABELS = ["ok", "spam", "harassment"]


def payload(**overrides: Any) -> ModerationPayload:
    raw = {"content": "Win a free phone!!! Click here", "labels": LABELS, **overrides}
    return MODERATION.parse_payload(raw)


def votes(*labels: str, reasons: list[str] | None = None) -> list[ModerationAnswer]:
    return [ModerationAnswer(label=label, reasons=reasons or []) for label in labels]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"labels": ["ok"]}, "at least 2 items"),
        ({"labels": [f"l{i}" for i in range(51)]}, "at most 50 items"),
        ({"labels": ["ok", "  "]}, "at least 1 character"),
        ({"labels": ["Spam", "spam"]}, "labels must be unique"),
        ({"content": ""}, "at least 1 character"),
        ({"policy": "p" * 10_001}, "policy"),
    ],
)
def test_payload_refusals_name_the_problem(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        payload(**overrides)


def test_an_answer_label_must_be_one_of_the_payload_labels() -> None:
    with pytest.raises(InvalidAnswer, match="'scam' is not one of the labels: 'ok', 'spam'"):
        MODERATION.parse_answer(payload(), {"label": "scam"})


def test_label_matching_ignores_case_and_normalise_restores_the_payload_spelling() -> None:
    answer = MODERATION.parse_answer(payload(), {"label": " SPAM ", "reasons": ["link", "Link "]})
    normalised = MODERATION.normalise(payload(), answer)
    assert normalised == ModerationAnswer(label="spam", reasons=["Link"])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "Field required"),
        ({"label": "spam", "reasons": [""]}, "at least 1 character"),
        ({"label": "spam", "reasons": ["r"] * 21}, "at most 20 items"),
        ({"label": "spam", "score": 3}, "Extra inputs are not permitted"),
    ],
)
def test_answer_shape_refusals(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MODERATION.parse_answer(payload(), raw)


def test_the_log_odds_weight_is_zero_at_chance_and_grows_with_skill() -> None:
    assert log_odds_weight(1 / 3, 3) == pytest.approx(0.0)
    assert log_odds_weight(0.7, 2) == pytest.approx(math.log(0.7 / 0.3))
    assert log_odds_weight(1.0, 2) == log_odds_weight(0.99, 2)  # clipped, never infinite
    assert log_odds_weight(0.0, 2) == log_odds_weight(0.01, 2)


def test_label_log_likelihoods_differ_by_the_log_odds_weight() -> None:
    row = label_log_likelihoods(0.8, "spam", LABELS)
    assert row[1] - row[0] == pytest.approx(log_odds_weight(0.8, 3))
    assert sum(math.exp(value) for value in row[:1] + row[2:]) == pytest.approx(0.2)


def test_three_unanimous_votes_at_default_skill_agree() -> None:
    verdict = MODERATION.aggregate(payload(labels=["ok", "spam"]), votes("spam", "spam", "spam"))
    assert verdict.agreed
    assert verdict.answer == {"label": "spam", "reasons": []}
    assert verdict.confidence == pytest.approx(0.7**3 / (0.7**3 + 0.3**3))
    assert verdict.support == [0, 1, 2]


def test_a_two_to_one_split_at_default_skill_does_not_agree() -> None:
    verdict = MODERATION.aggregate(payload(labels=["ok", "spam"]), votes("spam", "ok", "spam"))
    assert verdict.answer is not None and verdict.answer["label"] == "spam"
    assert not verdict.agreed
    assert verdict.confidence == pytest.approx(0.7)
    assert verdict.support == [0, 2]
    assert verdict.details["reason"] == "low_confidence"


def test_a_reliable_minority_outweighs_an_unreliable_majority() -> None:
    verdict = MODERATION.aggregate(payload(), votes("ok", "ok", "spam"), [0.4, 0.4, 0.97])
    assert verdict.answer is not None and verdict.answer["label"] == "spam"
    assert verdict.support == [2]


def test_a_worse_than_chance_volunteer_counts_against_their_label() -> None:
    verdict = MODERATION.aggregate(payload(labels=["ok", "spam"]), votes("ok"), [0.1])
    assert verdict.answer is not None and verdict.answer["label"] == "spam"
    assert verdict.confidence == pytest.approx(0.9)


def test_an_exact_tie_goes_to_the_label_listed_first_whatever_the_order() -> None:
    two = payload(labels=["ok", "spam"])
    assert MODERATION.aggregate(two, votes("spam", "ok")).answer == {"label": "ok", "reasons": []}
    assert MODERATION.aggregate(two, votes("ok", "spam")).answer == {"label": "ok", "reasons": []}


def test_the_threshold_can_be_lowered_by_project_policy() -> None:
    split = votes("spam", "ok", "spam")
    two = payload(labels=["ok", "spam"])
    assert not MODERATION.aggregate(two, split).agreed
    assert MODERATION.aggregate(two, split, threshold=0.7).agreed


def test_reasons_are_the_union_of_the_winning_voters_reasons() -> None:
    answers = [
        ModerationAnswer(label="spam", reasons=["link to a scam", "all caps"]),
        ModerationAnswer(label="ok", reasons=["just an advert"]),
        ModerationAnswer(label="spam", reasons=["All caps", "too many !!!"]),
    ]
    verdict = MODERATION.aggregate(payload(), answers)
    assert verdict.answer == {
        "label": "spam",
        "reasons": ["All caps", "link to a scam", "too many !!!"],
    }


def test_skills_above_one_are_refused() -> None:
    with pytest.raises(ValueError, match="moderation weights are skills in"):
        MODERATION.aggregate(payload(), votes("ok"), [1.5])


def test_votes_for_labels_outside_the_payload_are_ignored() -> None:
    verdict = MODERATION.aggregate(payload(), votes("ok", "ok", "ok", "nonsense"))
    assert verdict.details["ignored"] == [3]
    assert verdict.support == [0, 1, 2]
    nothing = MODERATION.aggregate(payload(), votes("nonsense"))
    assert nothing.answer is None


def test_details_show_the_posterior_and_vote_weights() -> None:
    verdict = MODERATION.aggregate(payload(), votes("spam", "spam"))
    details = json.loads(json.dumps(verdict.details))
    assert set(details["posterior"]) == set(LABELS)
    assert sum(details["posterior"].values()) == pytest.approx(1.0, abs=1e-5)
    assert details["vote_weights"] == [round(log_odds_weight(DEFAULT_SKILL, 3), 4)] * 2


def test_score_is_one_for_the_gold_label_and_zero_otherwise() -> None:
    gold = ModerationAnswer(label="spam")
    assert MODERATION.score(payload(), ModerationAnswer(label="Spam"), gold) == 1.0
    assert MODERATION.score(payload(), ModerationAnswer(label="ok"), gold) == 0.0


def test_contribution_is_one_item_moderated() -> None:
    assert MODERATION.contribution(payload(), ModerationAnswer(label="ok")) == 1
    assert MODERATION.contribution_unit == "items moderated"
    assert MODERATION.sensitive_fields == {"content"}
