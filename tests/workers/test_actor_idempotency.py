"""Every actor the relay routes to, given the same message twice — in sequence, and from eight
threads at once — leaves the store as one run leaves it, with one visible effect.

The scenarios (tests/support/idempotency_scenarios.py) build, on the real Redis, the moment just
before each ``(event type, actor)`` pair of ``workers.routing.ROUTES`` runs, plus the
scheduler's ``results.deliver_due``; a route without a scenario fails the first test below.

How "as one run leaves it" is judged, with tests/support/snapshots.py's ``store_contents``:

- in sequence, the store after the second run must equal the store after the first, key by key
  and value by value. The board's clock and the webhook clock move on one second in between (a
  redelivery comes later), so a second run that rewrites anything with its own time shows up;
- at once, the store is *forked* before the eight threads run (``DUMP`` of every key), the
  eight-thread result is read, the fork is restored, one run is made, and the two results must
  be equal. Two things legitimately differ between the two branches and are normalised, both
  set by the Redis server's own clock rather than the board's injected one: the ids of stream
  entries written after the fork (``XADD *``), replaced wherever they appear (events, the
  results feed, the ``published`` index, delivery records and bodies) by one placeholder; and
  a new event's ``at`` when it is its own id's time (``publish_result`` stamps
  ``result.published`` with Redis ``TIME``), replaced by another. Entries are still compared
  one by one, in order, field by field.

dramatiq's own keys are left out everywhere (they hold no state of Ruche's, and no broker runs
here: each actor is called as a worker thread calls it). Nothing else is excluded: every other
value written by these actors comes from the board's or the webhook's injected clock.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

import dramatiq
import pytest
import redis

from core.clock import ManualClock
from core.settings import Settings
from tests.support.board import TestBoard
from tests.support.delivery import Answer, Clock, Receiver, deliverer
from tests.support.idempotency_scenarios import SCENARIOS, SCHEDULER_TICK, Scenario, World
from tests.support.logs import restored_logging
from tests.support.pipeline import call_concurrently
from tests.support.snapshots import store_contents
from workers import runtime
from workers.app import ACTOR_MODULES, setup
from workers.delivery.deliverer import DELIVER_DUE
from workers.routing import ROUTES

Actor = dramatiq.Actor[..., None]
Snapshot = dict[bytes, Any]
CASES = sorted(SCENARIOS)
THREADS = 8


def case_id(case: tuple[str, str]) -> str:
    return f"{case[0]}->{case[1]}"


@pytest.fixture(scope="module")
def actors(redis_url: str) -> Iterator[dict[str, Actor]]:
    """Every actor a worker process loads, by name (what the relay's messages name)."""
    with restored_logging():
        setup(Settings(redis_url=redis_url))
        found: dict[str, Actor] = {}
        for module_name in ACTOR_MODULES:
            for value in vars(importlib.import_module(module_name)).values():
                if isinstance(value, dramatiq.Actor):
                    found[value.actor_name] = value
        yield found


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def world(redis_url: str, redis_client: redis.Redis, actors: dict[str, Actor]) -> Iterator[World]:
    from workers.actors import deliver as deliver_actors

    board_clock = ManualClock()
    board = TestBoard(redis_client, clock=board_clock)
    delivery_clock = Clock()
    webhooks = deliverer(redis_client, delivery_clock)
    runtime.install(board)
    deliver_actors.install(webhooks)
    # The receiver takes a moment with each request, so that concurrent attempts would overlap.
    with Receiver(default=Answer(200, delay_s=0.1)) as receiver:
        yield World(board, board_clock, redis_url, receiver, webhooks, delivery_clock)
    deliver_actors.install(None)
    runtime.install(None)


# -- the store, whole -----------------------------------------------------------------------------


def snapshot(raw: redis.Redis) -> Snapshot:
    return store_contents(raw, lambda key: b"dramatiq" not in key)


def fork(raw: redis.Redis) -> dict[bytes, tuple[bytes, int]]:
    """Every kept key's DUMP and time to live (0: none), to restore the store exactly."""
    forked: dict[bytes, tuple[bytes, int]] = {}
    for key in raw.keys("*"):
        assert isinstance(key, bytes)  # ``raw`` does not decode responses
        dumped = raw.dump(key)
        if b"dramatiq" not in key and dumped is not None:
            forked[key] = (dumped, max(0, raw.pttl(key)))
    return forked


def restore(raw: redis.Redis, forked: Mapping[bytes, tuple[bytes, int]]) -> None:
    for key in raw.keys("*"):
        if b"dramatiq" not in key:
            raw.delete(key)
    for key, (dumped, ttl_ms) in forked.items():
        raw.restore(key, ttl_ms, dumped)


def stream_ids(contents: Snapshot) -> set[bytes]:
    """The entry ids of every stream."""
    return {
        entry_id
        for kind, content, _ in contents.values()
        if kind == b"stream"
        for entry_id, _ in content[0]
    }


NEW_ID, ITS_TIME = b"<new entry id>", b"<its entry id's time>"


def normalised(contents: Snapshot, before: Snapshot) -> Snapshot:
    """``contents`` with what legitimately differs between two runs from one fork made equal
    (see the module docstring): every stream entry id written since ``before``, wherever it
    appears, becomes ``NEW_ID``; a new entry's ``at`` that is its own id's time, give or take a
    few milliseconds (the script stamped it with Redis ``TIME``), becomes ``ITS_TIME``."""
    new = stream_ids(contents) - stream_ids(before)
    if not new:
        return contents
    # Longest first, and never inside a longer number: "…-1" must not match within "…-10".
    alternatives = b"|".join(re.escape(entry_id) for entry_id in sorted(new, key=len)[::-1])
    pattern = re.compile(rb"(?<![\d-])(?:" + alternatives + rb")(?!\d)")

    def rename(value: Any) -> Any:
        if isinstance(value, bytes):
            return pattern.sub(NEW_ID, value)
        if isinstance(value, list | tuple):
            return type(value)(rename(item) for item in value)
        if isinstance(value, dict):
            return {rename(k): rename(v) for k, v in value.items()}
        return value

    def entry(entry_id: bytes, fields: dict[bytes, bytes]) -> tuple[bytes, dict[bytes, bytes]]:
        at = fields.get(b"at", b"")
        if entry_id in new and at.isdigit() and abs(int(at) - int(entry_id.split(b"-")[0])) <= 50:
            # Both read off Redis's clock during one script, which Redis 6.2 does not freeze:
            # the two can fall on neighbouring milliseconds.
            fields = {**fields, b"at": ITS_TIME}
        return entry_id, fields

    result: Snapshot = {}
    for key, (kind, content, expires) in contents.items():
        if kind == b"stream":
            entries, last_id, groups = content
            content = ([entry(*item) for item in entries], last_id, groups)
        result[key] = rename((kind, content, expires))
    return result


def all_once(effects: Mapping[str, int]) -> dict[str, int]:
    return dict.fromkeys(effects, 1)


# -- coverage -------------------------------------------------------------------------------------


def test_every_routed_actor_has_a_scenario(actors: dict[str, Actor]) -> None:
    routed = {(event, route.actor) for event, routes in ROUTES.items() for route in routes}
    missing = routed - set(SCENARIOS)
    assert not missing, f"routes without an idempotency scenario: {sorted(missing)}"
    # Besides the routes: the scheduler's due-delivery messages.
    assert set(SCENARIOS) - routed == {(SCHEDULER_TICK, DELIVER_DUE)}
    assert {name for _, name in SCENARIOS} <= set(actors)  # each one a worker really loads


# -- twice in sequence ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_same_message_twice_in_sequence_has_one_effect(
    case: tuple[str, str], world: World, actors: dict[str, Actor], raw: redis.Redis
) -> None:
    scenario: Scenario = SCENARIOS[case](world)
    run = actors[case[1]]
    before = snapshot(raw)

    run(*scenario.message)
    after_one, effects_once = snapshot(raw), dict(scenario.effects())
    world.board_clock.advance(1)  # the redelivery comes later
    world.delivery_clock.advance(1)
    run(*scenario.message)

    assert after_one != before  # the scenario gave the actor something to do
    assert effects_once == all_once(effects_once)
    assert dict(scenario.effects()) == effects_once
    assert snapshot(raw) == after_one


# -- eight threads at once ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_same_message_from_eight_threads_at_once_has_one_effect(
    case: tuple[str, str], world: World, actors: dict[str, Actor], raw: redis.Redis
) -> None:
    scenario: Scenario = SCENARIOS[case](world)
    run = actors[case[1]]
    before, forked = snapshot(raw), fork(raw)

    call_concurrently(lambda: run(*scenario.message), times=THREADS)
    after_many, effects_many = snapshot(raw), dict(scenario.effects())

    restore(raw, forked)  # the same scenario again, for one run
    assert snapshot(raw) == before
    world.receiver.requests.clear()
    run(*scenario.message)
    after_one, effects_once = snapshot(raw), dict(scenario.effects())

    assert after_one != before
    assert effects_once == all_once(effects_once)
    assert effects_many == effects_once
    assert normalised(after_many, before) == normalised(after_one, before)
