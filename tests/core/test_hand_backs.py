"""A claim whose reply was lost still took its lease: release.lua finds it by the claim's token
(``BoardOps.release_lost_claim``), and :class:`core.board.hand_backs.HandBacks` keeps trying
while Redis does not answer (a real proxy, tests/support/servers/reply_cutter.py, takes it
away and gives it back)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from core import ids
from core.board.hand_backs import HandBacks
from core.board.runner import AsyncBoard, Claimed, NothingToClaim
from core.board.script_calls import ScriptCall
from core.clock import ManualClock
from core.ids import new_volunteer_id
from tests.support.board import TestBoard
from tests.support.servers.reply_cutter import ReplyCutter

REASON = "reply_lost"


def lost_claim(board: TestBoard, project_id: str, volunteer_id: str) -> tuple[Claimed, str]:
    """A claim made with a token of the caller's: what the API knows of a claim it never heard
    back from."""
    token = ids.new_token_part()
    claimed = board.run(board.ops.claim(project_id, volunteer_id, token=token))
    assert isinstance(claimed, Claimed)
    return claimed, token


def test_the_lease_of_a_lost_claim_is_found_by_its_token_and_served_again(
    board: TestBoard, make_project: Callable[..., str]
) -> None:
    project_id = make_project(n_tasks=1, redundancy=1)
    volunteer = new_volunteer_id()
    claimed, token = lost_claim(board, project_id, volunteer)
    assert board.claim(project_id, volunteer) == NothingToClaim("nothing_fits")

    released = board.run(board.ops.release_lost_claim(project_id, volunteer, token, REASON))

    assert released == claimed.assignment_id
    record = board.assignment(claimed.assignment_id)
    assert (record["state"], record["reason"]) == ("released", REASON)
    # The volunteer never saw the task: it is theirs to claim again, as anyone's.
    again = board.claim(project_id, volunteer)
    assert isinstance(again, Claimed) and again.task_id == claimed.task_id
    # Done once: the same hand-back again finds nothing live.
    assert board.run(board.ops.release_lost_claim(project_id, volunteer, token, REASON)) is None


def test_only_the_claims_own_lease_is_handed_back(
    board: TestBoard, make_project: Callable[..., str]
) -> None:
    project_id = make_project(n_tasks=3, redundancy=1)
    volunteer, other = new_volunteer_id(), new_volunteer_id()
    mine, token = lost_claim(board, project_id, volunteer)
    theirs, their_token = lost_claim(board, project_id, other)
    another = board.claim(project_id, volunteer)
    assert isinstance(another, Claimed)

    def hand_back(volunteer_id: str, token: str) -> str | None:
        return board.run(board.ops.release_lost_claim(project_id, volunteer_id, token, REASON))

    assert hand_back(volunteer, ids.new_token_part()) is None  # a claim that took nothing
    assert hand_back(volunteer, their_token) is None  # another's claim's token
    assert hand_back(other, token) is None  # another volunteer
    board.submit(mine.assignment_id, volunteer, {"n": 1})
    assert hand_back(volunteer, token) is None  # answered since: not live

    states = {
        claim.assignment_id: board.assignment(claim.assignment_id)["state"]
        for claim in (mine, theirs, another)
    }
    assert states == {
        mine.assignment_id: "submitted",
        theirs.assignment_id: "live",
        another.assignment_id: "live",
    }


async def _hand_back_through(
    cutter: ReplyCutter,
    redis_url: str,
    clock: ManualClock,
    undo_of: Callable[[AsyncBoard], ScriptCall[str | None]],
    *,
    down_for_s: float | None,
    give_up_s: float,
) -> int:
    """HandBacks on a board that reaches Redis through ``cutter``, down for ``down_for_s``
    (None: until the hand-back is over, however slow the machine); returns the hand-backs still
    pending once it is done or has given up."""
    client = redis.asyncio.Redis.from_url(cutter.url(redis_url), socket_timeout=1)
    board = AsyncBoard(client, clock=clock)
    hand_backs = HandBacks(board, first_try_s=0.05, give_up_s=give_up_s)

    async def settled() -> None:
        deadline = time.monotonic() + 30
        while hand_backs.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    try:
        cutter.go_down()
        hand_backs.later(undo_of(board), event="test.lost_lease")
        if down_for_s is None:
            await settled()
        else:
            await asyncio.sleep(down_for_s)
        cutter.come_back()
        await settled()
        return hand_backs.pending
    finally:
        await hand_backs.aclose()
        await client.aclose()


@pytest.mark.parametrize(
    ("down_for_s", "give_up_s", "state"),
    [(1.0, 60.0, "released"), (None, 0.3, "live")],
    ids=["waits-for-redis-to-come-back", "gives-up-and-the-lease-stands-until-it-expires"],
)
def test_a_hand_back_while_redis_is_unreachable(
    board: TestBoard,
    make_project: Callable[..., str],
    redis_url: str,
    clock: ManualClock,
    down_for_s: float | None,
    give_up_s: float,
    state: str,
) -> None:
    project_id = make_project(n_tasks=1)
    volunteer = new_volunteer_id()
    claimed, token = lost_claim(board, project_id, volunteer)
    with ReplyCutter.in_front_of(redis_url) as cutter:
        pending = asyncio.run(_hand_back_through(
            cutter, redis_url, clock,
            lambda b: b.ops.release_lost_claim(project_id, volunteer, token, REASON),
            down_for_s=down_for_s, give_up_s=give_up_s,
        ))  # fmt: skip
    assert pending == 0
    assert board.assignment(claimed.assignment_id)["state"] == state


def test_closing_stops_the_pending_hand_backs(redis_url: str) -> None:
    async def scenario() -> tuple[int, int]:
        client = redis.asyncio.Redis.from_url(redis_url)
        board = AsyncBoard(client)
        hand_backs = HandBacks(board, first_try_s=3600)
        try:
            undo = board.ops.release_lost_claim(
                ids.new_project_id(), new_volunteer_id(), ids.new_token_part(), REASON
            )
            hand_backs.later(undo, event="test.lost_lease")
            before = hand_backs.pending
            await hand_backs.aclose()
            return before, hand_backs.pending
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == (1, 0)


def test_the_cutter_loses_the_reply_of_a_request_redis_ran(
    redis_client: redis.Redis, redis_url: str
) -> None:
    """The proxy itself: the marked command runs, its reply never arrives."""
    with ReplyCutter.in_front_of(redis_url) as cutter:
        # No retry: redis-py would send the command again on a new connection.
        through = redis.Redis.from_url(cutter.url(redis_url), retry=Retry(NoBackoff(), 0))
        try:
            through.set("before", "1")
            cutter.cut_reply_to(b"marked-key")
            with pytest.raises(redis.ConnectionError):
                through.set("marked-key", "ran")
            assert cutter.cut.is_set()
        finally:
            through.close()
    assert redis_client.get("marked-key") == "ran"
