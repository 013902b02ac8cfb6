"""The class prior (issue 15): decisions start from the NGO's stated base rates and the gold
answers instead of a uniform prior; the registered type itself is never changed."""

from __future__ import annotations

import math

import pytest

from core.quality.prior import STATED_STRENGTH, class_counts
from task_types import get as get_task_type
from task_types.moderation import TASK_TYPE as MODERATION
from task_types.moderation import ModerationAnswer
from task_types.reliability import NEUTRAL

POST = MODERATION.parse_payload({"content": "Hello", "labels": ["ok", "spam"]})


def votes(*labels: str) -> list[ModerationAnswer]:
    return [ModerationAnswer(label=label) for label in labels]


def test_stated_rates_are_normalised_and_gold_answers_add_one_each() -> None:
    gold = [{"label": "spam"}, {"label": "ok"}, {"text": "x"}, {"label": ""}]
    counts = class_counts({"ok": 8, "spam": 2, "abuse": 0}, gold)
    expected = {"ok": 0.8 * STATED_STRENGTH + 1, "spam": 0.2 * STATED_STRENGTH + 1}
    assert counts == pytest.approx(expected)
    assert class_counts(None, []) == {}
    assert class_counts({"ok": 0.0}, []) == {}


def test_a_prior_moves_an_uncertain_decision_towards_the_common_class() -> None:
    one_spam = MODERATION.aggregate(POST, votes("spam"), [NEUTRAL])
    assert one_spam.confidence == pytest.approx(0.7)  # uniform: the vote's own accuracy
    common_ok = MODERATION.with_prior({"ok": 98.0})  # pi(ok) = 99/100
    overruled = common_ok.aggregate(POST, votes("spam"), [NEUTRAL])
    assert overruled.answer == {"label": "ok", "reasons": []}
    assert overruled.details["posterior"]["ok"] == pytest.approx(
        0.99 * 0.3 / (0.99 * 0.3 + 0.01 * 0.7)
    )
    # Three agreeing volunteers outweigh a milder one (pi(ok) = 0.9: 9 to 1 against spam,
    # (0.7 / 0.3)^3 = 12.7 to 1 for it).
    milder = MODERATION.with_prior({"ok": 8.0})
    assert milder.aggregate(POST, votes("spam", "spam", "spam"), [NEUTRAL] * 3).answer == {
        "label": "spam",
        "reasons": [],
    }


def test_labels_match_ignoring_case_and_unknown_ones_are_ignored() -> None:
    prior = MODERATION.with_prior({"OK": 8.0, "abuse": 100.0})
    assert prior.log_prior(POST) == pytest.approx([math.log(0.9), math.log(0.1)])


def test_the_registered_type_keeps_its_uniform_prior() -> None:
    MODERATION.with_prior({"ok": 1000.0})
    assert get_task_type("moderation").aggregate(POST, votes("spam"), [NEUTRAL]).confidence == (
        pytest.approx(0.7)
    )
    # Types whose answers are not labels ignore it.
    translation = get_task_type("translation")
    assert translation.with_prior({"ok": 3.0}) is translation
