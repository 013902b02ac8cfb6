"""Reputations fade with time (QUALITY.md: "decay towards the prior so reliability follows
drift"): evidence halves every half-life while the tally of observations stays, reads and writes
agree on it, an update still counts once and concurrent ones lose nothing, a credit taken back
late leaves nothing behind, floors follow, and the asyncio board (with the API's multiplexed
connection) reads the same."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
import redis
import redis.asyncio

from core.board.runner import AsyncBoard
from core.clock import ManualClock
from core.ids import new_volunteer_id
from core.quality.reputation import (
    ReputationOps,
    Update,
    agreement_updates,
    apply_updates,
    excluded_task_types,
    gold_update,
    reputation_summary,
    reputation_summary_async,
    review_updates,
)
from core.quality.reputation_model import (
    DEFAULT_HALF_LIFE_DAYS,
    PRIOR_ACCURACY,
    PRIOR_STRENGTH,
    TypeReputation,
    project_field,
    type_field,
)
from core.redis.mux import MuxRedis
from task_types.moderation import TASK_TYPE as MODERATION
from task_types.moderation import ModerationAnswer
from task_types.reliability import NEUTRAL
from tests.support.board import TestBoard
from tests.support.threads import on_own_boards

PROJECT = "prj_0123456789abcdefghjk"
LABELS = ["ok", "spam", "abuse"]
POST = MODERATION.parse_payload({"content": "Cheap pills", "labels": LABELS})
DAY = 86_400.0  # seconds
HALF_LIFE = DEFAULT_HALF_LIFE_DAYS * DAY
FIELDS = [type_field("moderation"), project_field("moderation", PROJECT)]


def vote(label: str) -> ModerationAnswer:
    return ModerationAnswer(label=label)


def gold(board: TestBoard, volunteer: str, answered: str, submission: str) -> bool:
    """A gold answer on a post whose truth is spam."""
    update = gold_update(MODERATION, PROJECT, submission, POST, vote(answered), vote("spam"))
    return apply_updates(board, {volunteer: update}) == 1


def standing(board: TestBoard, volunteer: str) -> TypeReputation:
    ops = ReputationOps(board.keys, board.clock)
    return board.run(ops.standings(volunteer, ["moderation"]))["moderation"]


def confusion(board: TestBoard, volunteer: str) -> dict[str, dict[str, float]]:
    ops = ReputationOps(board.keys, board.clock)
    [found] = board.run(ops.reliabilities(PROJECT, "moderation", [volunteer]))
    return {true: dict(row) for true, row in found.confusion.items()}


def documents(board: TestBoard, volunteer: str) -> list[dict[str, Any] | None]:
    """The volunteer's two moderation documents as a read sees them now (decoded)."""
    ops = ReputationOps(board.keys, board.clock)
    found = board.run(ops.read(volunteer, FIELDS))
    return [None if raw is None else json.loads(raw) for raw in found]


def stored(board: TestBoard, volunteer: str) -> list[dict[str, Any] | None]:
    """The same documents as they sit in Redis (as the last write left them)."""
    raw = board.client.hmget(board.keys.reputation(volunteer), FIELDS)
    return [None if value is None else json.loads(value) for value in raw]


def test_evidence_halves_every_half_life_towards_the_prior(
    board: TestBoard, clock: ManualClock
) -> None:
    volunteer = new_volunteer_id()
    for n in range(8):
        assert gold(board, volunteer, "spam", f"sub_{n}")
    fresh = standing(board, volunteer)
    assert (fresh.right, fresh.wrong, fresh.observations) == (8.0, 0.0, {"gold": 8.0})

    clock.advance(HALF_LIFE)
    half = standing(board, volunteer)
    assert (half.right, half.observations) == (4.0, {"gold": 8.0})  # the tally stays
    prior = PRIOR_ACCURACY * PRIOR_STRENGTH
    assert half.accuracy == pytest.approx((prior + 4.0) / (PRIOR_STRENGTH + 4.0))
    assert confusion(board, volunteer) == {"spam": {"spam": 4.0}}

    clock.advance(HALF_LIFE)
    assert standing(board, volunteer).right == 2.0
    assert confusion(board, volunteer) == {"spam": {"spam": 2.0}}

    clock.advance(50 * HALF_LIFE)  # 2 / 2^50: float dust, read as nothing
    gone = standing(board, volunteer)
    assert gone.evidence == 0.0 and gone.accuracy == pytest.approx(PRIOR_ACCURACY)
    summary = reputation_summary(board, volunteer, task_types=["moderation"])["moderation"]
    assert (summary["evidence"], summary["observations"]["gold"]) == (0.0, 8.0)
    assert summary["prior_only"] is False  # back to the prior, but not a newcomer
    assert confusion(board, volunteer) == {"spam": {"spam": 0.0}}


