"""The project's newcomer prior, and what the ceiling's threshold may stand in for (issue 15).

- The refit learns the accuracy a volunteer without a record starts from in a project from the
  project's gold answers (:func:`core.quality.refit.newcomer_accuracy`), and every decision
  weighs newcomers at it (:func:`core.quality.reputation_model.reprior`, in ``weigh``).
- At the ceiling, a data-entry field read by one volunteer only no longer refuses the record
  outright: the calibrated confidence meets the threshold chosen for the review share
  (:func:`core.quality.project_quality.settle`); before the ceiling one more answer is still
  asked for.
- Gold checks of data entry are exact (a record with one field wrong is wrong), so its
  confidence is calibrated too; the decisions one group of gold answers gives (from 3 answers,
  then 4, then 5) share those answers, and together weigh as one check in the fit.

On the real Redis and the real scripts where reputations are read or written."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import pytest

from core.ids import new_volunteer_id
from core.quality import refit
from core.quality.aggregation import parse_task, weigh
from core.quality.calibration import MIN_CHECKS, Check, fit_calibration
from core.quality.outcomes import AggregationContext
from core.quality.project_quality import QUALITY_FIELD, ProjectQuality, settle
from core.quality.refit import NEWCOMER_BOUNDS, NEWCOMER_PRIOR_ANSWERS, refit_project
from core.quality.reputation_model import PRIOR_ACCURACY, PRIOR_STRENGTH, reprior
from task_types import Verdict
from task_types import get as get_task_type
from task_types.reliability import NEUTRAL, Reliability
from tests.support.board import TestBoard
from tests.support.quality import ceiling_project, store_gold_task

LABELS = ["ok", "spam", "abuse"]
PAYLOAD = {"content": "Win a prize", "labels": LABELS}


def store_gold(board: TestBoard, project: str, task: int, truth: str, given: Sequence[str]) -> None:
    """A gold task whose label is ``truth``, with the labels volunteers gave it."""
    store_gold_task(board, project, task, PAYLOAD, {"label": truth}, [{"label": g} for g in given])


def stored_newcomers(board: TestBoard, project: str) -> dict[str, Any]:
    raw = board.client.hget(board.keys.project(project).project, QUALITY_FIELD)
    found = json.loads(str(raw))["newcomers"]
    assert isinstance(found, dict)
    return found


def test_the_refit_learns_how_right_the_project_s_newcomers_are_from_its_gold(
    board: TestBoard,
) -> None:
    project, _ = ceiling_project(board)
    for task in range(40):  # a crowd where half the gold answers are wrong
        store_gold(board, project, task, "ok", ["ok", "spam"])

    assert refit_project(board, project, "r1") is not None

    # 40 right of 80, shrunk towards the global prior by NEWCOMER_PRIOR_ANSWERS answers.
    expected = (PRIOR_ACCURACY * NEWCOMER_PRIOR_ANSWERS + 40) / (NEWCOMER_PRIOR_ANSWERS + 80)
    assert stored_newcomers(board, project) == {
        "accuracy": round(expected, 4),
        "gold_answers": 80,
    }
    assert ProjectQuality.from_json(
        board.client.hget(board.keys.project(project).project, QUALITY_FIELD)
    ).newcomer_accuracy == pytest.approx(expected, abs=1e-4)


def test_the_newcomer_prior_stays_within_its_bounds(board: TestBoard) -> None:
    low, high = NEWCOMER_BOUNDS
    spammed, _ = ceiling_project(board)
    careful, _ = ceiling_project(board)
    for task in range(60):
        store_gold(board, spammed, task, "ok", ["spam", "abuse", "spam"])
        store_gold(board, careful, task, "ok", ["ok", "ok", "ok"])
    refit_project(board, spammed, "r1")
    refit_project(board, careful, "r1")
    assert stored_newcomers(board, spammed)["accuracy"] == low
    assert stored_newcomers(board, careful)["accuracy"] == high


def test_reprior_moves_a_newcomer_to_the_project_prior_and_a_veteran_hardly() -> None:
    assert reprior(NEUTRAL, 0.55).accuracy == pytest.approx(0.55)
    assert reprior(NEUTRAL, None) is NEUTRAL
    # 200 answers' worth of evidence at 0.9: the prior's 8 pseudo-answers barely count.
    right = 0.9 * 200
    veteran = Reliability(
        accuracy=(PRIOR_ACCURACY * PRIOR_STRENGTH + right) / (PRIOR_STRENGTH + 200),
        evidence=200,
    )
    moved = reprior(veteran, 0.55)
    assert moved.accuracy == pytest.approx((0.55 * PRIOR_STRENGTH + right) / (PRIOR_STRENGTH + 200))
    assert veteran.accuracy - moved.accuracy < 0.01


def test_a_decision_weighs_newcomers_at_the_project_prior(board: TestBoard) -> None:
    project, document = ceiling_project(board)
    volunteers = [new_volunteer_id() for _ in range(3)]
    context = AggregationContext(
        task={"state": "aggregating"},
        payload=PAYLOAD,
        answers=[{"volunteer_id": v, "answer": {"label": "spam"}} for v in volunteers],
        document=document,
    )
    parsed = parse_task(context)
    trusting = weigh(board, project, "t1", parsed, None, quality=ProjectQuality())
    wary = weigh(board, project, "t1", parsed, None, quality=ProjectQuality(newcomer_accuracy=0.5))

    assert [r.accuracy for r in trusting.reliabilities] == [PRIOR_ACCURACY] * 3
    assert [r.accuracy for r in wary.reliabilities] == [pytest.approx(0.5)] * 3
    # Three agreeing strangers from a crowd that is right half the time prove less.
    assert wary.verdict.confidence < trusting.verdict.confidence - 0.05


def lone_reading() -> Verdict:
    """A data-entry verdict whose ``born`` field was read by one volunteer only."""
    return Verdict(
        answer={"values": {"name": "Awa Diallo", "born": "1990-04-02"}},
        confidence=0.8,
        agreed=False,
        support=[0],
        details={"reason": "low_confidence", "threshold": 0.9, "without_quorum": ["born"]},
    )


def test_at_the_ceiling_the_chosen_threshold_may_stand_in_for_a_lone_reading() -> None:
    quality = ProjectQuality(threshold=0.75)
    accepted = settle(lone_reading(), quality, None, final=True)
    assert accepted.agreed and accepted.details["reason"] == "agreed"
    # Before the ceiling, one more answer is asked for: the quorum stands.
    assert not settle(lone_reading(), quality, None, final=False).agreed
    # At the ceiling, under the chosen threshold: a reviewer.
    assert not settle(lone_reading(), ProjectQuality(threshold=0.85), None, final=True).agreed


def test_a_data_entry_gold_check_is_right_only_when_every_field_is() -> None:
    kind = get_task_type("data_entry")
    payload = kind.parse_payload(
        {
            "document": {"text": "slip"},
            "fields": [{"name": "name", "type": "string"}, {"name": "born", "type": "date"}],
        }
    )
    truth = {"values": {"name": "Awa Diallo", "born": "1990-04-02"}}
    one_wrong = {"values": {"name": "Awa Diallo", "born": "1990-04-03"}}
    same = {"values": {"name": "AWA DIALLO", "born": "1990-04-02"}}
    assert not refit._agrees(kind, payload, one_wrong, truth)
    assert refit._agrees(kind, payload, same, truth)


def test_the_nested_decisions_of_one_group_of_gold_answers_weigh_as_one_check(
    board: TestBoard,
) -> None:
    project, document = ceiling_project(board)  # 3 answers, up to 5
    store_gold(board, project, 0, "ok", ["ok", "ok", "ok"])  # agreed at 3 in any order
    store_gold(board, project, 1, "ok", ["ok", "spam", "abuse", "spam", "ok"])  # one group
    # Ten answers: two groups of five in each order.
    store_gold(board, project, 2, "spam", ["spam", "ok", "abuse"] * 3 + ["spam"])
    # Seven: one group of five in each order, the two left over in the others'.
    store_gold(board, project, 3, "ok", ["spam", "spam", "spam", "ok", "ok", "abuse", "ok"])
    kind = get_task_type("moderation")
    gold = {f"g{task:010d}": {"label": t} for task, t in enumerate(["ok", "ok", "spam", "ok"])}
    tasks = refit._read_tasks(board, project, document, list(gold))

    checks, checked = refit.gold_checks(board, project, kind, document, tasks, gold, {})

    assert checked == 4
    # However many decisions a group gave, and in however many orders it was grouped, each
    # group of answers weighs one check in the fit: 1 + 1 + 2 + 1.
    assert sum(check.weight for check in checks) == pytest.approx(5.0)
    # Three answers all alike: one decision in each of their three orders.
    assert sorted(round(c.weight, 4) for c in checks if c.weight > 0.3) == [0.3333] * 3
    # Seven answers: as they came, the first three agree on spam and the check is wrong; the
    # two "ok" left over take part in the other orders, where "ok" wins.
    seven = {"g0000000003": tasks["g0000000003"]}
    checks, _ = refit.gold_checks(board, project, kind, document, seven, gold, {})
    first_order = [c for c in checks if c.weight == pytest.approx(1 / refit.GOLD_ORDERS)]
    assert [c.right for c in first_order] == [False]
    assert any(c.right for c in checks)
    assert sum(c.weight for c in checks) == pytest.approx(1.0)


def test_a_check_s_weight_is_what_it_counts_for_in_the_fit() -> None:
    rng = random.Random(5)
    once = [Check(0.9 if i % 2 else 0.7, rng.random() < 0.6) for i in range(60)]
    thrice = [Check(c.confidence, c.right, 1.0 / 3) for c in once for _ in range(3)]
    fitted_once, fitted_thrice = fit_calibration(once), fit_calibration(thrice)
    assert fitted_thrice(0.9) == pytest.approx(fitted_once(0.9), abs=1e-6)
    assert fitted_thrice(0.7) == pytest.approx(fitted_once(0.7), abs=1e-6)
    # The count it says it was fitted on is the checks' worth, and so is the minimum.
    assert fitted_thrice.checks == fitted_once.checks == 60
    thin = [Check(c.confidence, c.right, 1.0 / 3) for c in once[: MIN_CHECKS - 1] for _ in range(3)]
    assert fit_calibration(thin).checks == 0
    # Unweighted, the same checks three times over would outweigh the prior three times over.
    tripled = fit_calibration([Check(c.confidence, c.right) for c in thrice])
    assert abs(tripled(0.9) - 0.9) > abs(fitted_once(0.9) - 0.9)
