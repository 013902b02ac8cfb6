"""Retention (core.projects.retention): old events and delivery records go, and nothing a consumer
still needs ever does, even while events are appended, read and acknowledged at the same time."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import redis

from core.board.runner import BoardPolicy
from core.delivery.records import DeliveryStore
from core.delivery.webhooks import Delivery
from core.projects.retention import DAY_MS, sweep_retention, trim_deliveries, trim_events
from core.settings import Settings
from tests.support.board import TestBoard
from tests.support.streams import add, entry_ids, read_group

GROUP = "relay"
FAR_FUTURE_MS = 10**15  # a cut-off past every event: only the consumers hold the trim back


def append(client: redis.Redis, stream: str, n: int) -> list[str]:
    return [add(client, stream, {"type": "test", "n": i}) for i in range(n)]


def test_a_stream_nobody_consumes_yet_is_kept_whole(board: TestBoard) -> None:
    stream = board.keys.project(board.create_project(BoardPolicy())).events
    before = board.client.xlen(stream)
    append(board.client, stream, 5)
    assert trim_events(board.client, stream, FAR_FUTURE_MS) == 0
    assert board.client.xlen(stream) == before + 5


def test_events_go_only_once_handed_out_and_acknowledged(board: TestBoard) -> None:
    client = board.client
    stream = board.keys.project(board.create_project(BoardPolicy())).events
    client.delete(stream)
    ids = append(client, stream, 10)
    client.xgroup_create(stream, GROUP, id="0")
    handed = read_group(client, GROUP, "c1", stream, count=6)
    client.xack(stream, GROUP, *[entry_id for entry_id, _ in handed[:4]])  # 2 still pending

    assert trim_events(client, stream, FAR_FUTURE_MS) == 4
    assert entry_ids(client, stream) == ids[4:]  # from the oldest pending entry on

    # Events younger than the cut-off stay whatever the consumers did.
    client.xack(stream, GROUP, *[entry_id for entry_id, _ in handed[4:]])
    cutoff = int(ids[6].split("-")[0])
    trim_events(client, stream, cutoff)
    assert all(int(e.split("-")[0]) >= cutoff for e in entry_ids(client, stream))
    assert trim_events(client, stream, 0) == 0


def test_trimming_while_events_flow_never_loses_one_not_yet_acknowledged(
    redis_url: str, board: TestBoard
) -> None:
    stream = board.keys.project(board.create_project(BoardPolicy())).events
    board.client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    appended: list[str] = []
    acknowledged: set[str] = set()
    stop = threading.Event()

    def producer() -> None:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        for i in range(1500):
            appended.append(add(client, stream, {"n": i}))
        stop.set()

    def consumer() -> None:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        while True:
            entries = read_group(client, GROUP, "c", stream, count=7, block=50)
            # Acknowledge some now and leave every tenth pending for a while.
            for entry_id, _ in entries:
                if int(entry_id.split("-")[1]) % 10 != 3:
                    client.xack(stream, GROUP, entry_id)
                    acknowledged.add(entry_id)
            if stop.is_set() and not entries:
                return

    def trimmer() -> None:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        while not stop.is_set():
            trim_events(client, stream, FAR_FUTURE_MS)

    threads = [threading.Thread(target=f) for f in (producer, consumer, trimmer, trimmer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    remaining = set(entry_ids(board.client, stream))
    pending = {
        p["message_id"] for p in board.client.xpending_range(stream, GROUP, "-", "+", 10_000)
    }
    assert pending <= remaining  # nothing handed out and unacknowledged was trimmed
    assert set(appended) <= remaining | acknowledged  # nothing never handled was trimmed
    assert len(remaining) < len(appended)  # and the trimming did happen


def delivery(delivery_id: str, status: str, created_at_ms: int) -> Delivery:
    return Delivery(
        delivery_id=delivery_id,
        project_id="prj",
        task_id="t0000000001",
        result_id="1-0",
        status=status,
        attempts=1,
        last_error=None,
        next_attempt_at_ms=None,
        created_at_ms=created_at_ms,
    )


def test_finished_old_deliveries_go_pending_and_recent_ones_stay(board: TestBoard) -> None:
    store = DeliveryStore(board.client, board.keys)
    org, now = "org_retention", 100 * DAY_MS
    old, recent = now - 40 * DAY_MS, now - DAY_MS
    for delivery_id, status, created in (
        ("d-old-done", "delivered", old),
        ("d-old-failed", "failed", old),
        ("d-old-pending", "pending", old),
        ("d-new-done", "delivered", recent),
    ):
        store.create(org, delivery(delivery_id, "pending", created), b"{}", due_ms=created)
        if status != "pending":
            store.save(org, replace(delivery(delivery_id, status, created)))
            board.client.zrem(board.keys.webhook_due, f"{org}|{delivery_id}")

    assert trim_deliveries(board.client, board, org, now - 30 * DAY_MS) == 2
    assert sorted(board.client.hkeys(board.keys.org_deliveries(org))) == [
        "d-new-done",
        "d-old-pending",
    ]
    assert sorted(board.client.hkeys(board.keys.org_delivery_bodies(org))) == [
        "d-new-done",
        "d-old-pending",
    ]
    assert board.client.zcard(board.keys.org_delivery_log(org)) == 2
    assert trim_deliveries(board.client, board, org, now - 30 * DAY_MS) == 0


def test_a_sweep_runs_once_an_interval_whichever_scheduler_asks(board: TestBoard) -> None:
    project = board.create_project(BoardPolicy())
    stream = board.keys.project(project).events
    board.client.delete(stream)
    append(board.client, stream, 3)
    board.client.xgroup_create(stream, GROUP, id="$")  # everything before is handled
    settings = Settings(event_retention_days=1, retention_interval_seconds=3600)
    now = int(time.time() * 1000) + 2 * DAY_MS

    first = sweep_retention(board, settings, now)
    second = sweep_retention(board, settings, now)

    assert first.ran and first.events_trimmed == 3  # two "days" old, all handled
    assert not second.ran
    assert sweep_retention(board, settings, now, force=True).ran
    assert board.client.xlen(stream) == 0