def test_a_write_after_some_days_starts_from_what_a_read_then_gives(
    board: TestBoard, clock: ManualClock
) -> None:
    reader, writer = new_volunteer_id(), new_volunteer_id()
    start = clock.now_ms
    for volunteer in (reader, writer):  # the same history, an answer every 3 days
        for n, answered in enumerate(["spam", "spam", "ok", "abuse", "spam"]):
            gold(board, volunteer, answered, f"sub_{n}")
            clock.advance(3 * DAY)
        clock.advance((start - clock.now_ms) / 1000)  # and again from the same start
    clock.advance(52.25 * DAY)

    read_overall, read_detail = documents(board, reader)
    # One increment on a count neither document has yet: everything else in them is only faded.
    extra = Update(
        "review:x",
        ((FIELDS[0], ("n", "review"), 1.0), (FIELDS[1], ("c", "abuse", "abuse"), 1.0)),
    )
    assert apply_updates(board, {writer: extra}) == 1
    written_overall, written_detail = stored(board, writer)

    assert read_overall is not None and read_detail is not None
    assert written_overall == {**read_overall, "n": {**read_overall["n"], "review": 1.0}}
    assert written_detail == {
        **read_detail,
        "c": {**read_detail["c"], "abuse": {"abuse": 1.0}},
    }
    assert read_overall["u"] == clock.now_ms  # brought up to now
    ages = [52.25, 49.25, 40.25]  # days since each right answer
    assert read_overall["r"] == pytest.approx(
        sum(0.5 ** (a / DEFAULT_HALF_LIFE_DAYS) for a in ages)
    )
    assert documents(board, writer) == stored(board, writer)  # nothing more to fade


def test_a_replayed_update_after_some_days_changes_nothing(
    board: TestBoard, clock: ManualClock, store_snapshot: Callable[[], dict[bytes, Any]]
) -> None:
    volunteer = new_volunteer_id()
    assert gold(board, volunteer, "spam", "sub_1")
    clock.advance(10 * DAY)
    before = store_snapshot()
    assert not gold(board, volunteer, "spam", "sub_1")
    assert store_snapshot() == before


def test_concurrent_updates_of_faded_evidence_lose_nothing(
    board: TestBoard, redis_url: str, clock: ManualClock
) -> None:
    """The first writer after a half-life fades the old evidence, once; the others add to it."""
    volunteer = new_volunteer_id()
    for n in range(10):
        gold(board, volunteer, "spam" if n % 2 else "ok", f"sub_old_{n}")  # 5 right, 5 wrong
    clock.advance(HALF_LIFE)
    threads, per_thread = 8, 25

    def work(own: TestBoard, worker: int) -> None:
        for n in range(per_thread):
            assert gold(own, volunteer, "spam" if n % 5 else "ok", f"sub_{worker}_{n}")

    on_own_boards(redis_url, clock, threads, work)
    found = standing(board, volunteer)
    total = threads * per_thread
    assert found.observations == {"gold": 10.0 + total}
    assert found.right == pytest.approx(2.5 + total * 0.8)
    assert found.wrong == pytest.approx(2.5 + total * 0.2)


def test_a_credit_taken_back_days_later_leaves_what_was_there_without_it(
    board: TestBoard, clock: ManualClock
) -> None:
    volunteer, other = new_volunteer_id(), new_volunteer_id()
    for n in range(4):
        gold(board, volunteer, "spam", f"sub_{n}")
    clock.advance(10 * DAY)
    credit = agreement_updates(
        MODERATION, PROJECT, "t1", "t1:2", POST, [vote("spam"), vote("spam")], [NEUTRAL] * 2,
        [volunteer, other],
    )  # fmt: skip
    apply_updates(board, credit)
    assert standing(board, volunteer).observations["agreement"] == 1.0
    clock.advance(30 * DAY)

    rejected = review_updates(
        MODERATION, PROJECT, "t1", "rev_1", POST, [vote("spam")], [volunteer], None
    )
    assert apply_updates(board, rejected) == 1
    after = standing(board, volunteer)
    assert after.right == pytest.approx(4 * 0.5 ** (40 / DEFAULT_HALF_LIFE_DAYS), abs=1e-12)
    assert after.observations["agreement"] == pytest.approx(0.0, abs=1e-12)
    assert after.wrong == 0.0


def test_with_no_half_life_evidence_never_fades(
    redis_client: redis.Redis, clock: ManualClock
) -> None:
    board = TestBoard(redis_client, clock=clock, reputation_half_life_days=0)
    volunteer = new_volunteer_id()
    gold(board, volunteer, "spam", "sub_1")
    clock.advance(10 * HALF_LIFE)
    assert standing(board, volunteer).right == 1.0
    gold(board, volunteer, "spam", "sub_2")
    assert standing(board, volunteer).right == 2.0


def test_counts_written_before_fading_existed_fade_from_their_next_write(
    board: TestBoard, clock: ManualClock
) -> None:
    volunteer = new_volunteer_id()
    key = board.keys.reputation(volunteer)
    board.client.hset(key, FIELDS[0], '{"r":3,"w":1,"n":{"gold":4}}')  # no u, no h
    clock.advance(HALF_LIFE)
    assert standing(board, volunteer).right == 3.0  # nothing to fade it with yet
    gold(board, volunteer, "spam", "sub_1")
    assert standing(board, volunteer).right == 4.0
    clock.advance(HALF_LIFE)
    assert (standing(board, volunteer).right, standing(board, volunteer).wrong) == (2.0, 0.5)


