"""The outbox relay on a real Redis: every event handed on at least once, acknowledged only
after its dispatch returned, a dead relay's entries taken over, nothing lost."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
import redis

from core.board.runner import BoardPolicy, NewTask
from core.events.relay import Relay, RelayConfig
from core.redis.keys import Keys
from tests.support.board import TestBoard
from tests.support.streams import entry_ids

GROUP = "relay"
FAST = RelayConfig(
    claim_idle_ms=200,
    claim_interval_s=0.05,
    discover_interval_s=0.0,
    retry_max_s=0.0,
    idle_sleep_max_s=0.02,
)

Seen = list[tuple[str, str, dict[str, str]]]


def recorder(seen: Seen) -> Callable[[str, str, dict[str, str]], None]:
    lock = threading.Lock()

    def dispatch(project_id: str, event_id: str, fields: dict[str, str]) -> None:
        with lock:
            seen.append((project_id, event_id, fields))

    return dispatch


def new_project(board: TestBoard, events: int = 0) -> str:
    project = board.create_project(BoardPolicy(redundancy=1))
    for n in range(events):
        board.client.xadd(board.keys.project(project).events, {"type": "test.event", "n": n})
    return project


def stream_ids(board: TestBoard, project: str) -> list[str]:
    return entry_ids(board.client, board.keys.project(project).events)


def pending(board: TestBoard, project: str) -> int:
    info = board.client.xpending(board.keys.project(project).events, GROUP)
    return int(info["pending"])


def drain(relay: Relay, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not relay.step() and not relay.has_backlog:
            return
    raise AssertionError("the relay kept finding work")


@pytest.fixture
def board(redis_client: redis.Redis) -> TestBoard:
    return TestBoard(redis_client)


def test_each_event_is_dispatched_in_order_and_acknowledged(board: TestBoard) -> None:
    project = new_project(board)
    board.create_tasks(project, [NewTask({"n": i}) for i in range(3)])
    board.client.xadd(board.keys.project(project).events, {"type": "test.event"})
    seen: Seen = []
    relay = Relay(board.client, board.keys, recorder(seen), config=FAST)

    drain(relay)

    assert [eid for _, eid, _ in seen] == stream_ids(board, project)
    assert [f["type"] for _, _, f in seen] == ["tasks.created", "test.event"]
    assert {pid for pid, _, _ in seen} == {project}
    assert pending(board, project) == 0
    assert len(stream_ids(board, project)) == 2  # the audit log keeps every entry


def test_a_dispatch_that_raises_leaves_the_event_pending_until_it_succeeds(
    board: TestBoard,
) -> None:
    project = new_project(board, events=5)
    ids = stream_ids(board, project)
    seen: Seen = []
    failures = {ids[2]: 2}  # the third event fails twice

    def flaky(project_id: str, event_id: str, fields: dict[str, str]) -> None:
        if failures.get(event_id, 0) > 0:
            failures[event_id] -= 1
            raise ConnectionError("broker unreachable")
        seen.append((project_id, event_id, fields))

    relay = Relay(board.client, board.keys, flaky, config=FAST)
    relay.step()
    # The first two went; the third failed and is not acknowledged, nor those after it.
    assert [eid for _, eid, _ in seen] == ids[:2]
    assert pending(board, project) == 3

    drain(relay)

    assert [eid for _, eid, _ in seen] == ids  # order kept, each once it succeeded
    assert pending(board, project) == 0
    assert relay.counters.failed == 2


def test_a_dead_relays_pending_events_are_taken_over(board: TestBoard) -> None:
    project = new_project(board, events=4)
    stream = board.keys.project(project).events
    seen: Seen = []
    relay = Relay(board.client, board.keys, recorder(seen), config=FAST)
    relay.discover()  # creates the group
    # Another relay read the events and died before acknowledging them.
    board.client.xreadgroup(GROUP, "dead-relay", {stream: ">"}, count=10)
    assert pending(board, project) == 4

    relay.step()
    assert seen == []  # too fresh to take over: the other relay may just be slow

    time.sleep(FAST.claim_idle_ms / 1000 + 0.05)
    drain(relay)

    assert [eid for _, eid, _ in seen] == stream_ids(board, project)
    assert pending(board, project) == 0
    assert relay.counters.claimed == 4
    consumers = {c["name"]: c["pending"] for c in board.client.xinfo_consumers(stream, GROUP)}
    assert consumers["dead-relay"] == 0


def test_projects_from_before_the_group_and_after_the_relay_started_lose_nothing(
    board: TestBoard,
) -> None:
    before = new_project(board, events=3)  # its stream filled up before any relay ran
    seen: Seen = []
    relay = Relay(board.client, board.keys, recorder(seen), config=FAST)
    drain(relay)
    after = new_project(board, events=2)  # created while the relay runs
    board.client.xadd(board.keys.project(before).events, {"type": "test.later"})
    drain(relay)
    quiet = new_project(board)  # no event yet: the group waits on an empty stream
    drain(relay)
    board.client.xadd(board.keys.project(quiet).events, {"type": "test.first"})
    drain(relay)

    by_project = Counter(pid for pid, _, _ in seen)
    assert by_project == {before: 4, after: 2, quiet: 1}
    for project in (before, after, quiet):
        assert [eid for pid, eid, _ in seen if pid == project] == stream_ids(board, project)


def test_a_stream_deleted_under_the_relay_gets_its_group_back(board: TestBoard) -> None:
    project = new_project(board, events=1)
    seen: Seen = []
    relay = Relay(board.client, board.keys, recorder(seen), config=FAST)
    drain(relay)
    board.client.delete(board.keys.project(project).events)

    relay.step()  # NOGROUP: the group is created again
    board.client.xadd(board.keys.project(project).events, {"type": "test.again"})
    drain(relay)

    assert [f["type"] for _, _, f in seen] == ["test.event", "test.again"]


def test_nothing_is_lost_across_1000_events_with_failures_and_a_dying_relay(
    board: TestBoard,
) -> None:
    """Two relays in threads, dispatches failing at random, a third relay dying with entries
    in hand, events landing while they run: every event is dispatched at least once, all end
    acknowledged, and duplicates are the rare at-least-once kind."""
    projects = [new_project(board) for _ in range(5)]
    rng = random.Random(4)
    seen: Seen = []
    lock = threading.Lock()

    def flaky(project_id: str, event_id: str, fields: dict[str, str]) -> None:
        with lock:
            failing = rng.random() < 0.1
        if failing:
            raise ConnectionError("broker blip")
        with lock:
            seen.append((project_id, event_id, fields))

    # A relay that read a batch of events, then died (no dispatch, no ack).
    for n in range(100):
        board.client.xadd(board.keys.project(projects[n % 5]).events, {"type": "t", "n": n})
    doomed = Relay(board.client, board.keys, flaky, consumer="doomed", config=FAST)
    doomed.discover()
    for project in projects:
        board.client.xreadgroup(GROUP, "doomed", {board.keys.project(project).events: ">"})

    stop = threading.Event()
    relays = [Relay(board.client, board.keys, flaky, config=FAST) for _ in range(2)]
    threads = [threading.Thread(target=r.run, args=(stop,)) for r in relays]
    for thread in threads:
        thread.start()
    try:
        for n in range(100, 1000):
            board.client.xadd(board.keys.project(projects[n % 5]).events, {"type": "t", "n": n})
        # Stream ids are per stream: an event is its (project, id).
        everything = {(p, eid) for p in projects for eid in stream_ids(board, p)}
        deadline = time.monotonic() + 30
        while not all_done(seen, everything, board, projects):
            assert time.monotonic() < deadline, "events left behind"
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)

    assert len(everything) == 1000
    dispatched = Counter((p, e) for p, e, _ in seen)
    assert set(dispatched) == everything
    assert sum(dispatched.values()) - 1000 <= 50  # at-least-once, not at-most-often
    assert sum(r.counters.claimed for r in relays) >= 100  # the dead relay's share


def all_done(
    seen: Seen, everything: set[tuple[str, str]], board: TestBoard, projects: list[str]
) -> bool:
    dispatched = {(p, e) for p, e, _ in seen}
    return dispatched == everything and not any(pending(board, p) for p in projects)


def test_an_idle_relay_costs_a_few_reads_a_second(board: TestBoard) -> None:
    new_project(board, events=1)
    relay = Relay(board.client, board.keys, recorder([]), config=RelayConfig())
    drain(relay)
    board.client.config_resetstat()
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,))
    thread.start()
    time.sleep(1.0)
    stop.set()
    thread.join(timeout=5)

    stats = board.client.info("commandstats")
    reads = stats.get("cmdstat_xreadgroup", {}).get("calls", 0)
    assert 1 <= reads <= 20  # backs off to one read per project every 0.25 s


def test_keys_of_another_prefix_are_not_relayed(redis_client: redis.Redis) -> None:
    mine, theirs = TestBoard(redis_client), TestBoard(redis_client, keys=Keys("other:"))
    new_project(mine, events=1)
    new_project(theirs, events=3)
    seen: Seen = []

    drain(Relay(redis_client, mine.keys, recorder(seen), config=FAST))

    assert len(seen) == 1


def test_an_idle_relay_hands_an_event_on_as_it_is_appended_not_after_a_sleep(
    board: TestBoard,
) -> None:
    """Idle, the relay blocks on the streams: with sleeps of a minute, an event appended while
    it waits is still handed on at once (the wait below is far shorter than one sleep)."""
    project = new_project(board)
    seen: Seen = []
    slow = RelayConfig(idle_sleep_min_s=60.0, idle_sleep_max_s=60.0, discover_interval_s=0.0)
    relay = Relay(board.client, board.keys, recorder(seen), config=slow)
    relay.discover()
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    runner.start()
    try:
        time.sleep(0.5)  # the relay found nothing and is waiting
        board.client.xadd(board.keys.project(project).events, {"type": "test.event", "n": 1})
        deadline = time.monotonic() + 20  # a bound far below the minute a sleep would take
        # Handed on, then acknowledged: the XACK follows the dispatch, so wait for both (the
        # entry was once still pending when the test looked, right after the dispatch).
        while (not seen or pending(board, project)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [fields["n"] for _, _, fields in seen] == ["1"]
        assert pending(board, project) == 0
    finally:
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()  # it stops within one wait
