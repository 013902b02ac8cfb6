"""The reputation store on a real Redis: a neutral prior, updates in the right direction, once
per event, nothing lost under concurrency, soft credits taken back by reviews, floors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.board.operations import text
from core.clock import ManualClock
from core.ids import new_volunteer_id
from core.quality.reputation import (
    REPUTATION_RETENTION_MS,
    ReputationOps,
    agreement_updates,
    apply_updates,
    excluded_task_types,
    gold_update,
    reputation_summary,
    review_updates,
)
from core.quality.reputation_model import (
    DEFAULT_HALF_LIFE_DAYS,
    FLOOR_MIN_EVIDENCE,
    PRIOR_ACCURACY,
    PRIOR_STRENGTH,
    TypeReputation,
)
from task_types.moderation import TASK_TYPE as MODERATION
from task_types.moderation import ModerationAnswer
from task_types.reliability import NEUTRAL
from tests.support.board import TestBoard
from tests.support.threads import on_own_boards

PROJECT = "prj_0123456789abcdefghjk"
DAY_MS = 86_400_000
LABELS = ["ok", "spam", "abuse"]
POST = MODERATION.parse_payload({"content": "Cheap pills", "labels": LABELS})


def vote(label: str) -> ModerationAnswer:
    return ModerationAnswer(label=label)


def gold(board: TestBoard, volunteer: str, answered: str, truth: str, submission: str) -> bool:
    update = gold_update(MODERATION, PROJECT, submission, POST, vote(answered), vote(truth))
    return apply_updates(board, {volunteer: update}) == 1


def standing(board: TestBoard, volunteer: str) -> TypeReputation:
    ops = ReputationOps(board.keys, board.clock)
    return board.run(ops.standings(volunteer, ["moderation"]))["moderation"]


def reliability_of(board: TestBoard, volunteer: str) -> Any:
    ops = ReputationOps(board.keys, board.clock)
    [found] = board.run(ops.reliabilities(PROJECT, "moderation", [volunteer]))
    return found


def test_a_newcomer_is_neutral(board: TestBoard) -> None:
    volunteer = new_volunteer_id()
    assert reliability_of(board, volunteer) == NEUTRAL
    assert standing(board, volunteer).accuracy == pytest.approx(PRIOR_ACCURACY)
    summary = reputation_summary(board, volunteer, {"moderation": 0.95})
    assert summary["moderation"]["prior_only"] is True
    assert summary["moderation"]["below_floor"] is False  # never excluded on the prior
    assert set(summary) == {"data_entry", "moderation", "translation"}


def test_gold_answers_move_the_accuracy_and_the_confusion_the_right_way(board: TestBoard) -> None:
    good, bad = new_volunteer_id(), new_volunteer_id()
    for n in range(4):
        assert gold(board, good, "spam", "spam", f"sub_g{n}")
        assert gold(board, bad, "ok", "spam", f"sub_b{n}")
    assert standing(board, good).accuracy > PRIOR_ACCURACY > standing(board, bad).accuracy
    assert standing(board, good).observations == {"gold": 4.0}
    assert reliability_of(board, bad).confusion == {"spam": {"ok": 4.0}}
    # The bad volunteer's "ok" now points at spam: their vote for "ok" backs "spam".
    posterior = MODERATION.aggregate(POST, [vote("ok")], [reliability_of(board, bad)])
    assert posterior.answer == {"label": "spam", "reasons": []}


def test_a_replayed_event_has_no_second_effect(
    board: TestBoard, store_snapshot: Callable[[], dict[bytes, bytes]]
) -> None:
    volunteer = new_volunteer_id()
    assert gold(board, volunteer, "spam", "spam", "sub_1")
    before = store_snapshot()
    assert not gold(board, volunteer, "spam", "spam", "sub_1")
    assert store_snapshot() == before


def test_concurrent_updates_of_one_volunteer_lose_nothing(
    board: TestBoard, redis_url: str, clock: ManualClock
) -> None:
    volunteer = new_volunteer_id()
    threads, per_thread = 8, 25

    def work(own: TestBoard, worker: int) -> None:
        for n in range(per_thread):
            answered = "spam" if n % 5 else "ok"  # one in five wrong
            assert gold(own, volunteer, answered, "spam", f"sub_{worker}_{n}")

    on_own_boards(redis_url, clock, threads, work)
    found = standing(board, volunteer)
    total = threads * per_thread
    assert found.observations == {"gold": total}
    assert (found.right, found.wrong) == pytest.approx((total * 0.8, total * 0.2))


def test_a_review_takes_back_the_agreement_credit_and_judges_the_answers(board: TestBoard) -> None:
    agreeing, dissenting = new_volunteer_id(), new_volunteer_id()
    answers = [vote("spam"), vote("ok")]
    credit = agreement_updates(
        MODERATION, PROJECT, "t0000000001", "t0000000001:2", POST, answers, [NEUTRAL] * 2,
        [agreeing, dissenting],
    )  # fmt: skip
    assert apply_updates(board, credit) == 2
    credited = standing(board, agreeing)
    assert credited.observations == {"agreement": 1.0}
    assert credited.right > 0

    # The reviewer overturns the agreed label: the credit goes, the hard evidence stays.
    overturn = review_updates(
        MODERATION, PROJECT, "t0000000001", "rev_1", POST, answers, [agreeing, dissenting],
        vote("ok"),
    )  # fmt: skip
    assert apply_updates(board, overturn) == 2
    after = standing(board, agreeing)
    assert (after.right, after.wrong) == (0.0, 1.0)
    assert after.observations == {"agreement": 0.0, "review": 1.0}
    assert after.accuracy < credited.accuracy
    assert standing(board, dissenting).right == 1.0
    # The credit went to the decided label's row only (a tie: the first listed, "ok").
    assert reliability_of(board, agreeing).confusion == {"ok": {"spam": 1.0}}
    assert apply_updates(board, overturn) == 0  # the review counted once


def test_a_second_decision_on_a_task_replaces_its_credit(board: TestBoard) -> None:
    volunteer = new_volunteer_id()
    for answers, decision in (([vote("spam")] * 3, "t1:3"), ([vote("spam")] * 4, "t1:4")):
        volunteers = [volunteer] + [new_volunteer_id() for _ in answers[1:]]
        updates = agreement_updates(
            MODERATION, PROJECT, "t1", decision, POST, answers, [NEUTRAL] * len(answers),
            volunteers,
        )  # fmt: skip
        apply_updates(board, {volunteer: updates[volunteer]})
    assert standing(board, volunteer).observations == {"agreement": 1.0}


def credit_on_t1(volunteer: str, answers: int) -> dict[str, Any]:
    """The agreement updates of decision ``t1:<answers>``, the volunteer voting spam with
    ``answers - 1`` others."""
    voters = [volunteer] + [new_volunteer_id() for _ in range(answers - 1)]
    return agreement_updates(
        MODERATION, PROJECT, "t1", f"t1:{answers}", POST, [vote("spam")] * answers,
        [NEUTRAL] * answers, voters,
    )  # fmt: skip


def reopen_of_t1(volunteer: str, review: str, need: int) -> Any:
    [update] = review_updates(
        MODERATION, PROJECT, "t1", review, POST, [vote("spam")], [volunteer], None,
        reopened_to=need,
    ).values()  # fmt: skip
    return update


def test_a_reopen_takes_back_only_a_credit_from_before_it(board: TestBoard) -> None:
    volunteer = new_volunteer_id()
    apply_updates(board, {volunteer: credit_on_t1(volunteer, 3)[volunteer]})
    assert standing(board, volunteer).observations == {"agreement": 1.0}

    # Reopened for a 4th answer: the credit of the decision on 3 goes.
    assert apply_updates(board, {volunteer: reopen_of_t1(volunteer, "rev_1", 4)}) == 1
    assert standing(board, volunteer).observations == {"agreement": 0.0}

    # Decided again on 4 answers; then a reopen settled late (it asked for those 4): stale.
    apply_updates(board, {volunteer: credit_on_t1(volunteer, 4)[volunteer]})
    decided_again = standing(board, volunteer)
    assert decided_again.observations == {"agreement": 1.0}
    assert apply_updates(board, {volunteer: reopen_of_t1(volunteer, "rev_0", 4)}) == 0
    assert standing(board, volunteer) == decided_again
    assert board.client.hexists(board.keys.reputation(volunteer), f"soft:{PROJECT}:t1")
    # A reopen of that decision (asking for a 5th) takes it back.
    assert apply_updates(board, {volunteer: reopen_of_t1(volunteer, "rev_2", 5)}) == 1
    assert standing(board, volunteer).observations == {"agreement": 0.0}


def test_a_stale_agreement_leaves_a_newer_credit_alone(board: TestBoard) -> None:
    volunteer = new_volunteer_id()
    apply_updates(board, {volunteer: credit_on_t1(volunteer, 4)[volunteer]})
    newer = standing(board, volunteer)
    stored = board.client.hget(board.keys.reputation(volunteer), f"soft:{PROJECT}:t1")
    assert apply_updates(board, {volunteer: credit_on_t1(volunteer, 3)[volunteer]}) == 0
    assert standing(board, volunteer) == newer
    assert board.client.hget(board.keys.reputation(volunteer), f"soft:{PROJECT}:t1") == stored


def test_the_floor_applies_once_the_evidence_is_enough(board: TestBoard) -> None:
    spammer = new_volunteer_id()
    floors: dict[str, float | None] = {"moderation": 0.5, "translation": 0.5}
    for n in range(int(FLOOR_MIN_EVIDENCE) - 1):
        gold(board, spammer, "ok", "spam", f"sub_{n}")
    assert excluded_task_types(board, spammer, floors) == frozenset()
    gold(board, spammer, "ok", "spam", "sub_last")
    assert excluded_task_types(board, spammer, floors) == {"moderation"}
    assert excluded_task_types(board, spammer, {"moderation": None}) == frozenset()
    summary = reputation_summary(board, spammer, floors, ["moderation"])
    assert summary == {
        "moderation": {
            "accuracy": pytest.approx(
                PRIOR_ACCURACY * PRIOR_STRENGTH / (PRIOR_STRENGTH + FLOOR_MIN_EVIDENCE)
            ),
            "evidence": FLOOR_MIN_EVIDENCE,
            "observations": {"gold": FLOOR_MIN_EVIDENCE, "review": 0.0, "agreement": 0.0},
            "floor": 0.5,
            "below_floor": True,
            "prior_only": False,
        }
    }


def markers(board: TestBoard, key: str) -> set[str]:
    """The replay markers and soft credits of a reputation hash."""
    fields = (text(name) for name in board.client.hkeys(key))
    return {name for name in fields if name.startswith(("applied:", "soft:"))}


def test_old_markers_and_credits_are_pruned(board: TestBoard, clock: ManualClock) -> None:
    volunteer = new_volunteer_id()
    credit = agreement_updates(
        MODERATION, PROJECT, "t1", "t1:1", POST, [vote("spam")], [NEUTRAL], [volunteer]
    )
    apply_updates(board, credit)
    gold(board, volunteer, "spam", "spam", "sub_1")
    key = board.keys.reputation(volunteer)
    assert markers(board, key) == {
        f"applied:agree:{PROJECT}:t1:1",
        f"applied:gold:{PROJECT}:sub_1",
        f"soft:{PROJECT}:t1",
    }
    clock.advance(REPUTATION_RETENTION_MS / 1000 + 2 * 86_400)
    gold(board, volunteer, "spam", "spam", "sub_2")
    assert markers(board, key) == {f"applied:gold:{PROJECT}:sub_2"}
    after = standing(board, volunteer)
    assert after.observations["gold"] == 2.0  # the counts stay: the tally in full,
    days = REPUTATION_RETENTION_MS / DAY_MS + 2  # the evidence faded since
    assert after.right == pytest.approx(0.5 ** (days / DEFAULT_HALF_LIFE_DAYS) + 1.0)