def test_a_floor_lets_a_volunteer_back_once_their_record_has_faded(
    board: TestBoard, clock: ManualClock
) -> None:
    """16 wrong answers: accuracy 5.6 / (8 + 16 f) under the prior (0.7 worth 8 answers), which
    reaches the floor of 0.5 once f = 1/5, i.e. log2(5) half-lives later (about 209 days)."""
    spammer = new_volunteer_id()
    floors: dict[str, float | None] = {"moderation": 0.5}
    for n in range(16):
        gold(board, spammer, "ok", f"sub_{n}")
    assert excluded_task_types(board, spammer, floors) == {"moderation"}
    clock.advance(HALF_LIFE)  # 8 answers' worth left, accuracy 0.35
    assert excluded_task_types(board, spammer, floors) == {"moderation"}
    clock.advance(118 * DAY)  # 208 days
    assert excluded_task_types(board, spammer, floors) == {"moderation"}
    clock.advance(2 * DAY)
    assert standing(board, spammer).accuracy > 0.5
    assert excluded_task_types(board, spammer, floors) == frozenset()
    gold(board, spammer, "ok", "sub_again")  # the same behaviour: out again at once
    assert excluded_task_types(board, spammer, floors) == {"moderation"}


def test_a_floor_waits_for_the_tally_not_the_faded_evidence(
    board: TestBoard, clock: ManualClock
) -> None:
    """Exactly 8 wrong answers exclude, and a moment later (their evidence a hair under 8
    answers' worth) still do."""
    spammer = new_volunteer_id()
    floors: dict[str, float | None] = {"moderation": 0.5}
    for n in range(8):
        gold(board, spammer, "ok", f"sub_{n}")
        clock.advance(60)
    assert standing(board, spammer).evidence < 8.0
    assert excluded_task_types(board, spammer, floors) == {"moderation"}


@pytest.mark.parametrize("multiplexed", [False, True], ids=["redis-py", "mux"])
def test_the_asyncio_board_reads_the_faded_standing(
    board: TestBoard, clock: ManualClock, redis_url: str, multiplexed: bool
) -> None:
    volunteer = new_volunteer_id()
    for n in range(8):
        gold(board, volunteer, "ok", f"sub_{n}")
    clock.advance(HALF_LIFE)

    async def summary() -> dict[str, Any]:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        mux = MuxRedis(redis_url) if multiplexed else None
        async_board = AsyncBoard(client, clock=clock, mux=mux)
        try:
            return await reputation_summary_async(async_board, volunteer, {"moderation": 0.5})
        finally:
            if mux is not None:
                await mux.aclose()
            await client.aclose()

    found = asyncio.run(summary())["moderation"]
    assert (found["evidence"], found["observations"]["gold"]) == (4.0, 8.0)
    assert found == reputation_summary(board, volunteer, {"moderation": 0.5})["moderation"]
    assert found["accuracy"] == round(5.6 / 12, 4)
    assert found["below_floor"] is True


def test_deciding_a_task_leaves_out_what_its_own_agreement_earned(
    board: TestBoard, clock: ManualClock
) -> None:
    """The aggregation weighs a task's answers without the credit that task's decision gave:
    a second run deciding it (a duplicate message, a retry after a crash between the credit and
    the result) sees the weights the first one saw, days later too, and so decides alike."""
    credited, twin, other = new_volunteer_id(), new_volunteer_id(), new_volunteer_id()
    for n in range(3):  # the same history for both, at the same times
        gold(board, credited, "spam", f"sub_{n}")
        gold(board, twin, "spam", f"sub_{n}")
    ops = ReputationOps(board.keys, board.clock)

    def weights(volunteer: str, deciding: str | None) -> dict[tuple[str, str], float]:
        [found] = board.run(
            ops.reliabilities(PROJECT, "moderation", [volunteer], deciding=deciding)
        )
        # Cells a credit left and took back read 0: the same weights as cells never written.
        cells = ((t, given, n) for t, row in found.confusion.items() for given, n in row.items())
        return {(t, given): n for t, given, n in cells if round(n, 9)}

    clock.advance(3 * DAY)
    first_run = weights(credited, "t1")
    credit = agreement_updates(
        MODERATION, PROJECT, "t1", "t1:2", POST, [vote("spam"), vote("spam")], [NEUTRAL] * 2,
        [credited, other],
    )  # fmt: skip
    assert apply_updates(board, credit) == 2
    assert weights(credited, "t1") == pytest.approx(first_run)  # what a second run sees
    assert weights(credited, None) != pytest.approx(first_run)  # every other task sees it
    assert weights(credited, "t2") == weights(credited, None)

    clock.advance(20 * DAY)  # the credit fades with the rest: left out, it still leaves nothing
    assert weights(credited, "t1") == pytest.approx(weights(twin, None))
    assert weights(credited, None) != pytest.approx(weights(twin, None))
