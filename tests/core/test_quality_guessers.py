"""A volunteer's errors follow the way they answer (issue 15).

A confusion row with few counts is shrunk towards a prior row: the volunteer's accuracy on the
diagonal, their errors spread over the other labels in proportion to how often they give each
label (:func:`task_types.reliability.prior_rows`), no longer evenly. A constant answerer who is
right as often as their one label is the truth then carries little evidence from their first
few answers; a newcomer, and any two-label project, are weighed as before.

On the real Redis and the real scripts where reputations are read or written."""

from __future__ import annotations

import math

import pytest

from core.board.runner import BoardPolicy
from core.ids import new_volunteer_id
from core.quality.aggregation import parse_task, weigh
from core.quality.outcomes import AggregationContext
from core.quality.reputation import ReputationOps, apply_updates, gold_update
from task_types import get as get_task_type
from task_types.reliability import DEFAULT_STRENGTH, Reliability, prior_rows, smoothed_confusion
from tests.support.board import TestBoard

LABELS = ["ok", "spam", "abuse"]
PAYLOAD = {"content": "Win a prize", "labels": LABELS}


def even_rows(accuracy: float, k: int) -> list[list[float]]:
    return [[accuracy if a == z else (1 - accuracy) / (k - 1) for a in range(k)] for z in range(k)]


def test_a_newcomer_s_errors_spread_evenly() -> None:
    rows = prior_rows([[0.0] * 3 for _ in range(3)], 0.7, DEFAULT_STRENGTH)
    for row, even in zip(rows, even_rows(0.7, 3), strict=True):
        assert row == pytest.approx(even)


def test_with_two_labels_there_is_one_way_to_err_and_nothing_changes() -> None:
    counts = {"ok": {"ok": 30.0}, "spam": {"ok": 7.0, "spam": 1.0}}
    theta = smoothed_confusion(counts, ["ok", "spam"], 0.75, DEFAULT_STRENGTH)
    evenly = [
        [(0.75 * 6 + 30) / 36, (0.25 * 6) / 36],
        [(0.25 * 6 + 7) / 14, (0.75 * 6 + 1) / 14],
    ]
    for row, even in zip(theta, evenly, strict=True):
        assert row == pytest.approx(even)


def test_errors_follow_the_labels_a_volunteer_gives() -> None:
    # Someone who answered "ok" 27 times and "spam" 3 times, never "abuse".
    counts = [[20.0, 1.0, 0.0], [5.0, 2.0, 0.0], [2.0, 0.0, 0.0]]
    rows = prior_rows(counts, 0.7, DEFAULT_STRENGTH)
    for row in rows:
        assert math.fsum(row) == pytest.approx(1.0)
    assert [rows[z][z] for z in range(3)] == pytest.approx([0.7] * 3)
    # Truly "spam", they err towards "ok" far more than towards "abuse".
    assert rows[1][0] > 5 * rows[1][2]
    q_ok, q_spam = (27 + 2) / 36, (3 + 2) / 36
    assert rows[1][0] == pytest.approx(0.3 * q_ok / (1 - q_spam))


def test_a_constant_answerer_s_label_says_less_than_evenly_spread_errors_made_it_say(
    board: TestBoard,
) -> None:
    project = board.create_project(BoardPolicy(redundancy=3))
    kind = get_task_type("moderation")
    payload = kind.parse_payload(PAYLOAD)
    constant = new_volunteer_id()
    # Always "ok", on gold tasks whose truth is "ok" 6 times in 9: right 2 times in 3.
    for n, truth in enumerate(["ok"] * 6 + ["spam", "spam", "abuse"]):
        update = gold_update(
            kind, project, f"s{n}", payload,
            kind.normalise(payload, kind.parse_answer(payload, {"label": "ok"})),
            kind.normalise(payload, kind.parse_answer(payload, {"label": truth})),
        )  # fmt: skip
        apply_updates(board, {constant: update})
    ops = ReputationOps(board.keys, board.clock)
    [found] = board.run(ops.reliabilities(project, "moderation", [constant]))
    assert found.confusion["spam"]["ok"] == pytest.approx(2.0)

    said = found.label_log_likelihoods("ok", LABELS)  # log P("ok" | truth) per truth
    spread = Reliability(found.accuracy, found.evidence, {}, {}, found.strength)
    evenly = [
        (
            even_rows(found.accuracy, 3)[z][0] * found.strength
            + found.confusion.get(t, {}).get("ok", 0)
        )
        / (found.strength + sum(found.confusion.get(t, {}).values()))
        for z, t in enumerate(LABELS)
    ]
    assert spread.label_log_likelihoods("ok", LABELS)[0] == pytest.approx(math.log(found.accuracy))
    # Their "ok" is weaker evidence against "spam" than evenly spread errors made it.
    assert said[0] - said[1] < math.log(evenly[0] / evenly[1]) - 0.15

    # On a task, their "ok" against a newcomer's "spam": "spam" is now the more likely.
    newcomer = new_volunteer_id()
    context = AggregationContext(
        task={"state": "aggregating"}, payload=PAYLOAD, document={"task_type": "moderation"},
        answers=[
            {"volunteer_id": constant, "answer": {"label": "ok"}},
            {"volunteer_id": newcomer, "answer": {"label": "spam"}},
        ],
    )  # fmt: skip
    weighed = weigh(board, project, "t1", parse_task(context), None)
    posterior = weighed.verdict.details["posterior"]
    assert posterior["spam"] > posterior["ok"]
