"""The scheduler's side of webhook delivery: sending the workers the deliveries now due.

A retry or a redelivery is a member of the due set (:mod:`core.delivery.records`) scored with
when it is due. Each scheduler tick (:mod:`workers.scheduler`) calls
:func:`enqueue_due_deliveries`, which takes a bounded batch of due members and sends one
``results.deliver_due`` message each; the worker's
:meth:`workers.delivery.deliverer.Deliverer.on_due` makes the attempt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import dramatiq
from dramatiq import Broker

from core.board.runner import Board
from core.delivery.records import DeliveryStore, DueDelivery
from core.settings import Settings
from workers.broker import build_broker
from workers.delivery.deliverer import DELIVER_DUE, QUEUE

__all__ = ["DISPATCH_BATCH", "DISPATCH_LEASE_MS", "dispatch_due", "enqueue_due_deliveries"]

#: How long a due delivery sent to the workers is not sent again by the scheduler.
DISPATCH_LEASE_MS = 60_000
DISPATCH_BATCH = 200


def dispatch_due(
    store: DeliveryStore,
    send: Callable[[DueDelivery], None],
    now_ms: int,
    *,
    limit: int = DISPATCH_BATCH,
) -> int:
    """Take up to ``limit`` due deliveries and ``send`` each; how many were taken.

    Taking pushes each one ``DISPATCH_LEASE_MS`` ahead, atomically, so two schedulers never take
    the same one, and one whose message is lost is taken again once the lease runs out.
    """
    taken = store.take_due(now_ms, DISPATCH_LEASE_MS, limit)
    for due in taken:
        send(due)
    return len(taken)


_brokers: dict[tuple[str, str], Broker] = {}
_brokers_lock = threading.Lock()


def _broker_for(settings: Settings) -> Broker:
    """The scheduler's own broker (built once per process, only when there is work to send)."""
    url = settings.effective_broker_url or ""
    key = (url, settings.key_prefix)
    with _brokers_lock:
        if key not in _brokers:
            _brokers[key] = build_broker(settings)
        return _brokers[key]


def enqueue_due_deliveries(
    board: Board,
    settings: Settings,
    *,
    now_ms: int | None = None,
    broker: dramatiq.Broker | None = None,
) -> int:
    """The scheduler tick's part: send a ``results.deliver_due`` message per due delivery."""
    store = DeliveryStore(board.client, board.keys)

    def send(due: DueDelivery) -> None:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=QUEUE,
            actor_name=DELIVER_DUE,
            args=(due.org_id, due.delivery_id, due.token),
            kwargs={},
            options={},
        )
        (broker or _broker_for(settings)).enqueue(message)

    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    return dispatch_due(store, send, now)
